"""A room's SFU killed (SIGKILL) or frozen (SIGSTOP) mid-call, against ``arbiter-server dev``
with three participants: a new SFU takes over and every participant gets every other
participant's video again (a killed SFU within 10 s; a frozen one is found by its
heartbeat and replaced within 15 s)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import Any

import pytest

from arbiter_client import Room
from tests.faults.dev import Dev, wait_until
from tests.faults.media import PairClock

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]


def _state(dev: Dev) -> dict[str, Any]:
    try:
        found: dict[str, Any] = json.loads((dev.data_dir / "logs" / "sfu-talk.json").read_text())
    except (OSError, ValueError):
        return {}
    return found


async def _three(dev: Dev, rooms: list[Room]) -> PairClock:
    await dev.start()
    for name in ("ann", "bob", "cat"):
        rooms.append(await Room.join(dev.facts["url"], name=name, video_size=(160, 120), fps=10))
    clock = PairClock(rooms)
    await clock.flowing(20)
    return clock


def _left(rooms: list[Room]) -> list[Any]:
    seen: list[Any] = []
    for room in rooms:
        room.on("participant_left", seen.append)
    return seen


@pytest.mark.parametrize(
    ("sig", "bound"), [(signal.SIGKILL, 10.0), (signal.SIGSTOP, 15.0)], ids=["killed", "frozen"]
)
async def test_every_pair_gets_video_again_from_a_new_sfu(
    dev: Dev, rooms: list[Room], sig: int, bound: float
) -> None:
    clock = await _three(dev, rooms)
    left = _left(rooms)
    try:
        [old] = dev.sfu_pids()
        loop = asyncio.get_running_loop()
        hit = loop.time()
        os.kill(old, sig)

        def replaced() -> bool:
            state = _state(dev)
            return state.get("pid") not in (None, old) and state.get("producers") == 3

        # a new SFU has identified and the three participants published to it again
        took = await wait_until(replaced, 30, "a new SFU with the three participants")
        assert old not in dev.sfu_pids()  # a frozen one was killed, not left behind
        outages = await clock.outages(hit, clock.pairs(), gap=1.0, timeout=30)
        back = {clock.name(p): round(end - hit, 2) for p, (_, end) in outages.items()}
        name = signal.Signals(sig).name
        print(f"\nSFU {name}: replaced after {took:.2f} s; video back per pair (s): {back}")
        if sig == signal.SIGSTOP:
            assert took < 15.0, took
        assert max(back.values()) < bound, back
    finally:
        await clock.close()
    assert not left
