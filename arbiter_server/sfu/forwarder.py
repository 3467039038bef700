"""TrackForwarder: one published track (participant + track id) and its consumer streams.

The track's packets arrive in its :class:`~.layer.Layer` objects (one, or one per simulcast
layer) and go from there to the consumer streams (:mod:`.downtrack`) that take them. A
forwarder outlives the producer connection that feeds it: when a participant publishes
again (a new producer connection with the same track ids), the forwarder takes the new
layers and its consumers switch to them at a key frame with continuous sequence numbers
and timestamps. It also tells a simulcast publisher which layers anybody receives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from arbiter_protocol import TrackSource

from .codecs import codec_key
from .layer import Layer, LayerStats, Sink, Upstream

__all__ = ["ForwarderStats", "Stream", "TrackForwarder"]

logger = logging.getLogger(__name__)


class Stream(Sink, Protocol):
    """What a forwarder needs of a consumer stream attached to it."""

    @property
    def paused(self) -> bool:
        """True while its subscriber does not want the track."""
        ...

    def source_changed(self) -> None:
        """The forwarder took a new producer's layers."""
        ...

    def detach(self) -> None:
        """The track is gone: carry nothing."""
        ...

    def select(self) -> None:
        """Choose again what to send (the forwarder was muted or unmuted)."""
        ...


@dataclass(frozen=True)
class ForwarderStats:
    """Counters of one :class:`TrackForwarder`."""

    kind: str
    "``audio`` or ``video``."
    packets: int
    "RTP packets received on all its layers."
    keyframes: int
    "Key frames started on all its layers."
    keyframe_requests: int
    "PLIs sent to the producer."
    subscribers: int
    "Consumer media sections attached (paused or not)."
    paused: int = 0
    "Of which paused by their subscriber."
    layers: tuple[LayerStats, ...] = ()
    "Per layer, lowest first."


LayerWishes = Callable[["TrackForwarder", Sequence[str]], None]
"Called with the rids (of a simulcast track) some consumer needs, when that set changes."


class TrackForwarder:
    """One published track (participant + track id) and its consumers.

    **Parameters:**

    * **participant_id**, **track_id**, **source**, **kind** - what the track is.
    * **codec** - the codec the producer negotiated (consumers negotiate the same one);
      a producer that publishes again must use the same (:func:`~.codecs.codec_key`).
    * **on_layers** - told which simulcast layers anybody receives (to pause the others).
    """

    def __init__(
        self,
        participant_id: str,
        track_id: str,
        *,
        kind: str,
        source: TrackSource,
        codec: RTCRtpCodecParameters,
        on_layers: LayerWishes | None = None,
    ) -> None:
        self.participant_id = participant_id
        self.track_id = track_id
        self.kind = kind
        self.source: TrackSource = source
        self.codec = codec
        self.mime_type = codec.mimeType.lower()
        self.clock_rate = codec.clockRate
        self.payload_type = codec.payloadType or 0
        self.codec_key = codec_key(codec)
        self.label = f"{participant_id}/{track_id}"
        self.layers: list[Layer] = []
        "The current producer's layers, lowest quality first."
        self.downtracks: list[Stream] = []
        "Consumer media sections attached to this track."
        self.closed = False
        self.muted = False
        "True while a moderator holds this track muted: no consumer gets its packets."
        self.published_at = time.monotonic()
        self._on_layers = on_layers
        self._wanted_rids: tuple[str, ...] | None = None
        self._retired_packets = 0
        self._retired_keyframes = 0
        self._retired_requests = 0

    def __repr__(self) -> str:
        return f"TrackForwarder({self.label}, {self.kind}, layers={len(self.layers)})"

    @property
    def simulcast(self) -> bool:
        """True if the producer sends more than one layer."""
        return len(self.layers) > 1

    def new_layers(self, rids: Sequence[str | None], upstream: Upstream) -> list[Layer]:
        """Take a (new) producer's layers, lowest first; consumers switch to them.

        The previous producer's layers stop at once; each consumer keeps its media
        section and continues at the new layer's next key frame, which is asked for.
        """
        for old in self.layers:
            stats = old.stats()
            self._retired_packets += stats.packets
            self._retired_keyframes += stats.keyframes
            self._retired_requests += stats.keyframe_requests
            old.close()
        self.layers = [Layer(self, i, rid, upstream) for i, rid in enumerate(rids)]
        self._wanted_rids = None
        self.published_at = time.monotonic()
        for downtrack in list(self.downtracks):
            downtrack.source_changed()
        return self.layers

    def attach(self, downtrack: Stream) -> None:
        """A consumer media section now carries this track."""
        if downtrack not in self.downtracks:
            self.downtracks.append(downtrack)

    def detach(self, downtrack: Stream) -> None:
        """A consumer media section no longer carries this track."""
        if downtrack in self.downtracks:
            self.downtracks.remove(downtrack)
        for layer in self.layers:
            layer.remove_sink(downtrack)

    def sinks_changed(self) -> None:
        """Some consumer changed layers: tell the publisher which layers are needed."""
        if self._on_layers is None or not self.simulcast or self.closed:
            return
        needed = {layer.rid for layer in self.layers if layer.sinks}
        # the lowest layer always runs: it is what a consumer falls back to at once
        needed.add(self.layers[0].rid)
        rids = tuple(layer.rid or "" for layer in self.layers if layer.rid in needed)
        if rids != self._wanted_rids:
            self._wanted_rids = rids
            self._on_layers(self, rids)

    def set_muted(self, muted: bool) -> None:
        """Stop (or resume) sending this track to every consumer; video resumes at a key
        frame, which is asked for."""
        if muted != self.muted:
            self.muted = muted
            for downtrack in list(self.downtracks):
                downtrack.select()

    def paused_on_request(self, layer: Layer) -> bool:
        """True if the publisher was asked to stop sending ``layer`` (nobody needed it)."""
        return self._wanted_rids is not None and (layer.rid or "") not in self._wanted_rids

    def tick(self, now: float) -> None:
        """Periodic work: layer bitrates, NACK retries, consumers' layer choice."""
        for layer in self.layers:
            layer.tick(now)

    def stats(self) -> ForwarderStats:
        """Current counters."""
        layers = tuple(layer.stats() for layer in self.layers)
        return ForwarderStats(
            kind=self.kind,
            packets=self._retired_packets + sum(s.packets for s in layers),
            keyframes=self._retired_keyframes + sum(s.keyframes for s in layers),
            keyframe_requests=self._retired_requests + sum(s.keyframe_requests for s in layers),
            subscribers=len(self.downtracks),
            paused=sum(d.paused for d in self.downtracks),
            layers=layers,
        )

    def close(self) -> None:
        """The track is gone: stop its layers and detach every consumer."""
        self.closed = True
        for layer in self.layers:
            layer.close()
        for downtrack in list(self.downtracks):
            downtrack.detach()
        self.downtracks.clear()
