"""Which codecs producers and consumers negotiate, so packets forward unchanged.

A producer section is answered with one codec (Opus; VP8, else H.264 in packetization
mode 1) and its RTX; a consumer section offers exactly that codec (same clock rate and
format parameters) and RTX, so a packet is valid for the consumer once its header is
rewritten.
"""

from __future__ import annotations

from aiortc import RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters

__all__ = [
    "PRODUCER_MIME_TYPES",
    "codec_key",
    "consumer_codec_preferences",
    "is_rtx",
    "negotiated_codec",
    "producer_codec_preferences",
    "single_codec",
]


PRODUCER_MIME_TYPES: dict[str, tuple[str, ...]] = {
    "audio": ("audio/opus",),
    "video": ("video/VP8", "video/H264"),
}
"""Codecs the SFU accepts from producers, by kind, in order of preference (VP8 before
H.264 when a producer offers both; H.264 in the packetization-mode=1 profiles aiortc has)."""

PASSTHROUGH_MIME_TYPES = frozenset({"audio/opus", "video/vp8", "video/h264"})
"Codecs (lower-case MIME types) the SFU can forward."


def _capabilities(kind: str) -> list[RTCRtpCodecCapability]:
    capabilities = RTCRtpSender.getCapabilities(kind)
    return list(capabilities.codecs) if capabilities is not None else []


def is_rtx(codec: RTCRtpCodecCapability | RTCRtpCodecParameters) -> bool:
    """True for an RTX (retransmission) codec."""
    return codec.mimeType.lower().endswith("/rtx")


def producer_codec_preferences(kind: str) -> list[RTCRtpCodecCapability]:
    """Codec preferences for a producer transceiver: :data:`PRODUCER_MIME_TYPES` (+ RTX)."""
    wanted = [m.lower() for m in PRODUCER_MIME_TYPES.get(kind, ())]
    capabilities = _capabilities(kind)
    chosen = [c for m in wanted for c in capabilities if c.mimeType.lower() == m]
    if kind == "video":
        chosen += [c for c in capabilities if is_rtx(c)]
    return chosen


def consumer_codec_preferences(codec: RTCRtpCodecParameters) -> list[RTCRtpCodecCapability]:
    """Codec preferences for a consumer transceiver: exactly the producer's codec (+ RTX).

    Forwarding packets unchanged is only valid if the consumer negotiates the very codec
    (and, for H.264, the same profile and packetization) that the producer sends.
    """
    kind = codec.mimeType.split("/")[0].lower()
    capabilities = _capabilities(kind)
    same = [
        c
        for c in capabilities
        if c.mimeType.lower() == codec.mimeType.lower()
        and c.clockRate == codec.clockRate
        and c.parameters == codec.parameters
    ]
    if not same:
        raise ValueError(f"no local capability matches {codec.mimeType} {codec.parameters}")
    preferences = same[:1]
    rtx = next((c for c in capabilities if is_rtx(c)), None)
    if kind == "video" and rtx is not None:
        preferences.append(rtx)
    return preferences


def single_codec(codecs: list[RTCRtpCodecParameters]) -> list[RTCRtpCodecParameters]:
    """Keep only the first media codec of a negotiated list and its RTX codec.

    Answering with one codec per section means the producer cannot switch codecs
    mid-stream, so what its consumers negotiated stays valid.
    """
    first = negotiated_codec(codecs)
    if first is None:
        return codecs
    rtx = [c for c in codecs if is_rtx(c) and c.parameters.get("apt") == first.payloadType]
    return [first, *rtx[:1]]


def negotiated_codec(codecs: list[RTCRtpCodecParameters]) -> RTCRtpCodecParameters | None:
    """The media codec (not RTX) a transceiver negotiated: the first of its codecs."""
    return next((c for c in codecs if not is_rtx(c)), None)


def codec_key(codec: RTCRtpCodecParameters) -> tuple[str, ...]:
    """What must be equal for two producers' packets to fit one consumer section."""
    params = tuple(f"{k}={v}" for k, v in sorted(codec.parameters.items()))
    return (codec.mimeType.lower(), str(codec.clockRate), *params)
