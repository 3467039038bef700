"""Consumer: one (subscriber, producer) connection; the SFU offers, the client answers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from aiortc import (
    RTCConfiguration,
    RTCSessionDescription,
)

from arbiter_rtc import PeerConnection

from .forwarder import (
    ForwardedTrack,
    TrackForwarder,
    bind_sender,
    consumer_codec_preferences,
)

__all__ = ["Consumer"]

logger = logging.getLogger(__name__)

ConsumerCallback = Callable[["Consumer"], None]


class Consumer(PeerConnection):
    """Carries one producer's media to one subscriber over a sendonly ``RTCPeerConnection``.

    Each transceiver is restricted to the codec the producer negotiated, so the
    producer's packets are valid for it unchanged. ``on_failed`` is called once if the
    connection fails.
    """

    state_log_level = logging.INFO

    def __init__(
        self,
        subscriber_id: str,
        producer_id: str,
        configuration: RTCConfiguration,
        *,
        on_failed: ConsumerCallback,
    ) -> None:
        self.subscriber_id = subscriber_id
        self.producer_id = producer_id
        super().__init__(configuration, on_failed)
        self.tracks: list[ForwardedTrack] = []
        self.paused_kinds: dict[str, bool] = {}
        "Kinds to subscribe paused when :meth:`offer` runs (set by the room)."

    def __repr__(self) -> str:
        return f"Consumer({self.producer_id} -> {self.subscriber_id}, {self.pc.connectionState})"

    async def offer(self, forwarders: Sequence[TrackForwarder]) -> RTCSessionDescription:
        """Subscribe to ``forwarders`` and return the SFU's offer (one sendonly m-line each)."""
        for forwarder in forwarders:
            track = forwarder.subscribe(paused=self.paused_kinds.get(forwarder.kind, False))
            self.tracks.append(track)
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            transceiver.setCodecPreferences(consumer_codec_preferences(forwarder.codec))
            bind_sender(transceiver.sender, track)
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        description: RTCSessionDescription = self.pc.localDescription
        return description

    def set_paused(self, kind: str, paused: bool) -> None:
        """Pause or resume forwarding this consumer's ``kind`` (``audio``/``video``) tracks.

        The connection stays up; resumed video restarts at a key frame the producer is
        asked for.
        """
        for track in self.tracks:
            if track.kind == kind:
                track.set_paused(paused)

    async def accept_answer(self, answer: RTCSessionDescription) -> None:
        """Apply the subscriber's answer; media starts once ICE and DTLS connect."""
        await self.pc.setRemoteDescription(answer)

    async def _release(self) -> None:
        for track in self.tracks:
            track.source.unsubscribe(track)
