"""Consumer: one (subscriber, producer) connection; the SFU offers, the client answers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from aiortc import (
    RTCConfiguration,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCSessionDescription,
)

from .forwarder import (
    ForwardedTrack,
    TrackForwarder,
    bind_sender,
    consumer_codec_preferences,
)

__all__ = ["Consumer"]

logger = logging.getLogger(__name__)

ConsumerCallback = Callable[["Consumer"], None]


class Consumer:
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
        self.pc = RTCPeerConnection(configuration)
        self.tracks: list[ForwardedTrack] = []
        self.paused_kinds: dict[str, bool] = {}
        "Kinds to subscribe paused when :meth:`offer` runs (set by the room)."
        self._on_failed = on_failed
        self._closed: asyncio.Future[None] | None = None
        self.pc.on("connectionstatechange", self._handle_connection_state)

    def __repr__(self) -> str:
        return f"Consumer({self.producer_id} -> {self.subscriber_id}, {self.pc.connectionState})"

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed is not None

    @property
    def connection_state(self) -> str:
        """The peer connection's ``connectionState``."""
        return str(self.pc.connectionState)

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

    async def add_candidate(self, candidate: RTCIceCandidate | None) -> None:
        """Add a trickled remote ICE candidate (``None``: end of candidates)."""
        await self.pc.addIceCandidate(candidate)

    def _handle_connection_state(self) -> None:
        state = self.pc.connectionState
        logger.info("consumer %s -> %s: connection %s", self.producer_id, self.subscriber_id, state)
        if state == "failed" and not self.closed:
            self._on_failed(self)

    async def close(self) -> None:
        """Unsubscribe and close the connection. Idempotent."""
        if self._closed is not None:
            await self._closed
            return
        self._closed = asyncio.get_running_loop().create_future()
        try:
            for track in self.tracks:
                track.source.unsubscribe(track)
            await self.pc.close()
        finally:
            self._closed.set_result(None)
        logger.debug("consumer %s -> %s closed", self.producer_id, self.subscriber_id)
