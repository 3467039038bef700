"""``arbiter-server dev`` killed and started again with the same ``--data-dir``: clients
resume as the same participants and get each other's media again; one that does not come
back is announced as left; with the data dir gone, clients end with a clear reason."""

from __future__ import annotations

import asyncio
import signal
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from arbiter_client import Disconnected, Room
from tests.e2e.probe import MediaProbe
from tests.faults.dev import Dev, free_port

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

ARGS = ("--no-bot", "--pool-size", "0", "--no-turn", "--room", "talk")


@pytest.fixture
async def rooms() -> AsyncIterator[list[Room]]:
    joined: list[Room] = []
    try:
        yield joined
    finally:
        for room in joined:
            await room.leave()


async def _start(devs: list[Dev], data_dir: Path, port: int) -> Dev:
    data_dir.mkdir(exist_ok=True)
    dev = Dev(data_dir, *ARGS, port=port)
    devs.append(dev)
    await dev.start()
    return dev


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
async def test_clients_resume_after_dev_restarts_on_the_same_data_dir(
    tmp_path: Path, devs: list[Dev], rooms: list[Room], sig: int
) -> None:
    data, port = tmp_path / "data", free_port()
    dev = await _start(devs, data, port)
    secret = data / "secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    url = dev.facts["url"]
    a = await Room.join(url, name="a", video_size=(320, 240))
    b = await Room.join(url, name="b", video_size=(160, 120))
    gone = await Room.join(url, name="gone", publish=None, reconnect_timeout=0)
    rooms += [a, b, gone]
    probes = MediaProbe(a), MediaProbe(b)
    try:
        await probes[0].wait_media({b.participant_id: (160, 120)}, 20)
        await probes[1].wait_media({a.participant_id: (320, 240)}, 20)
        before = probes[0].frames(b.participant_id), probes[1].frames(a.participant_id)
        ids = a.participant_id, b.participant_id

        dev.signal(sig)
        await dev.wait_exit(5)
        await _start(devs, data, port)

        # media flows again both ways: frames decoded after the restart
        try:
            await probes[0].wait_for(
                lambda: probes[0].frames(b.participant_id) > before[0] + 30, 30
            )
            await probes[1].wait_for(
                lambda: probes[1].frames(a.participant_id) > before[1] + 30, 30
            )
        except TimeoutError:
            raise AssertionError(
                f"frames before {before}, now {probes[0].frames(b.participant_id)}, "
                f"{probes[1].frames(a.participant_id)}; states {a.connection_state} "
                f"{b.connection_state}; joined {probes[0].joined} left {probes[0].left}"
            ) from None
        assert (a.participant_id, b.participant_id) == ids  # the same participants
        # the one that did not come back is ended after the grace; nobody saw a or b leave
        await probes[0].wait_for(lambda: gone.participant_id in probes[0].left, 40)
        await probes[1].wait_for(lambda: gone.participant_id in probes[1].left, 10)
        assert b.participant_id not in probes[0].left and a.participant_id not in probes[1].left
        assert a.connection_state in ("connected", "reconnected")
    finally:
        for probe in probes:
            await probe.close()


async def test_without_the_data_dir_clients_end_with_a_clear_reason(
    tmp_path: Path, devs: list[Dev], rooms: list[Room]
) -> None:
    port = free_port()
    dev = await _start(devs, tmp_path / "data", port)
    room = await Room.join(dev.facts["url"], name="a", publish=None)
    rooms.append(room)
    ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def watch() -> None:
        async for event in room.events():
            if isinstance(event, Disconnected):
                ended.set_result(event.reason)

    watcher = asyncio.create_task(watch())
    try:
        dev.signal(signal.SIGKILL)
        await dev.wait_exit(5)
        await _start(devs, tmp_path / "fresh", port)  # new sessions: old credentials mean nothing
        reason = await asyncio.wait_for(ended, 30)
        assert "reconnection refused" in reason and "spent, replaced or unknown" in reason
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
