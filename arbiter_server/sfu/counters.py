"""Counters the SFU's media objects report (``stats()``), as plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LayerStats"]


@dataclass(frozen=True)
class LayerStats:
    """Counters of one :class:`Layer`."""

    rid: str | None
    "Its simulcast RTP stream id, if any."
    ssrc: int | None
    "Its SSRC, once known."
    packets: int
    "RTP packets received (retransmissions included)."
    keyframes: int
    "Key frames started."
    keyframe_requests: int
    "PLIs sent to the producer for it."
    bitrate: int
    "Receive rate in bit/s over the last second or so."
    lost: int
    "Packets never received (as RTCP receiver reports count them)."
    nacks: int
    "Packets asked for again (NACK) from the producer."
    subscribers: int
    "Consumer media sections sending this layer or switching to it."
