"""Connection statistics: :class:`RoomStats` from ``await room.stats()``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiortc import RTCPeerConnection
from aiortc.stats import (
    RTCInboundRtpStreamStats,
    RTCOutboundRtpStreamStats,
    RTCRemoteInboundRtpStreamStats,
    RTCTransportStats,
)

__all__ = ["ConnectionStats", "RoomStats"]


@dataclass(frozen=True)
class ConnectionStats:
    """One peer connection's numbers, as of one ``room.stats()`` call."""

    connection: str
    "``producer`` (what this client sends) or ``consumer:<participant_id>`` (what it receives)."
    rtt_ms: float | None
    "Round-trip time to the SFU from RTCP receiver reports (producer only; else ``None``)."
    bitrate_in_kbps: float
    "Received bits per second / 1000 since the previous call (or since the connection began)."
    bitrate_out_kbps: float
    "Sent bits per second / 1000, likewise."
    packets_lost: int
    "RTP packets lost in total: reported by the SFU (producer) or counted here (consumer)."
    fps: float | None
    "Video frames per second sent (producer) or received (consumer), if there is video."
    bytes_in: int = 0
    "Bytes received on this connection's transport in total."
    bytes_out: int = 0
    "Bytes sent on this connection's transport in total."


@dataclass(frozen=True)
class RoomStats:
    """What ``await room.stats()`` returns: every connection, and a summary for a status bar."""

    connections: tuple[ConnectionStats, ...]
    "The producer first, then one per consumer."
    rtt_ms: float | None
    """Best round-trip estimate: the producer's RTCP RTT, else a WebSocket ping to signaling
    (the SFU is behind it on the same network in the local stack)."""
    timestamp: float = field(default_factory=time.time)
    "When these numbers were taken (``time.time()``)."

    @property
    def bitrate_in_kbps(self) -> float:
        """Sum of every connection's incoming bitrate."""
        return sum(c.bitrate_in_kbps for c in self.connections)

    @property
    def bitrate_out_kbps(self) -> float:
        """Sum of every connection's outgoing bitrate."""
        return sum(c.bitrate_out_kbps for c in self.connections)

    @property
    def packets_lost(self) -> int:
        """Sum of every connection's lost packets."""
        return sum(c.packets_lost for c in self.connections)

    def get(self, connection: str) -> ConnectionStats | None:
        """The stats of ``connection`` (``"producer"``, ``"consumer:ID"``), if present."""
        return next((c for c in self.connections if c.connection == connection), None)


class Meter:
    """Remembers the last byte counts of one connection to turn totals into rates."""

    def __init__(self) -> None:
        self.at = time.monotonic()
        self.bytes_in = 0
        self.bytes_out = 0

    def rates(self, bytes_in: int, bytes_out: int) -> tuple[float, float]:
        now = time.monotonic()
        span = max(now - self.at, 1e-3)
        rate_in = max(bytes_in - self.bytes_in, 0) * 8 / span / 1000
        rate_out = max(bytes_out - self.bytes_out, 0) * 8 / span / 1000
        self.at, self.bytes_in, self.bytes_out = now, bytes_in, bytes_out
        return rate_in, rate_out


async def connection_stats(
    name: str, pc: RTCPeerConnection, meter: Meter, fps: float | None
) -> ConnectionStats:
    """Read ``pc.getStats()`` into a :class:`ConnectionStats`."""
    report = await pc.getStats()
    bytes_in = bytes_out = lost = 0
    rtts: list[float] = []
    for stats in report.values():
        if isinstance(stats, RTCTransportStats):
            bytes_in += stats.bytesReceived
            bytes_out += stats.bytesSent
        elif isinstance(stats, RTCRemoteInboundRtpStreamStats):
            lost += max(stats.packetsLost, 0)
            if stats.roundTripTime:
                rtts.append(stats.roundTripTime * 1000)
        elif isinstance(stats, RTCInboundRtpStreamStats):
            lost += max(stats.packetsLost, 0)
        elif isinstance(stats, RTCOutboundRtpStreamStats):
            pass
    rate_in, rate_out = meter.rates(bytes_in, bytes_out)
    return ConnectionStats(
        connection=name,
        rtt_ms=min(rtts) if rtts else None,
        bitrate_in_kbps=round(rate_in, 1),
        bitrate_out_kbps=round(rate_out, 1),
        packets_lost=lost,
        fps=round(fps, 1) if fps is not None else None,
        bytes_in=bytes_in,
        bytes_out=bytes_out,
    )
