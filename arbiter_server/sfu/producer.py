"""Producer: one participant's producer connection (the client offers, the SFU answers)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCSessionDescription,
)
from aiortc.sdp import SessionDescription as SdpDescription

from arbiter_protocol import TrackInfo

from .connection import PeerConnection
from .forwarder import (
    TrackForwarder,
    negotiated_codec,
    producer_codec_preferences,
    remote_media_ssrcs,
    single_codec,
)

__all__ = ["DATA_CHANNEL_LABEL", "Producer"]

logger = logging.getLogger(__name__)

DATA_CHANNEL_LABEL = "arbiter"
"Label of the data channel a client opens on its producer connection."

MessageCallback = Callable[["Producer", "str | bytes"], None]
ProducerCallback = Callable[["Producer"], None]


class Producer(PeerConnection):
    """A participant's producer ``RTCPeerConnection``: its media in, its data channel.

    Receives the client's audio and video (Opus; VP8, or H.264 if the client offers no
    VP8) and exposes one
    :class:`~.forwarder.TrackForwarder` per track; the ``arbiter`` data channel's
    messages go to ``on_message``; ``on_channel_open`` is called when that channel is open.
    ``on_failed`` is called once if the connection fails.
    """

    def __init__(
        self,
        participant_id: str,
        configuration: RTCConfiguration,
        *,
        on_message: MessageCallback,
        on_failed: ProducerCallback,
        on_channel_open: ProducerCallback | None = None,
    ) -> None:
        self.participant_id = participant_id
        super().__init__(configuration, on_failed)
        self.forwarders: list[TrackForwarder] = []
        self.channel: RTCDataChannel | None = None
        self._on_message = on_message
        self._on_channel_open = on_channel_open
        self.pc.on("datachannel", self._handle_datachannel)

    def __repr__(self) -> str:
        return f"Producer({self.participant_id}, {self.pc.connectionState})"

    async def accept(
        self, offer: RTCSessionDescription, tracks: Sequence[TrackInfo] = ()
    ) -> RTCSessionDescription:
        """Apply the client's offer and return the SFU's answer.

        ``tracks`` names the offer's media sections (by ``mid``); a section it does not
        name is the participant's ``microphone`` (first audio) or ``camera`` (first video),
        or else is called after its kind and mid.

        Audio is restricted to Opus and video to VP8 or H.264 (packetization-mode 1; VP8
        preferred), one codec per section, so that consumers can receive the packets
        unchanged; a media section in another codec is refused.
        """
        pc = self.pc
        # One transceiver per offered audio/video section, created first so that the
        # codec preferences apply when setRemoteDescription negotiates.
        for media in SdpDescription.parse(offer.sdp).media:
            if media.kind in ("audio", "video"):
                transceiver = pc.addTransceiver(media.kind, direction="recvonly")
                transceiver.setCodecPreferences(producer_codec_preferences(media.kind))
        await pc.setRemoteDescription(offer)
        # No await between here and the forwarders' creation: aiortc starts the receivers
        # from a task scheduled by setRemoteDescription, and they must be prepared first.
        ssrcs = remote_media_ssrcs(offer.sdp)
        named = {t.mid: t for t in tracks if t.mid is not None}
        for transceiver in pc.getTransceivers():
            track = transceiver.receiver.track
            if transceiver.mid is None or track is None:
                continue
            transceiver._codecs = single_codec(transceiver._codecs)
            codec = negotiated_codec(transceiver._codecs)
            if codec is None:
                continue
            info = named.get(transceiver.mid) or self._default_track(track.kind, transceiver.mid)
            try:
                forwarder = TrackForwarder(
                    transceiver.receiver,
                    codec,
                    media_ssrc=ssrcs.get(transceiver.mid),
                    label=f"{self.participant_id}/{info.id}",
                    track_id=info.id,
                    source=info.source,
                )
            except ValueError as exc:
                logger.warning("producer %s: %s; media refused", self.participant_id, exc)
                transceiver.direction = "inactive"
                continue
            self.forwarders.append(forwarder)
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        for forwarder in self.forwarders:
            forwarder.start()
        description: RTCSessionDescription = pc.localDescription
        return description

    def _default_track(self, kind: str, mid: str) -> TrackInfo:
        """How an unnamed media section is called: see :meth:`accept`."""
        taken = {f.track_id for f in self.forwarders}
        if kind == "audio" and "microphone" not in taken:
            return TrackInfo(id="microphone", kind="audio", source="microphone", mid=mid)
        if kind == "video" and "camera" not in taken:
            return TrackInfo(id="camera", kind="video", source="camera", mid=mid)
        return TrackInfo(id=f"{kind}-{mid}", kind="video" if kind == "video" else "audio", mid=mid)

    def track(self, track_id: str) -> TrackForwarder | None:
        """The forwarder of the track called ``track_id``, if published."""
        return next((f for f in self.forwarders if f.track_id == track_id), None)

    def send(self, text: str) -> bool:
        """Send ``text`` on the data channel; False if the channel is not open."""
        channel = self.channel
        if channel is None or channel.readyState != "open":
            return False
        try:
            channel.send(text)
        except Exception as exc:
            logger.warning("producer %s: data channel send failed: %s", self.participant_id, exc)
            return False
        return True

    def _handle_datachannel(self, channel: RTCDataChannel) -> None:
        if channel.label != DATA_CHANNEL_LABEL or self.channel is not None:
            logger.info("producer %s: ignoring data channel %r", self.participant_id, channel.label)
            return
        self.channel = channel

        def on_message(message: str | bytes) -> None:
            if not self.closed:
                self._on_message(self, message)

        channel.on("message", on_message)
        if channel.readyState == "open":
            self._channel_open()
        else:
            channel.on("open", self._channel_open)

    def _channel_open(self) -> None:
        if self._on_channel_open is not None and not self.closed:
            self._on_channel_open(self)

    async def _release(self) -> None:
        for forwarder in self.forwarders:
            await forwarder.close()
