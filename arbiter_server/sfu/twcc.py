"""Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-01).

A browser publishing to the SFU numbers every RTP packet of its connection (the
transport-wide sequence number header extension) when the answer accepts ``transport-cc``;
the SFU reports when each packet arrived (:class:`TwccFeedback`, RTCP RTPFB FMT 15) about
every 50 ms. The browser's send-side estimator (GoogCC) then probes and finds the link's
rate within seconds, which its simulcast layers need; a receive-side REMB estimate only
grows slowly from what already arrives.
"""

from __future__ import annotations

import struct

__all__ = ["FEEDBACK_INTERVAL", "TWCC_URI", "TwccFeedback"]

TWCC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
"The header extension carrying the transport-wide sequence number."

FEEDBACK_INTERVAL = 0.05
"Seconds between two feedback packets while packets arrive."

MAX_PACKETS = 500
"Most packets one feedback reports (larger gaps start a new feedback)."

_NOT_RECEIVED, _SMALL, _LARGE = 0, 1, 2


class TwccFeedback:
    """Arrival times of one connection's packets, turned into feedback packets.

    :meth:`received` notes one packet (its transport-wide sequence number and arrival time
    in seconds); :meth:`build` returns the feedback for everything noted since the last
    one (``None`` if nothing new), from ``sender_ssrc`` about ``media_ssrc``.
    """

    def __init__(self) -> None:
        self._arrivals: dict[int, float] = {}
        self._next = -1  # extended sequence number the next feedback starts at
        self._highest = -1
        self._count = 0
        self.last_sent = 0.0
        "When the last feedback was built (seconds, the caller's clock)."

    def received(self, sequence: int, arrival: float) -> None:
        """Note packet ``sequence`` (16 bits, wraps) arrived at ``arrival``."""
        if self._highest < 0:
            extended = sequence
        else:
            delta = (sequence - self._highest) & 0xFFFF
            extended = (
                self._highest + delta if delta < 0x8000 else self._highest - (0x10000 - delta)
            )
        if extended < self._next:
            return  # already reported as lost
        if self._next < 0:
            self._next = extended
        self._arrivals.setdefault(extended, arrival)
        if extended > self._highest:
            self._highest = extended

    @property
    def pending(self) -> bool:
        """True if packets wait to be reported."""
        return bool(self._arrivals)

    def build(self, sender_ssrc: int, media_ssrc: int, now: float) -> bytes | None:
        """One feedback packet for the packets noted since the last one."""
        arrivals = self._arrivals
        if not arrivals:
            return None
        self.last_sent = now
        base = self._next
        last = min(self._highest, base + MAX_PACKETS - 1)
        received = sorted(s for s in arrivals if s <= last)
        if not received:
            return None
        reference = int(arrivals[received[0]] * 1000 // 64)  # 64 ms units
        previous = reference * 64 * 1000  # microseconds
        statuses: list[int] = []
        deltas = bytearray()
        for sequence in range(base, last + 1):
            at = arrivals.pop(sequence, None)
            if at is None:
                statuses.append(_NOT_RECEIVED)
                continue
            micros = int(at * 1_000_000)
            ticks = round((micros - previous) / 250)
            if 0 <= ticks <= 0xFF:
                statuses.append(_SMALL)
                deltas.append(ticks)
            else:
                ticks = max(-0x8000, min(0x7FFF, ticks))
                statuses.append(_LARGE)
                deltas += struct.pack("!h", ticks)
            previous += ticks * 250
        self._next = last + 1
        chunks = bytearray()
        start = 0
        while start < len(statuses):  # run-length chunks (T=0): status, run of up to 8191
            symbol = statuses[start]
            end = start
            while end < len(statuses) and statuses[end] == symbol and end - start < 8191:
                end += 1
            chunks += struct.pack("!H", (symbol << 13) | (end - start))
            start = end
        head = struct.pack(
            "!IIHHI",
            sender_ssrc,
            media_ssrc,
            base & 0xFFFF,
            len(statuses),
            ((reference & 0xFFFFFF) << 8) | self._count,
        )
        body = head + bytes(chunks) + bytes(deltas)
        self._count = (self._count + 1) & 0xFF
        padding = -(len(body) + 4) % 4
        first = 0x80 | 15
        if padding:
            body += b"\x00" * (padding - 1) + bytes([padding])
            first |= 0x20
        return struct.pack("!BBH", first, 205, (len(body) + 4) // 4 - 1) + body
