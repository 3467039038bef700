"""Keepalive against the real stack with a 2 s idle timeout: a quiet call keeps every
signaling socket (the client's and the SFU's) open, answered by the gateway alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from arbiter_client import Room
from arbiter_server.local import LocalStack, LocalStackConfig
from tests.conftest import running_stack
from tests.e2e.probe import MediaProbe

# a whole session each: run by scripts/test and CI with -m scenarios
pytestmark = [pytest.mark.timeout(60), pytest.mark.scenarios]

IDLE = 2


@pytest.fixture
async def quick_idle(tmp_path: Path) -> AsyncIterator[LocalStack]:
    """A real stack (SFU subprocess) whose gateway closes a socket quiet for 2 s."""
    config = LocalStackConfig(data_dir=tmp_path, port=0, pool_size=0, idle_timeout=IDLE)
    async with running_stack(config) as stack:
        yield stack


async def test_keepalive_holds_a_quiet_call_past_the_idle_timeout(quick_idle: LocalStack) -> None:
    stack = quick_idle
    gateway = stack.gateway
    assert gateway is not None
    url = await stack.create_room("quiet")
    a = await Room.join(url, name="a", video_size=(160, 120))
    b = await Room.join(url, name="b", video_size=(160, 120))
    pa = MediaProbe(a)
    try:
        await pa.wait_media({b.participant_id: (160, 120)}, 15)
        before = gateway.stats.keepalives
        loop = asyncio.get_running_loop()
        quiet_from = loop.time()
        # nothing but media for 2.5 idle timeouts: only keepalive keeps the sockets open
        while loop.time() - quiet_from < 2.5 * IDLE:
            seen = pa.frames(b.participant_id)
            await pa.wait_for(lambda seen=seen: pa.frames(b.participant_id) > seen, 5)
        stats = gateway.stats
        assert stats.closed.get("idle", 0) == 0, stats.snapshot()
        assert dict(stats.resumes) == {}, stats.snapshot()  # no socket was replaced
        # three holders (two clients, the SFU), each at least one every IDLE / 3 seconds
        assert stats.keepalives - before >= 3 * 5, stats.snapshot()
        assert a.connection_state == "connected" and b.connection_state == "connected"
    finally:
        await pa.close()
        await a.leave()
        await b.leave()
