"""Consumer: one (subscriber, producer) connection; the SFU offers, the client answers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from aiortc import (
    RTCConfiguration,
    RTCSessionDescription,
)

from .connection import PeerConnection
from .forwarder import (
    ForwardedTrack,
    TrackForwarder,
    bind_sender,
    consumer_codec_preferences,
)
from .subscriptions import Subscriptions

__all__ = ["Consumer"]

logger = logging.getLogger(__name__)

ConsumerCallback = Callable[["Consumer"], None]


class Consumer(PeerConnection):
    """Carries one producer's media to one subscriber over a sendonly ``RTCPeerConnection``.

    Each transceiver is restricted to the codec the producer negotiated, so the
    producer's packets are valid for it unchanged. ``on_failed`` is called once if the
    connection fails.
    """

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
        self.wishes = Subscriptions()
        "The subscriber's wishes, read when :meth:`offer` runs (set by the room)."

    def __repr__(self) -> str:
        return f"Consumer({self.producer_id} -> {self.subscriber_id}, {self.pc.connectionState})"

    async def offer(self, forwarders: Sequence[TrackForwarder]) -> RTCSessionDescription:
        """Subscribe to ``forwarders`` and return the SFU's offer (one sendonly m-line each)."""
        for forwarder in forwarders:
            wish = self.wishes.wish(self.producer_id, forwarder.track_id)
            track = forwarder.subscribe(paused=not wish.receives(forwarder.kind))
            self.tracks.append(track)
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            transceiver.setCodecPreferences(consumer_codec_preferences(forwarder.codec))
            bind_sender(transceiver.sender, track)
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        description: RTCSessionDescription = self.pc.localDescription
        return description

    def apply_wishes(self) -> None:
        """Pause or resume each track as :attr:`wishes` now say.

        The connection stays up; resumed video restarts at a key frame the producer is
        asked for.
        """
        for track in self.tracks:
            wish = self.wishes.wish(self.producer_id, track.source.track_id)
            track.set_paused(not wish.receives(track.kind))

    async def accept_answer(self, answer: RTCSessionDescription) -> None:
        """Apply the subscriber's answer; media starts once ICE and DTLS connect."""
        await self.pc.setRemoteDescription(answer)

    async def _release(self) -> None:
        for track in self.tracks:
            track.source.unsubscribe(track)
