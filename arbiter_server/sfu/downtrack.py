"""DownTrack: one media section of a consumer connection, sending one published track.

It keeps what its subscriber's receiver sees as one RTP stream (its SSRC, continuous
sequence numbers and timestamps, VP8 picture ids) whatever feeds it: one layer of a
simulcast track, another layer after a switch, a new producer connection after the
publisher reconnected, or another track after the media section was reused.

A new stream starts at once from its layer's latest key frame when that came less than
:data:`~.layer.CATCH_UP_WINDOW` ago (:meth:`.Layer.catch_up`), and asks for a key frame
otherwise. Switching (to another layer, or to a new source) happens at the first packet of
a key frame of the target layer; until then the current layer keeps flowing. At the switch the
offsets are set so that the next sequence number follows the last one sent (skipping one
if the last frame was left incomplete, so the receiver knows) and the timestamp advances
by the time elapsed since the last packet; VP8 PictureID and TL0PICIDX continue from the
last ones sent. Retransmission requests (NACK) are answered from the layer's history with
the offsets in force when the packet was first sent, over RTX if negotiated.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass

from arbiter_protocol import Quality

from .aiortc_hooks import SendParameters, SrtpTransport
from .forwarder import TrackForwarder
from .layer import Layer
from .packet import Packet
from .rtp import (
    ABS_SEND_TIME_URI,
    AUDIO_LEVEL_URI,
    RTP_HEADER,
    abs_send_time,
    build_sr,
    extension_block,
    ntp_time,
    payload_start,
    random_sequence,
    random_timestamp,
    vp8_descriptor,
)

__all__ = ["QUALITY_LAYER", "DownTrack", "DownTrackStats"]

logger = logging.getLogger(__name__)

QUALITY_LAYER: dict[Quality, int] = {"low": 0, "medium": 1, "high": 2}
"The layer index each quality asks for (capped by the layers a track has)."

RESEND_SPACING = 0.1
"Seconds before the same packet is retransmitted to the same consumer again."

_pack = RTP_HEADER.pack


@dataclass(frozen=True)
class _Epoch:
    """The offsets in force from one switch on (for retransmissions)."""

    out_start: int
    layer: Layer
    seq_offset: int
    ts_offset: int
    picture_offset: int
    tl0_offset: int


@dataclass(frozen=True)
class DownTrackStats:
    """Counters of one :class:`DownTrack`."""

    packets: int
    "RTP packets sent (retransmissions not included)."
    octets: int
    "Payload bytes sent."
    retransmitted: int
    "Packets sent again after a NACK."
    switches: int
    "Times the stream switched layer or source (the first start included)."
    layer: int | None
    "Index of the layer being sent, if any."
    target: int | None
    "Index of the layer wanted."
    paused: bool
    "Whether the subscriber paused it."
    fraction_lost: int
    "Loss the subscriber last reported, in 1/256."


class DownTrack:
    """One consumer media section (see the module docstring).

    **Parameters:** the ``kind`` of media it carries and the ``(media, rtx)`` SSRCs its
    sender announced in the SDP.
    """

    def __init__(self, kind: str, ssrc: int, rtx_ssrc: int) -> None:
        self.kind = kind
        self.ssrc = ssrc
        self.rtx_ssrc = rtx_ssrc
        self.mid: str | None = None
        "The media section, once negotiated."
        self.forwarder: TrackForwarder | None = None
        "The track it carries."
        self.paused = False
        "True while the subscriber does not want this track."
        self.quality: Quality = "high"
        "The layer the subscriber asked for."
        self.max_layer = 2
        "The highest layer the subscriber's bandwidth allows (set by its connection)."
        self.layer: Layer | None = None
        "The layer being sent."
        self.target: Layer | None = None
        "The layer wanted (the same as ``layer`` unless a switch is pending)."
        self.activated_at: float | None = None
        "When the connection could first send on this section (monotonic)."
        self.first_keyframe_at: float | None = None
        "When the first key frame was sent (monotonic)."
        self.fraction_lost = 0
        "Loss the subscriber last reported for this stream, in 1/256."
        self.rtt: float | None = None
        "Round-trip time from the subscriber's last report, in seconds."
        self._transport: SrtpTransport | None = None
        self._pt = 0
        self._rtx_pt: int | None = None
        self._clock = 90000 if kind == "video" else 48000
        self._ext_id = 0
        self._vp8 = False
        self._started = False
        self._seq_off = 0
        self._ts_off = 0
        self._pic_off = 0
        self._tl0_off = 0
        self._rewrite = False
        self._last_seq = 0
        self._last_ts = 0
        self._last_at = 0.0
        self._last_marker = True
        self._last_pic = -1
        self._last_tl0 = -1
        self._in_start = 0
        self._check_old = False
        self._epochs: deque[_Epoch] = deque(maxlen=4)
        self._resent: dict[int, float] = {}
        self._rtx_seq = random_sequence()
        self._packets = 0
        self._octets = 0
        self._retransmitted = 0
        self._switches = 0
        self._sr_ntp = 0
        self._sr_at = 0.0

    def __repr__(self) -> str:
        source = self.forwarder.label if self.forwarder else "-"
        return f"DownTrack({self.kind} mid={self.mid} ssrc={self.ssrc} <- {source})"

    @property
    def active(self) -> bool:
        """True once the connection negotiated this section and DTLS is up."""
        return self._transport is not None

    # -- wiring ---------------------------------------------------------------------------

    def activate(self, parameters: SendParameters, transport: SrtpTransport) -> None:
        """The connection can send on this section (its sender "started")."""
        self.mid = parameters.mid
        self._pt = parameters.payload_type
        self._rtx_pt = parameters.rtx_payload_type
        self._clock = parameters.clock_rate
        self._vp8 = parameters.mime_type == "video/vp8"
        uri = ABS_SEND_TIME_URI if self.kind == "video" else AUDIO_LEVEL_URI
        self._ext_id = parameters.extensions.get(uri, 0)
        first = self._transport is None
        self._transport = transport
        if first:
            self.activated_at = time.monotonic()
            self.select()

    def attach(self, forwarder: TrackForwarder) -> None:
        """Carry ``forwarder``'s track from now on (the section keeps its stream)."""
        if self.forwarder is forwarder:
            return
        self.detach()
        self.forwarder = forwarder
        forwarder.attach(self)
        self.first_keyframe_at = None
        self.select()

    def detach(self) -> None:
        """Carry nothing (the section is about to be made inactive or reused)."""
        forwarder = self.forwarder
        self._set_target(None)
        self.forwarder = None
        self._epochs.clear()  # what was sent can no longer be sent again
        if forwarder is not None:
            forwarder.detach(self)

    def source_changed(self) -> None:
        """The forwarder took a new producer's layers: continue on one of them."""
        self.layer = None
        self.target = None
        self._epochs.clear()  # the old layers and their history are gone
        self.select()

    def set_wish(self, receive: bool, quality: Quality) -> None:
        """What the subscriber wants: receive or pause, and at which quality."""
        resumed = self.paused and receive
        self.paused = not receive
        self.quality = quality
        if resumed:
            logger.debug("%r resumed", self)
        self.select()

    # -- layer choice ---------------------------------------------------------------------

    def wanted_layer(self) -> int:
        """The layer index asked for: the quality, capped by bandwidth."""
        return min(QUALITY_LAYER[self.quality], self.max_layer)

    def select(self) -> None:
        """Pick the layer to send from the wish, the bandwidth and what the producer sends."""
        forwarder = self.forwarder
        if (
            forwarder is None
            or forwarder.closed
            or forwarder.muted  # a moderator holds it muted
            or self.paused
            or self._transport is None
        ):
            self._set_target(None)
            return
        layers = forwarder.layers
        if not layers:
            self._set_target(None)
            return
        if len(layers) == 1:
            self._set_target(layers[0])
            return
        wanted = min(self.wanted_layer(), len(layers) - 1)
        young = time.monotonic() - forwarder.published_at < 2.0
        usable = [
            layer
            for layer in layers[: wanted + 1]
            if young or layer.active or forwarder.paused_on_request(layer)
        ]
        if not usable:  # nothing at or below the wish is sent: the lowest that is
            usable = [next((layer for layer in layers if layer.active), layers[0])]
        self._set_target(usable[-1])

    def _set_target(self, layer: Layer | None) -> None:
        if layer is self.target:
            return
        old = self.target
        self.target = layer
        if old is not None and old is not self.layer:
            old.remove_sink(self)
        if layer is None:
            current = self.layer
            self.layer = None
            if current is not None:
                current.remove_sink(self)
            return
        layer.add_sink(self)
        if layer is not self.layer and self.kind == "video":
            if self._started or not self._catch_up(layer):
                layer.request_keyframe()

    def _catch_up(self, layer: Layer) -> bool:
        """Start this new stream from ``layer``'s latest key frame if it is recent enough
        (see :meth:`.Layer.catch_up`); True if it started."""
        packets = layer.catch_up()
        if not packets:
            return False
        for packet in packets:
            self.write(packet)
        if self.layer is not layer:
            return False
        logger.debug("%r: started from a key frame %d packets back", self, len(packets))
        return True

    # -- the hot path ---------------------------------------------------------------------

    def write(self, packet: Packet[Layer]) -> None:
        """Send ``packet`` (of one of the forwarder's layers) if it belongs to this stream."""
        if packet.layer is not self.layer:
            if packet.layer is not self.target or not packet.key:
                return
            self._switch(packet)
        elif self._check_old:
            distance = (packet.seq - self._in_start) & 0xFFFF
            if distance >= 0x8000:
                return  # sent before the switch: it belongs to the previous stream
            if distance > 512:
                self._check_old = False
        first, tail = packet.tail(self._ext_id)
        if self._rewrite and packet.picture_id >= 0:
            tail = self._vp8_rewritten(tail, len(tail) - len(packet.data) + packet.offset)
        seq = (packet.seq + self._seq_off) & 0xFFFF
        ts = (packet.ts + self._ts_off) & 0xFFFFFFFF
        transport = self._transport
        assert transport is not None
        if transport.send_rtp(
            _pack(first, (packet.b1 & 0x80) | self._pt, seq, ts, self.ssrc) + tail
        ):
            self._packets += 1
            self._octets += len(tail)
        if (seq - self._last_seq) & 0xFFFF < 0x8000:
            self._last_seq = seq
            self._last_ts = ts
            self._last_at = packet.arrival
            self._last_marker = bool(packet.b1 & 0x80)
            if packet.picture_id >= 0:
                self._last_pic = (packet.picture_id + self._pic_off) & 0x7FFF
                if packet.tl0 >= 0:
                    self._last_tl0 = (packet.tl0 + self._tl0_off) & 0xFF

    def _switch(self, packet: Packet[Layer]) -> None:
        """Start sending ``packet``'s layer, continuing this stream's numbering."""
        if self._started:
            elapsed = max(0.0, packet.arrival - self._last_at)
            ts_out = (self._last_ts + max(1, int(elapsed * self._clock))) & 0xFFFFFFFF
            # one sequence number is skipped when the last frame was not finished, so
            # the receiver does not wait for (or try to decode) the rest of it
            skip = 1 if self._last_marker or self.kind == "audio" else 2
            seq_out = (self._last_seq + skip) & 0xFFFF
        else:
            self._started = True
            ts_out = random_timestamp()
            seq_out = random_sequence()
        self._seq_off = (seq_out - packet.seq) & 0xFFFF
        self._ts_off = (ts_out - packet.ts) & 0xFFFFFFFF
        if self._vp8 and packet.picture_id >= 0 and self._last_pic >= 0:
            self._pic_off = (self._last_pic + 1 - packet.picture_id) & 0x7FFF
            if packet.tl0 >= 0 and self._last_tl0 >= 0:
                self._tl0_off = (self._last_tl0 + 1 - packet.tl0) & 0xFF
            else:
                self._tl0_off = 0
        else:
            self._pic_off = self._tl0_off = 0
        self._rewrite = bool(self._pic_off or self._tl0_off)
        self._epochs.append(
            _Epoch(seq_out, packet.layer, self._seq_off, self._ts_off, self._pic_off, self._tl0_off)
        )
        old = self.layer
        self.layer = packet.layer
        if old is not None and old is not self.target:
            old.remove_sink(self)
        self._in_start = packet.seq
        self._check_old = True
        self._switches += 1
        if self.kind == "video" and self.first_keyframe_at is None:
            self.first_keyframe_at = time.monotonic()
        logger.debug("%r: now layer %d (seq %d, ts %d)", self, packet.layer.index, seq_out, ts_out)

    def fill(self, layer: Layer, seq: int, ts: int) -> None:
        """Send a padding-only packet in place of ``layer``'s lost packet ``seq``."""
        if layer is not self.layer or self._transport is None:
            return
        if (seq - self._in_start) & 0xFFFF >= 0x8000:
            return  # before this stream's switch to the layer: never numbered here
        out_seq = (seq + self._seq_off) & 0xFFFF
        out_ts = (ts + self._ts_off) & 0xFFFFFFFF
        # P bit set, one byte of padding (its own count)
        self._transport.send_rtp(_pack(0xA0, self._pt, out_seq, out_ts, self.ssrc) + b"\x01")

    def _vp8_rewritten(self, tail: bytes, start: int) -> bytes:
        """``tail`` with the VP8 PictureID/TL0PICIDX at ``start`` shifted by the offsets."""
        try:
            _, pid_at, width, tl0_at = vp8_descriptor(tail, start)
        except IndexError:
            return tail
        out = bytearray(tail)
        if width == 2:
            value = ((((out[pid_at] & 0x7F) << 8) | out[pid_at + 1]) + self._pic_off) & 0x7FFF
            out[pid_at] = 0x80 | (value >> 8)
            out[pid_at + 1] = value & 0xFF
        elif width == 1:
            out[pid_at] = ((out[pid_at] & 0x7F) + self._pic_off) & 0x7F
        if tl0_at:
            out[tl0_at] = (out[tl0_at] + self._tl0_off) & 0xFF
        return bytes(out)

    # -- feedback from the subscriber -----------------------------------------------------

    def retransmit(self, sequence_numbers: list[int]) -> None:
        """Answer a NACK: send the packets again (over RTX if negotiated)."""
        transport = self._transport
        if transport is None or not self._epochs:
            return
        now = time.monotonic()
        resent = self._resent
        if len(resent) > 512:
            for seq, at in list(resent.items()):
                if now - at > RESEND_SPACING:
                    del resent[seq]
        for seq in sequence_numbers:
            if (self._last_seq - seq) & 0xFFFF >= 0x8000:
                continue  # not sent yet
            sent_at = resent.get(seq)
            if sent_at is not None and now - sent_at < RESEND_SPACING:
                continue
            packet = self._original(seq)
            if packet is None:
                continue
            resent[seq] = now
            if transport.send_rtp(packet):
                self._retransmitted += 1

    def _original(self, seq: int) -> bytes | None:
        """The packet this stream sent as ``seq``, rebuilt from the layer's history."""
        epoch = next(
            (e for e in reversed(self._epochs) if (seq - e.out_start) & 0xFFFF < 0x8000), None
        )
        if epoch is None:
            return None
        data = epoch.layer.packet((seq - epoch.seq_offset) & 0xFFFF)
        if data is None:
            return None
        b0, b1, _, ts, _ = RTP_HEADER.unpack_from(data)
        try:
            offset = payload_start(data)[0]
        except ValueError:
            return None
        payload = data[offset:]
        if self._vp8 and (epoch.picture_offset or epoch.tl0_offset):
            saved = self._pic_off, self._tl0_off
            self._pic_off, self._tl0_off = epoch.picture_offset, epoch.tl0_offset
            payload = self._vp8_rewritten(payload, 0)
            self._pic_off, self._tl0_off = saved
        ext = b""
        if self._ext_id and self.kind == "video":
            ext = extension_block([(self._ext_id, abs_send_time(time.time()))])
        first = 0x80 | (b0 & 0x20) | (0x10 if ext else 0)
        ts_out = (ts + epoch.ts_offset) & 0xFFFFFFFF
        marker = b1 & 0x80
        if self._rtx_pt is not None:
            self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
            header = _pack(first, marker | self._rtx_pt, self._rtx_seq, ts_out, self.rtx_ssrc)
            return header + ext + seq.to_bytes(2, "big") + payload
        return _pack(first, marker | self._pt, seq, ts_out, self.ssrc) + ext + payload

    def keyframe_requested(self) -> None:
        """The subscriber lost picture (PLI/FIR): ask the producer for a key frame."""
        layer = self.layer or self.target
        if layer is not None:
            layer.request_keyframe()

    def report(self, fraction_lost: int, lsr: int, dlsr: int) -> None:
        """The subscriber's reception report block about this stream."""
        self.fraction_lost = fraction_lost
        if lsr and lsr == self._sr_ntp:
            self.rtt = max(0.0, time.monotonic() - self._sr_at - dlsr / 65536)

    def sender_report(self, now: float) -> bytes | None:
        """An RTCP SR for this stream (None before anything was sent)."""
        if not self._packets:
            return None
        elapsed = max(0.0, now - self._last_at) if self.layer is not None else 0.0
        rtp_ts = (self._last_ts + int(elapsed * self._clock)) & 0xFFFFFFFF
        ntp = ntp_time(time.time())
        self._sr_ntp = (ntp >> 16) & 0xFFFFFFFF
        self._sr_at = now
        return build_sr(self.ssrc, ntp, rtp_ts, self._packets, self._octets)

    def stats(self) -> DownTrackStats:
        """Current counters."""
        return DownTrackStats(
            packets=self._packets,
            octets=self._octets,
            retransmitted=self._retransmitted,
            switches=self._switches,
            layer=self.layer.index if self.layer is not None else None,
            target=self.target.index if self.target is not None else None,
            paused=self.paused,
            fraction_lost=self.fraction_lost,
        )

    def close(self) -> None:
        """The connection closed: detach, send nothing more."""
        self.detach()
        self._transport = None
