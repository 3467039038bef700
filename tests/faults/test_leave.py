"""``Room.leave()`` returns within 2 s whatever else has failed: coturn killed or frozen
(SIGSTOP), the SFU killed or frozen, the gateway (``dev`` itself) frozen or killed."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from arbiter_client import Room
from tests.faults.dev import Dev
from tests.faults.media import PairClock

pytestmark = [pytest.mark.faults, pytest.mark.timeout(90)]

BOUND = 2.0
"Seconds a leave may take."


def _pid(dev: Dev, what: str) -> int:
    if what == "gateway":
        return dev.pid
    name = "turnserver" if what == "coturn" else "arbiter_server.sfu"
    [found] = [p.pid for p in dev.children() if name in " ".join(p.cmdline())]
    return found


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSTOP], ids=["killed", "frozen"])
@pytest.mark.parametrize("what", ["coturn", "sfu", "gateway"])
async def test_leave_returns_within_2_s_whatever_has_failed(
    dev: Dev, rooms: list[Room], what: str, sig: int
) -> None:
    await dev.start()
    url = dev.facts["url"]
    # TURN allocations on both: the relay-only client relays, the other gathered some too
    for name, policy in (("relayed", "relay"), ("direct", "all")):
        rooms.append(
            await Room.join(
                url, name=name, video_size=(160, 120), fps=10, ice_transport_policy=policy
            )
        )
    clock = PairClock(rooms)
    try:
        await clock.flowing(20)
    finally:
        await clock.close()
    os.kill(_pid(dev, what), sig)

    async def leave(room: Room) -> float:
        started = time.monotonic()
        await room.leave()
        return time.monotonic() - started

    took = await asyncio.gather(*(leave(r) for r in rooms))
    print(f"\nleave with {what} {signal.Signals(sig).name}: {[round(t, 2) for t in took]} s")
    assert max(took) < BOUND, took
