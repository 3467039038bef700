"""Test tools for media faults: when each pair's video arrives, and a client's path cut.

:class:`PairClock` notes, for every (receiver, sender) pair of a set of rooms, when the
receiver's current video track of the sender got new frames (it follows a track replaced
by a new SFU), so a test can wait for each pair's outage to end and read how long it was.
:func:`blackhole` makes a Python client's network path of one peer connection go dead
both ways, as when its network changes under it: what it sends is dropped, what reaches
its sockets is ignored; a new peer connection gets new sockets, which work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiortc import RTCPeerConnection

from arbiter_client import Room
from arbiter_rtc.path import _ice_connections

__all__ = ["PairClock", "blackhole", "relayed"]

Pair = tuple[int, str]
"(index of the receiving room, sender's participant id)"


class PairClock:
    """Arrival times of each pair's video frames, polled every ``step`` seconds."""

    def __init__(self, rooms: Sequence[Room], step: float = 0.02) -> None:
        self.rooms = list(rooms)
        self.step = step
        self.arrivals: dict[Pair, list[float]] = {}
        self._counts: dict[Pair, tuple[Any, int]] = {}
        self._task = asyncio.get_running_loop().create_task(self._run())

    def pairs(self) -> list[Pair]:
        ids = [r.participant_id for r in self.rooms]
        return [(i, pid) for i in range(len(self.rooms)) for pid in ids if pid != ids[i]]

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            for i, pid in self.pairs():
                participant = self.rooms[i].participants.get(pid)
                track = participant.video if participant is not None else None
                if track is None:
                    continue
                count = track.frames_received
                seen = self._counts.get((i, pid))
                previous = seen[1] if seen is not None and seen[0] is track else 0
                if count > previous:
                    self.arrivals.setdefault((i, pid), []).append(now)
                self._counts[(i, pid)] = (track, count)
            await asyncio.sleep(self.step)

    def name(self, pair: Pair) -> str:
        i, pid = pair
        names = {r.participant_id: r.local_participant.name for r in self.rooms}
        return f"{names[pid]}->{self.rooms[i].local_participant.name}"

    async def flowing(self, timeout: float) -> None:
        """Wait until every pair has received video (at least 10 polls with new frames)."""
        await self._wait(
            lambda: all(len(self.arrivals.get(p, ())) >= 10 for p in self.pairs()),
            timeout,
            "video flowing for every pair",
        )

    def outage(self, pair: Pair, since: float, gap: float) -> tuple[float, float] | None:
        """The first pause of at least ``gap`` s from the last frame before ``since`` on:
        ``(start, end)``, provided 10 arrivals followed it; None otherwise."""
        every = self.arrivals.get(pair, [])
        before = [t for t in every if t < since][-1:]  # the last frame before the fault
        times = before + [t for t in every if t >= since]
        for k in range(1, len(times)):
            if times[k] - times[k - 1] >= gap and len(times) - k >= 10:
                return times[k - 1], times[k]
        return None

    def longest_gap(self, pair: Pair, since: float, until: float) -> float:
        """The longest pause between two arrivals within ``[since, until]``."""
        times = [t for t in self.arrivals.get(pair, ()) if since <= t <= until]
        return max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0)

    async def outages(
        self, since: float, pairs: Sequence[Pair], gap: float, timeout: float
    ) -> dict[Pair, tuple[float, float]]:
        """Wait until each of ``pairs`` had an outage after ``since`` and flows again."""
        try:
            await self._wait(
                lambda: all(self.outage(p, since, gap) is not None for p in pairs),
                timeout,
                f"an outage of >= {gap:g} s and video again for {[self.name(p) for p in pairs]}",
            )
        except AssertionError as exc:
            now = asyncio.get_running_loop().time()
            gaps = {self.name(p): round(self.longest_gap(p, since, now), 2) for p in pairs}
            raise AssertionError(f"{exc}; longest gaps since {since:.2f}: {gaps}") from None
        found = {p: self.outage(p, since, gap) for p in pairs}
        return {p: o for p, o in found.items() if o is not None}

    async def _wait(self, done: Any, timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done():
            if loop.time() > deadline:
                report = {
                    self.name(p): [round(t, 2) for t in self.arrivals.get(p, [])[-5:]]
                    for p in self.pairs()
                }
                raise AssertionError(f"{what}: not within {timeout:g} s; last arrivals {report}")
            await asyncio.sleep(self.step)

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def blackhole(pc: RTCPeerConnection) -> int:
    """Cut ``pc``'s network path both ways (its sockets send and hear nothing); returns how
    many sockets were cut."""
    cut = 0
    for connection in _ice_connections(pc):
        for protocol in getattr(connection, "_protocols", ()):
            protocol.send_data = _drop_async
            protocol.send_stun = _drop
            protocol.datagram_received = _drop
            cut += 1
    return cut


def relayed(pc: RTCPeerConnection) -> bool:
    """True if a nominated pair of ``pc`` goes through a TURN relay (at either end)."""
    return any(
        "relay" in (pair.local_candidate.type, pair.remote_candidate.type)
        for connection in _ice_connections(pc)
        for pair in getattr(connection, "_nominated", {}).values()
    )


def _drop(*args: Any, **kwargs: Any) -> None:
    """Nothing happens."""


async def _drop_async(*args: Any, **kwargs: Any) -> None:
    """Nothing happens."""
