"""Bandwidth: which simulcast layers one consumer connection can take.

Inputs are what the subscriber's receiver reports: REMB (its receive-side estimate, which
drops to about 85 % of what arrives when queues build up) and the loss fraction of its
receiver reports. Neither says how much *more* the link would carry (a receive-side
estimate stays within 1.5x of what arrives), so going up is a probe: after a calm period
one video stream is allowed one layer up; if congestion follows soon after, it goes back
down and the next probe waits twice as long (at most :data:`MAX_HOLDOFF`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .downtrack import DownTrack

__all__ = ["LOSS_CONGESTED", "LayerControl"]

logger = logging.getLogger(__name__)

LOSS_CONGESTED = 20
"Loss fraction (in 1/256, about 8 %) that counts as congestion."

MIN_HOLDOFF = 2.0
"Seconds of calm after a step down before the first probe up."

MAX_HOLDOFF = 8.0
"Longest wait between probes up."

PROBE_FAILED_WITHIN = 5.0
"Congestion this soon after a step up means the probe failed."


class LayerControl:
    """Caps the layers of one consumer connection's video streams (see the module)."""

    def __init__(self) -> None:
        self.estimate: int | None = None
        "The subscriber's last REMB, in bit/s."
        self.congestion_events = 0
        "Times congestion made a stream step down."
        self._hold_until = 0.0
        self._holdoff = MIN_HOLDOFF
        self._last_up = float("-inf")

    def on_remb(self, bitrate: int, streams: Sequence[DownTrack], now: float) -> None:
        """A REMB arrived: step down if it says the link carries less than is sent."""
        previous = self.estimate
        self.estimate = bitrate
        sending = _sending(streams)
        if not sending:
            return
        dropped = previous is not None and bitrate < previous * 0.95
        if (dropped and bitrate < sending * 0.9) or bitrate < sending * 0.5:
            self._congested(streams, now, budget=bitrate)

    def on_loss(self, fraction: int, streams: Sequence[DownTrack], now: float) -> None:
        """A receiver report said ``fraction`` (1/256) of a video stream was lost."""
        if fraction >= LOSS_CONGESTED:
            sending = _sending(streams)
            self._congested(streams, now, budget=int(sending * (1 - fraction / 256)))

    def tick(self, streams: Sequence[DownTrack], now: float) -> None:
        """Periodic: after a calm period, let one stream up by one layer."""
        if now < self._hold_until:
            return
        candidates = [
            s
            for s in streams
            if s.forwarder is not None
            and s.forwarder.simulcast
            and not s.paused
            and s.max_layer < _wished(s)
        ]
        if not candidates:
            self._holdoff = max(MIN_HOLDOFF, self._holdoff / 2)
            return
        stream = min(candidates, key=lambda s: s.max_layer)
        stream.max_layer += 1
        self._last_up = now
        self._hold_until = now + self._holdoff
        logger.debug("%r: probing one layer up (cap %d)", stream, stream.max_layer)
        stream.select()

    def _congested(self, streams: Sequence[DownTrack], now: float, budget: int) -> None:
        movable = [
            s for s in streams if s.target is not None and s.target.index > 0 and not s.paused
        ]
        if now - self._last_up < PROBE_FAILED_WITHIN:
            self._holdoff = min(MAX_HOLDOFF, self._holdoff * 2)
        self._hold_until = now + self._holdoff
        if not movable:
            return
        self.congestion_events += 1
        # step the highest streams down until what they need fits the budget (at least one)
        stepped = False
        for stream in sorted(movable, key=lambda s: -(s.target.index if s.target else 0)):
            if stepped and _sending(streams) <= budget:
                break
            target = stream.target
            assert target is not None
            layers = stream.forwarder.layers if stream.forwarder else []
            lower = target.index - 1
            while lower > 0 and layers[lower].bitrate > budget:
                lower -= 1
            stream.max_layer = max(0, lower)
            logger.debug("%r: congestion, capped at layer %d", stream, stream.max_layer)
            stream.select()
            stepped = True


def _wished(stream: DownTrack) -> int:
    from .downtrack import QUALITY_LAYER

    layers = len(stream.forwarder.layers) if stream.forwarder else 1
    return min(QUALITY_LAYER[stream.quality], layers - 1)


def _sending(streams: Sequence[DownTrack]) -> int:
    """What the video streams' chosen layers arrive with, in bit/s."""
    return sum(s.target.bitrate for s in streams if s.target is not None and not s.paused)
