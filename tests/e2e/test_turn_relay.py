"""A relay-only client exchanges media with the room through the stack's own coturn."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from arbiter_client import Room
from arbiter_server.local import LocalStack, LocalStackConfig
from tests.e2e.probe import MediaProbe

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def turn_stack(tmp_path: Path) -> AsyncIterator[LocalStack]:
    stack = LocalStack(LocalStackConfig(data_dir=tmp_path, port=0, pool_size=0, turn=True))
    await stack.start()
    try:
        yield stack
    finally:
        turn_pid = stack.turn.pid if stack.turn else None
        await stack.stop()
        assert (
            turn_pid is None
            or not Path(f"/proc/{turn_pid}/cmdline").exists()
            or ("Z" in Path(f"/proc/{turn_pid}/stat").read_text().split()[2])
        )


async def test_relay_only_client_gets_and_sends_media_through_coturn(
    turn_stack: LocalStack,
) -> None:
    stack = turn_stack
    assert stack.turn is not None
    url = await stack.create_room("relayed")
    direct = await Room.join(url, name="direct", video_size=(320, 240))
    relayed = await Room.join(
        url, name="relayed", video_size=(352, 288), ice_transport_policy="relay"
    )
    probes = MediaProbe(direct), MediaProbe(relayed)
    try:
        await probes[1].wait_media({direct.participant_id: (320, 240)}, 15)
        await probes[0].wait_media({relayed.participant_id: (352, 288)}, 15)
        # coturn allocated relays for the relay-only participant's credentials
        log = stack.turn.log_path.read_text(errors="replace")
        user = re.escape(relayed.participant_id)
        for packet in ("ALLOCATE", "CHANNEL_BIND"):
            pattern = rf"user <\d+:{user}>: incoming packet {packet} processed, success"
            assert re.search(pattern, log), f"no {packet} for {user}: {log[-2000:]}"
    finally:
        for p in probes:
            await p.close()
        for r in (direct, relayed):
            await r.leave()
