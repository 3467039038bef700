"""Pass-through codec hooks: receive and send encoded media without decoding or encoding.

aiortc 1.16's :class:`~aiortc.RTCRtpReceiver` reassembles RTP packets into encoded frames
and hands each one to a decoder object obtained from the module global
``aiortc.rtcrtpreceiver.get_decoder``; its :class:`~aiortc.RTCRtpSender` gets an encoder
from ``aiortc.rtcrtpsender.get_encoder`` and, for anything that is not an ``av.Frame``,
only calls that encoder's ``pack()``. :func:`install` replaces both globals with selectors
that return a :class:`PassThroughDecoder` (encoded frame in, ``av.Packet`` out) or a
packer (``av.Packet`` in, RTP payloads out) for codecs marked with :func:`mark_codecs`, and
aiortc's real codecs for everything else. :func:`prepare_receiver` and
:func:`prepare_sender` mark the codecs of one receiver or sender, so peer connections that
are not the SFU's (e.g. test clients in the same process) keep decoding and encoding.

This is the only module that knows these aiortc internals; it is pinned to aiortc 1.16.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import aiortc.codecs
import av
from aiortc import rtcrtpreceiver, rtcrtpsender
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.mediastreams import convert_timebase
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.utils import uint16_add

__all__ = [
    "EncodedPacket",
    "ForwardingJitterBuffer",
    "H264Packer",
    "OpusPacker",
    "PASSTHROUGH_MIME_TYPES",
    "Packer",
    "PassThroughDecoder",
    "Vp8Packer",
    "install",
    "is_installed",
    "is_keyframe",
    "mark_codecs",
    "prepare_receiver",
    "prepare_sender",
]

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    EncodedPacket: TypeAlias = av.Packet[Any]
else:
    EncodedPacket = av.Packet
"An encoded frame as forwarded by the SFU: ``av.Packet`` with ``pts`` and ``time_base``."

PASSTHROUGH_MIME_TYPES = frozenset({"audio/opus", "video/vp8", "video/h264"})
"Codecs (lower-case MIME types) this module can forward without transcoding."

_MARK = "_arbiter_passthrough"
_VIDEO_TIME_BASE = Fraction(1, 90000)
_OPUS_TIME_BASE = Fraction(1, 48000)
_H264_IDR = 5


def is_keyframe(mime_type: str, data: bytes) -> bool:
    """True if ``data`` (one depacketized encoded frame) can be decoded on its own.

    VP8: bit 0 of the first byte of the frame tag is 0 for a key frame (RFC 6386 9.1).
    H.264: the access unit holds an IDR slice (NAL type 5). Audio frames are always
    independent.
    """
    mime = mime_type.lower()
    if mime == "video/vp8":
        return len(data) > 0 and data[0] & 0x01 == 0
    if mime == "video/h264":
        return any(nal and nal[0] & 0x1F == _H264_IDR for nal in _annexb_nal_units(data))
    return True


def _annexb_nal_units(data: bytes) -> Iterable[bytes]:
    """Split an Annex B byte stream (00 00 01 / 00 00 00 01 start codes) into NAL units."""
    return (unit.lstrip(b"\x00") for unit in data.split(b"\x00\x00\x01") if unit)


class PassThroughDecoder:
    """A "decoder" that returns each encoded frame as an ``av.Packet``, undecoded.

    The packet's ``pts`` is the frame's (origin-relative) RTP timestamp in the codec's
    clock and ``is_keyframe`` tells whether it starts a decodable sequence.
    """

    def __init__(self, codec: RTCRtpCodecParameters) -> None:
        self.mime_type = codec.mimeType.lower()
        self.time_base = Fraction(1, codec.clockRate)

    def decode(self, encoded_frame: JitterFrame) -> list[EncodedPacket]:
        """Wrap ``encoded_frame`` in an ``av.Packet`` (runs in aiortc's decoder thread)."""
        data = encoded_frame.data
        if not data:
            return []
        packet = av.Packet(data)
        packet.pts = encoded_frame.timestamp
        packet.time_base = self.time_base
        packet.is_keyframe = is_keyframe(self.mime_type, data)
        return [packet]


class Packer(Protocol):
    """What :class:`~aiortc.RTCRtpSender` needs from an "encoder" fed with ``av.Packet``."""

    def pack(self, packet: EncodedPacket) -> tuple[list[bytes], int]:
        """RTP payloads for ``packet`` and its timestamp in the codec's clock."""
        ...

    def encode(self, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        """Never used: the SFU only sends packets."""
        ...


class _PackerBase:
    def encode(self, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        """Refuse raw frames: a pass-through sender must only be fed ``av.Packet``."""
        raise RuntimeError("the SFU forwards encoded packets and never encodes frames")


class Vp8Packer(_PackerBase):
    """Packetizes VP8 frames (RFC 7741) with its own picture id, like aiortc's encoder."""

    def __init__(self) -> None:
        self.picture_id = random.randint(0, (1 << 15) - 1)

    def pack(self, packet: EncodedPacket) -> tuple[list[bytes], int]:
        """RTP payloads for one VP8 frame and its 90 kHz timestamp."""
        payloads: list[bytes] = Vp8Encoder._packetize(bytes(packet), self.picture_id)
        self.picture_id = (self.picture_id + 1) % (1 << 15)
        return payloads, _timestamp(packet, _VIDEO_TIME_BASE)


class H264Packer(_PackerBase):
    """Packetizes an H.264 Annex B access unit (RFC 6184, STAP-A / FU-A)."""

    def pack(self, packet: EncodedPacket) -> tuple[list[bytes], int]:
        """RTP payloads for one access unit and its 90 kHz timestamp."""
        nal_units = H264Encoder._split_bitstream(bytes(packet))
        payloads: list[bytes] = H264Encoder._packetize(nal_units)
        return payloads, _timestamp(packet, _VIDEO_TIME_BASE)


class OpusPacker(_PackerBase):
    """One Opus packet per RTP packet (RFC 7587)."""

    def pack(self, packet: EncodedPacket) -> tuple[list[bytes], int]:
        """The packet's bytes and its 48 kHz timestamp."""
        return [bytes(packet)], _timestamp(packet, _OPUS_TIME_BASE)


def _timestamp(packet: EncodedPacket, to_base: Fraction) -> int:
    return convert_timebase(int(packet.pts or 0), packet.time_base, to_base)


_PACKERS: dict[str, Callable[[], Packer]] = {
    "video/vp8": Vp8Packer,
    "video/h264": H264Packer,
    "audio/opus": OpusPacker,
}

_DECODER_GLOBAL = "get_decoder"
_ENCODER_GLOBAL = "get_encoder"


def _is_marked(codec: RTCRtpCodecParameters) -> bool:
    return bool(getattr(codec, _MARK, False))


def _select_decoder(codec: RTCRtpCodecParameters) -> Any:
    if _is_marked(codec):
        return PassThroughDecoder(codec)
    return aiortc.codecs.get_decoder(codec)


def _select_encoder(codec: RTCRtpCodecParameters) -> Any:
    if _is_marked(codec):
        factory = _PACKERS.get(codec.mimeType.lower())
        if factory is None:
            raise ValueError(f"cannot forward {codec.mimeType} without transcoding")
        return factory()
    return aiortc.codecs.get_encoder(codec)


def install() -> None:
    """Route aiortc's decoder/encoder lookups through the pass-through selectors.

    Idempotent. Codecs that are not marked still get aiortc's real decoders and encoders.
    """
    if is_installed():
        return
    setattr(rtcrtpreceiver, _DECODER_GLOBAL, _select_decoder)
    setattr(rtcrtpsender, _ENCODER_GLOBAL, _select_encoder)
    logger.debug("pass-through codec hooks installed")


def is_installed() -> bool:
    """True if :func:`install` is in effect."""
    return (
        getattr(rtcrtpreceiver, _DECODER_GLOBAL) is _select_decoder
        and getattr(rtcrtpsender, _ENCODER_GLOBAL) is _select_encoder
    )


def mark_codecs(codecs: Iterable[RTCRtpCodecParameters]) -> None:
    """Mark negotiated codec objects so the selectors pass their media through."""
    for codec in codecs:
        setattr(codec, _MARK, True)


class ForwardingJitterBuffer(JitterBuffer):
    """aiortc's jitter buffer, handing frames over as soon as they are complete.

    aiortc's own buffer finds the end of a video frame only when the first packet of the
    next frame arrives, which holds every frame one frame interval (33 ms at 30 fps), and
    it holds 4 audio packets (80 ms) before the first goes out: right for a decoder that
    plays media, wasted for an SFU that forwards it. Here a video frame is complete at its
    RTP marker bit (the last packet of a VP8 or H.264 access unit) or, as before, when the
    next frame starts; an audio packet is forwarded as it arrives (the receiver's decoder
    conceals a lost one).
    """

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        origin = self._origin
        assert origin is not None
        if not self._is_video:
            packet = self._packets[sequence_number % self._capacity]
            assert packet is not None
            self.remove(uint16_add(sequence_number, -origin) + 1)
            return JitterFrame(data=packet._data, timestamp=packet.timestamp)  # type: ignore[attr-defined]
        packets = []
        timestamp = None
        for count in range(self._capacity):
            packet = self._packets[(origin + count) % self._capacity]
            if packet is None:
                return None
            if timestamp is None:
                timestamp = packet.timestamp
            elif packet.timestamp != timestamp:
                self.remove(count)
                return _frame(packets, timestamp)
            packets.append(packet)
            if packet.marker:
                self.remove(count + 1)
                return _frame(packets, timestamp)
        return None


def _frame(packets: list[Any], timestamp: int) -> JitterFrame:
    return JitterFrame(data=b"".join(p._data for p in packets), timestamp=timestamp)


def prepare_receiver(receiver: rtcrtpreceiver.RTCRtpReceiver) -> None:
    """Make ``receiver`` deliver ``av.Packet`` (undecoded) to its track, frame by frame as
    soon as each is complete (:class:`ForwardingJitterBuffer`).

    Call before the receiver starts, i.e. right after ``setRemoteDescription``.
    aiortc calls ``receiver.receive(parameters)`` once connected; the wrapper marks the
    negotiated codecs before the decoder thread first asks for a decoder.
    """
    install()
    old = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    receiver._RTCRtpReceiver__jitter_buffer = ForwardingJitterBuffer(  # type: ignore[attr-defined]
        capacity=old.capacity, is_video=old._is_video
    )
    original: Callable[[Any], Awaitable[None]] = receiver.receive

    async def receive(parameters: Any) -> None:
        mark_codecs(parameters.codecs)
        await original(parameters)

    receiver.receive = receive  # type: ignore[method-assign]


def prepare_sender(
    sender: rtcrtpsender.RTCRtpSender, on_keyframe_request: Callable[[], None]
) -> None:
    """Make ``sender`` packetize ``av.Packet`` without an encoder; route PLI/FIR.

    aiortc calls ``sender._send_keyframe()`` when the remote end sends PLI or FIR; with no
    encoder to force a key frame, ``on_keyframe_request`` is called instead (the
    forwarder asks the producer for one).
    """
    install()
    original: Callable[[Any], Awaitable[None]] = sender.send

    async def send(parameters: Any) -> None:
        mark_codecs(parameters.codecs)
        await original(parameters)

    sender.send = send  # type: ignore[method-assign]
    sender._send_keyframe = on_keyframe_request  # type: ignore[method-assign]
