"""Producer: one participant's producer connection (the client offers, the SFU answers).

Its RTP does not go through aiortc's receivers: the DTLS transport's decrypted packets go
straight to :meth:`Producer._on_rtp`, which finds the :class:`~.forwarder.Layer` by SSRC
(learned from the SDP's ``a=ssrc`` lines, from the MID and RID header extensions, or from
the payload type when only one section can match) and hands the packet over. RTCP from
the producer (sender reports) is read the same way; the SFU's own RTCP to the producer
(receiver reports, REMB, NACK, PLI) is built here and sent directly.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiortc import RTCConfiguration, RTCDataChannel, RTCSessionDescription
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.sdp import SessionDescription as SdpDescription

from arbiter_protocol import TrackInfo
from arbiter_rtc import PeerConnection

from . import aiortc_hooks
from .codecs import (
    PASSTHROUGH_MIME_TYPES,
    is_rtx,
    negotiated_codec,
    producer_codec_preferences,
    single_codec,
)
from .layer import Layer, Upstream
from .rtp import (
    ABS_SEND_TIME_URI,
    AUDIO_LEVEL_URI,
    MID_URI,
    REPAIRED_RID_URI,
    RID_URI,
    build_remb,
    build_rr,
    one_byte_extension,
    parse_extensions,
    parse_rtcp,
    payload_start,
)
from .sdp import (
    answer_extension,
    answer_simulcast,
    media_ssrcs,
    offered_extension,
    offered_simulcast,
)
from .twcc import FEEDBACK_INTERVAL, TWCC_URI, TwccFeedback

__all__ = ["DATA_CHANNEL_LABEL", "Producer", "PublishedTrack"]

logger = logging.getLogger(__name__)

DATA_CHANNEL_LABEL = "arbiter"
"Label of the data channel a client opens on its producer connection."

MessageCallback = Callable[["Producer", "str | bytes"], None]
ProducerCallback = Callable[["Producer"], None]


@dataclass
class PublishedTrack:
    """One media section of a producer offer, as the SFU answered it."""

    info: TrackInfo
    "The track's id, kind, source and mid."
    codec: RTCRtpCodecParameters
    "The negotiated codec."
    rtx_payload_type: int | None
    "Its RTX payload type, if negotiated."
    rids: list[str | None]
    "Simulcast layers by rid, lowest first; ``[None]`` for a single stream."
    ssrcs: list[int] = field(default_factory=list)
    "Primary SSRCs the offer announced (single stream: at most one)."
    rtx_ssrcs: dict[int, int] = field(default_factory=dict)
    "Announced RTX SSRC -> primary SSRC."
    extensions: dict[str, int] = field(default_factory=dict)
    "Negotiated header extension ids by URI."
    layers: list[Layer] = field(default_factory=list)
    "The layers of the forwarder it feeds (set by :meth:`Producer.bind`)."


class Producer(PeerConnection, Upstream):
    """A participant's producer ``RTCPeerConnection``: its media in, its data channel.

    Receives the client's audio and video (Opus; VP8, or H.264 if the client offers no
    VP8; browsers' simulcast with up to three layers); :meth:`accept` returns the answer
    and the :class:`PublishedTrack` of each section, which the room binds to forwarders.
    The ``arbiter`` data channel's messages go to ``on_message``; ``on_channel_open`` is
    called when that channel is open; ``on_failed`` once if the connection fails.
    """

    state_log_level = logging.INFO

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
        self.tracks: list[PublishedTrack] = []
        "The published media sections (after :meth:`accept`)."
        self.channel: RTCDataChannel | None = None
        self._on_message = on_message
        self._on_channel_open = on_channel_open
        self._rtcp_ssrc = random.randint(1, 0xFFFFFFFF)
        self._transport: aiortc_hooks.SrtpTransport | None = None
        self._routes: dict[int, tuple[Layer, bool]] = {}
        self._by_rid: dict[tuple[str, str | None], Layer] = {}
        self._mid_id = self._rid_id = self._rrid_id = self._abs_id = 0
        self._estimator: aiortc_hooks.BitrateEstimator | None = None
        "Made with the first video packet that needs it (about 95 KB)."
        self._twcc: TwccFeedback | None = None
        self._twcc_id = 0
        self._remb: tuple[int, list[int]] | None = None
        self.unknown_packets = 0
        "RTP packets that matched no layer (dropped)."
        self.pc.on("datachannel", self._handle_datachannel)

    def __repr__(self) -> str:
        return f"Producer({self.participant_id}, {self.pc.connectionState})"

    @property
    def rtcp_ssrc(self) -> int:
        """The SSRC of the SFU's RTCP on this connection."""
        return self._rtcp_ssrc

    async def accept(
        self, offer: RTCSessionDescription, tracks: Sequence[TrackInfo] = ()
    ) -> RTCSessionDescription:
        """Apply the client's offer and return the SFU's answer (with simulcast, if offered).

        ``tracks`` names the offer's media sections (by ``mid``); a section it does not
        name is the participant's ``microphone`` (first audio) or ``camera`` (first video),
        or else is called after its kind and mid. Audio is restricted to Opus and video to
        VP8 or H.264 (packetization-mode 1; VP8 preferred), one codec per section; a
        section in another codec is refused (made inactive).
        """
        aiortc_hooks.enable_rid_extensions()
        pc = self.pc
        for media in SdpDescription.parse(offer.sdp).media:
            if media.kind in ("audio", "video"):
                transceiver = pc.addTransceiver(media.kind, direction="recvonly")
                transceiver.setCodecPreferences(producer_codec_preferences(media.kind))
                aiortc_hooks.hold_receiver(transceiver.receiver)
        await pc.setRemoteDescription(offer)
        simulcast = offered_simulcast(offer.sdp)
        announced = media_ssrcs(offer.sdp)
        named = {t.mid: t for t in tracks if t.mid is not None}
        for transceiver in pc.getTransceivers():
            mid = transceiver.mid
            if mid is None or transceiver.kind not in ("audio", "video"):
                continue
            transceiver._codecs = single_codec(transceiver._codecs)
            codec = negotiated_codec(transceiver._codecs)
            if codec is None:
                continue
            if codec.mimeType.lower() not in PASSTHROUGH_MIME_TYPES:
                logger.warning(
                    "producer %s: cannot forward %s; media refused", self.participant_id, codec
                )
                transceiver.direction = "inactive"
                continue
            rtx = next(
                (
                    c.payloadType
                    for c in transceiver._codecs
                    if is_rtx(c) and c.parameters.get("apt") == codec.payloadType
                ),
                None,
            )
            info = named.get(mid) or self._default_track(transceiver.kind, mid)
            info = TrackInfo(
                id=info.id,
                kind="video" if transceiver.kind == "video" else "audio",
                source=info.source,
                mid=mid,
            )
            ssrcs = announced.get(mid)
            rids: list[str | None] = list(simulcast.get(mid, [])) or [None]
            self.tracks.append(
                PublishedTrack(
                    info=info,
                    codec=codec,
                    rtx_payload_type=rtx,
                    rids=rids,
                    ssrcs=list(ssrcs.media) if ssrcs and rids == [None] else [],
                    rtx_ssrcs=dict(ssrcs.rtx) if ssrcs and rids == [None] else {},
                    extensions=aiortc_hooks.negotiated_extensions(transceiver._headerExtensions),
                )
            )
        dtls = next((t.receiver.transport for t in pc.getTransceivers() if t.mid is not None), None)
        if dtls is not None:
            aiortc_hooks.tap(dtls, self._on_rtp, self._on_rtcp)
            self._transport = aiortc_hooks.SrtpTransport(dtls)
        # BUNDLE: one id per extension across the sections (rids only on video ones)
        extensions = {uri: ident for t in self.tracks for uri, ident in t.extensions.items()}
        self._mid_id = extensions.get(MID_URI, 0)
        self._rid_id = extensions.get(RID_URI, 0)
        self._rrid_id = extensions.get(REPAIRED_RID_URI, 0)
        self._abs_id = extensions.get(ABS_SEND_TIME_URI, 0)
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        local: RTCSessionDescription = pc.localDescription
        layers = {mid: rids for mid, rids in simulcast.items() if self._rid_id}
        text = answer_simulcast(local.sdp, layers)
        twcc = offered_extension(offer.sdp, TWCC_URI)
        if twcc is not None and self.tracks:
            # the browser's send-side estimator gets arrival times (and probes) instead
            # of a REMB estimate that only follows what already arrives
            self._twcc_id = twcc
            self._twcc = TwccFeedback()
            text = answer_extension(text, TWCC_URI, twcc, feedback="transport-cc")
        return RTCSessionDescription(sdp=text, type="answer")

    def _default_track(self, kind: str, mid: str) -> TrackInfo:
        """How an unnamed media section is called: see :meth:`accept`."""
        taken = {t.info.id for t in self.tracks}
        if kind == "audio" and "microphone" not in taken:
            return TrackInfo(id="microphone", kind="audio", source="microphone", mid=mid)
        if kind == "video" and "camera" not in taken:
            return TrackInfo(id="camera", kind="video", source="camera", mid=mid)
        return TrackInfo(id=f"{kind}-{mid}", kind="video" if kind == "video" else "audio", mid=mid)

    def bind(self, track: PublishedTrack, layers: list[Layer]) -> None:
        """Route ``track``'s packets to ``layers`` (one per rid, lowest first)."""
        track.layers = layers
        level_id = track.extensions.get(AUDIO_LEVEL_URI, 0)
        for layer in layers:
            layer.audio_level_id = level_id
            layer.abs_send_time_id = self._abs_id
            self._by_rid[(track.info.mid or "", layer.rid)] = layer
        if len(layers) == 1 and track.ssrcs:
            layer = layers[0]
            layer.ssrc = track.ssrcs[0]
            self._routes[layer.ssrc] = (layer, False)
            for rtx, primary in track.rtx_ssrcs.items():
                if primary == layer.ssrc:
                    layer.rtx_ssrc = rtx
                    self._routes[rtx] = (layer, True)

    # -- media in -----------------------------------------------------------------------

    def _on_rtp(self, data: bytes, arrival_ms: int) -> None:
        if len(data) < 12:
            return
        now = time.monotonic()
        if self._twcc is not None:  # every packet counts, probes and unknown SSRCs too
            self._transport_feedback(data, now)
        ssrc = int.from_bytes(data[8:12], "big")
        route = self._routes.get(ssrc)
        if route is None:
            route = self._learn(data, ssrc)
            if route is None:
                self.unknown_packets += 1
                return
        layer, rtx = route
        if self._twcc is None and self._abs_id and not rtx and layer.forwarder.kind == "video":
            self._estimate(data, arrival_ms, ssrc)
        if rtx:
            layer.receive_rtx(data, now)
        else:
            layer.receive(data, now)

    def _learn(self, data: bytes, ssrc: int) -> tuple[Layer, bool] | None:
        """Find the layer of a packet from an SSRC seen for the first time."""
        try:
            _, ext_start, ext_end = payload_start(data)
        except ValueError:
            return None
        extensions = parse_extensions(data, ext_start, ext_end)
        pt = data[1] & 0x7F
        track = None
        mid_value = extensions.get(self._mid_id) if self._mid_id else None
        if mid_value:
            mid = mid_value.decode(errors="replace")
            track = next((t for t in self.tracks if t.info.mid == mid), None)
        else:
            candidates = [t for t in self.tracks if pt in (t.codec.payloadType, t.rtx_payload_type)]
            if len(candidates) == 1:
                track = candidates[0]
        if track is None or not track.layers:
            return None
        rtx = pt == track.rtx_payload_type and pt != track.codec.payloadType
        if len(track.layers) == 1:
            layer = track.layers[0]
        else:
            ident = self._rrid_id if rtx else self._rid_id
            rid = extensions.get(ident) if ident else None
            if not rid:
                return None  # a simulcast packet without its rid: wait for one that has it
            found = self._by_rid.get((track.info.mid or "", rid.decode(errors="replace")))
            if found is None:
                return None
            layer = found
        if rtx:
            if layer.rtx_ssrc is not None and layer.rtx_ssrc != ssrc:
                self._routes.pop(layer.rtx_ssrc, None)
            layer.rtx_ssrc = ssrc
        else:
            if layer.ssrc is not None and layer.ssrc != ssrc:
                self._routes.pop(layer.ssrc, None)  # the publisher restarted that stream
            layer.ssrc = ssrc
        route = (layer, rtx)
        self._routes[ssrc] = route
        logger.debug("producer %s: ssrc %d is %r%s", self.participant_id, ssrc, layer, rtx * " rtx")
        return route

    def _estimate(self, data: bytes, arrival_ms: int, ssrc: int) -> None:
        """Feed the receive-side bandwidth estimator; send REMB when it says so."""
        try:
            offset, ext_start, ext_end = payload_start(data)
        except ValueError:
            return
        value = parse_extensions(data, ext_start, ext_end).get(self._abs_id)
        if value is None or len(value) != 3:
            return
        if self._estimator is None:
            self._estimator = aiortc_hooks.bitrate_estimator()
        result = self._estimator.add(
            arrival_ms, int.from_bytes(value, "big"), len(data) - offset, ssrc
        )
        if result is not None:
            bitrate, ssrcs = result
            self._remb = (int(bitrate), list(ssrcs))
            self.send_rtcp(build_remb(self._rtcp_ssrc, int(bitrate), ssrcs))

    def _transport_feedback(self, data: bytes, now: float) -> None:
        """Note the packet's transport-wide sequence number; report every 50 ms."""
        twcc = self._twcc
        assert twcc is not None
        try:
            _, ext_start, ext_end = payload_start(data)
        except ValueError:
            return
        if ext_start:
            value = one_byte_extension(data, ext_start, ext_end, self._twcc_id)
            if value is not None and len(value) >= 2:
                twcc.received(int.from_bytes(value[:2], "big"), now)
        if now - twcc.last_sent >= FEEDBACK_INTERVAL:
            self._send_transport_feedback(now)

    def _send_transport_feedback(self, now: float) -> None:
        twcc = self._twcc
        if twcc is None or not twcc.pending:
            return
        media = next((la.ssrc for t in self.tracks for la in t.layers if la.ssrc), 0)
        packet = twcc.build(self._rtcp_ssrc, media, now)
        if packet is not None:
            self.send_rtcp(packet)

    def _on_rtcp(self, data: bytes) -> None:
        feedback = parse_rtcp(data)
        if not feedback.sender_reports:
            return
        now = time.monotonic()
        for ssrc, ntp, _rtp in feedback.sender_reports:
            route = self._routes.get(ssrc)
            if route is not None and not route[1]:
                route[0].on_sender_report(ntp, now)

    # -- RTCP out -----------------------------------------------------------------------

    def send_rtcp(self, packet: bytes) -> None:
        """Send an RTCP packet to the producer (dropped while not connected)."""
        if self._transport is not None and not self.closed:
            self._transport.send_rtcp(packet)

    def rtcp_tick(self, now: float) -> None:
        """Periodic RTCP: a receiver report of every layer, and the latest REMB."""
        blocks = [
            block
            for track in self.tracks
            for layer in track.layers
            if not layer.closed and (block := layer.report_block(now)) is not None
        ]
        if not blocks:
            return
        packet = build_rr(self._rtcp_ssrc, blocks)
        if self._remb is not None and self._twcc is None:
            packet += build_remb(self._rtcp_ssrc, *self._remb)
        self.send_rtcp(packet)
        if self._twcc is not None and now - self._twcc.last_sent >= FEEDBACK_INTERVAL:
            self._send_transport_feedback(now)  # packets stopped coming: report the last

    # -- data channel -------------------------------------------------------------------

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
        self._routes.clear()
        for track in self.tracks:
            for layer in track.layers:
                if layer.upstream is self:
                    layer.closed = True
