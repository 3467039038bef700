"""A user-space link shaper for tests: a UDP relay with a token bucket and a bounded queue.

This kernel has no ``netem``, so tests put this relay between an SFU and one subscriber by
rewriting the ICE candidates in their SDP (:func:`relay_candidates`): the subscriber only
knows the relay's ``client_side`` address as the SFU's, the SFU only knows the relay's
``sfu_side`` address as the subscriber's. What the SFU sends goes through a token bucket
(``rate`` bit/s, ``burst`` bytes) with a queue bounded in bytes, so delay builds up before
packets are dropped, as on a real bottleneck; the other direction passes at once. Both
sockets are on this machine's own address (packets never leave it).
"""

from __future__ import annotations

import asyncio
import collections
import re
import time
from typing import Any

__all__ = ["ShapingRelay", "relay_candidates"]


class _Side(asyncio.DatagramProtocol):
    def __init__(self, relay: ShapingRelay, name: str) -> None:
        self.relay = relay
        self.name = name
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.relay._received(self.name, data, (addr[0], addr[1]))


class ShapingRelay:
    """Relays one subscriber's UDP traffic; shapes the SFU -> subscriber direction."""

    def __init__(self, host: str, *, queue_bytes: int = 60_000) -> None:
        self.host = host
        self.queue_bytes = queue_bytes
        "What the bottleneck queue holds before it drops (bytes)."
        self.rate: float | None = None
        "The bottleneck's rate in bit/s; ``None``: no limit."
        self.burst = 10_000
        "Bytes the token bucket holds when idle."
        self.sfu_addr: tuple[str, int] | None = None
        "Where the SFU sends from (learned), else its first offered candidate."
        self.client_addr: tuple[str, int] | None = None
        "Where the subscriber sends from (learned)."
        self.dropped = 0
        "Packets dropped at the full queue."
        self.forwarded = 0
        "Packets the shaped direction delivered."
        self._client_side = _Side(self, "client")
        self._sfu_side = _Side(self, "sfu")
        self._queue: collections.deque[bytes] = collections.deque()
        self._queued = 0
        self._tokens = float(self.burst)
        self._refilled = time.monotonic()
        self._timer: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self._client_side, local_addr=(self.host, 0))
        await loop.create_datagram_endpoint(lambda: self._sfu_side, local_addr=(self.host, 0))

    @property
    def client_side(self) -> tuple[str, int]:
        """The address the subscriber takes for the SFU's."""
        assert self._client_side.transport is not None
        host, port = self._client_side.transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    @property
    def sfu_side(self) -> tuple[str, int]:
        """The address the SFU takes for the subscriber's."""
        assert self._sfu_side.transport is not None
        host, port = self._sfu_side.transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def limit(self, rate: float | None) -> None:
        """Shape the SFU -> subscriber direction to ``rate`` bit/s (``None``: no limit)."""
        self._refill()
        self.rate = rate
        self._schedule()

    def _received(self, side: str, data: bytes, addr: tuple[str, int]) -> None:
        if side == "client":  # subscriber -> SFU: at once
            self.client_addr = addr
            if self.sfu_addr is not None and self._sfu_side.transport is not None:
                self._sfu_side.transport.sendto(data, self.sfu_addr)
            return
        self.sfu_addr = addr  # SFU -> subscriber: through the bottleneck
        if self._queued + len(data) > self.queue_bytes:
            self.dropped += 1
            return
        self._queue.append(data)
        self._queued += len(data)
        self._drain()

    def _refill(self) -> None:
        now = time.monotonic()
        if self.rate is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self.rate / 8)
        self._refilled = now

    def _drain(self) -> None:
        self._refill()
        transport = self._client_side.transport
        while self._queue and transport is not None and self.client_addr is not None:
            size = len(self._queue[0])
            if self.rate is not None and self._tokens < size:
                break
            data = self._queue.popleft()
            self._queued -= size
            if self.rate is not None:
                self._tokens -= size
            transport.sendto(data, self.client_addr)
            self.forwarded += 1
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None or not self._queue:
            return
        wait = 0.001
        if self.rate is not None:
            missing = len(self._queue[0]) - self._tokens
            wait = max(0.0005, missing * 8 / self.rate)
        self._timer = asyncio.get_running_loop().call_later(wait, self._tick)

    def _tick(self) -> None:
        self._timer = None
        self._drain()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for side in (self._client_side, self._sfu_side):
            if side.transport is not None:
                side.transport.close()


_CANDIDATE = re.compile(r"^(a=candidate:\S+ \d+ udp \d+ )(\S+) (\d+)( typ host.*)$", re.IGNORECASE)


def relay_candidates(sdp: str, address: tuple[str, int]) -> tuple[str, tuple[str, int] | None]:
    """``sdp`` with its UDP candidates replaced by one at ``address``; also returns the
    first address it replaced (``None`` if there was none)."""
    lines = sdp.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    first: tuple[str, int] | None = None
    placed: set[int] = set()
    section = -1
    for line in lines:
        if line.startswith("m="):
            section += 1
        match = _CANDIDATE.match(line)
        if match is None:
            if not line.startswith("a=candidate:"):
                out.append(line)
            continue
        if first is None:
            first = (match.group(2), int(match.group(3)))
        if section not in placed:
            placed.add(section)
            out.append(f"{match.group(1)}{address[0]} {address[1]}{match.group(4)}")
    return "\r\n".join(out), first
