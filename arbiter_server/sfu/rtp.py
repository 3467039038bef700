"""RTP and RTCP on the wire: header fields, header extensions, payload descriptors, feedback.

Plain functions over ``bytes`` with :mod:`struct`, no objects per packet: the SFU reads
what it needs of each packet (RFC 3550 header, RFC 8285 extensions, the VP8 payload
descriptor of RFC 7741, H.264 NAL unit types of RFC 6184) and builds the RTCP it sends
(RFC 3550 SR/RR, RFC 4585 NACK and PLI, RFC 5104 FIR, REMB). Nothing here knows aiortc.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = [
    "ABS_SEND_TIME_URI",
    "AUDIO_LEVEL_URI",
    "MID_URI",
    "REPAIRED_RID_URI",
    "RID_URI",
    "RTP_HEADER",
    "Feedback",
    "ReportBlock",
    "abs_send_time",
    "build_bye",
    "build_fir",
    "build_nack",
    "build_pli",
    "build_remb",
    "build_rr",
    "build_sdes",
    "build_sr",
    "extension_block",
    "h264_keyframe",
    "is_rtcp",
    "nack_items",
    "ntp_time",
    "one_byte_extension",
    "parse_extensions",
    "parse_rtcp",
    "payload_start",
    "random_sequence",
    "random_timestamp",
    "vp8_descriptor",
    "vp8_keyframe",
]

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
RID_URI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
REPAIRED_RID_URI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

RTP_HEADER = struct.Struct("!BBHII")
"The fixed 12 bytes: V/P/X/CC, M/PT, sequence number, timestamp, SSRC."

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_EXT_HEADER = struct.Struct("!HH")
_RTCP_HEADER = struct.Struct("!BBH")
_SR = struct.Struct("!BBHIIIIII")
_BLOCK = struct.Struct("!IIIIII")
_FB = struct.Struct("!BBHII")
_NTP_EPOCH = 2208988800  # seconds from 1900 to 1970


def is_rtcp(data: bytes) -> bool:
    """True for RTCP (packet types 192..223 in byte 1, RFC 5761 demultiplexing)."""
    return len(data) >= 2 and 192 <= data[1] <= 223


def payload_start(data: bytes) -> tuple[int, int, int]:
    """``(payload offset, extension block offset, extension block end)`` of an RTP packet.

    The extension offsets are both 0 when the packet has no header extension. Raises
    ``ValueError`` for a packet too short for what its header announces.
    """
    b0 = data[0]
    offset = 12 + 4 * (b0 & 0x0F)
    ext_start = ext_end = 0
    if b0 & 0x10:
        if len(data) < offset + 4:
            raise ValueError("RTP header extension truncated")
        words = _EXT_HEADER.unpack_from(data, offset)[1]
        ext_start = offset
        ext_end = offset + 4 + 4 * words
        offset = ext_end
    if len(data) < offset:
        raise ValueError("RTP header truncated")
    return offset, ext_start, ext_end


def parse_extensions(data: bytes, start: int, end: int) -> dict[int, bytes]:
    """The header extension elements (RFC 8285, one- and two-byte forms) by id."""
    out: dict[int, bytes] = {}
    if not start:
        return out
    profile = _U16.unpack_from(data, start)[0]
    pos = start + 4
    if profile == 0xBEDE:
        while pos < end:
            head = data[pos]
            if head == 0:  # padding
                pos += 1
                continue
            ident, length = head >> 4, (head & 0x0F) + 1
            if ident == 15:
                break
            out[ident] = bytes(data[pos + 1 : pos + 1 + length])
            pos += 1 + length
    elif profile & 0xFFF0 == 0x1000:
        while pos + 1 < end:
            ident = data[pos]
            if ident == 0:
                pos += 1
                continue
            length = data[pos + 1]
            out[ident] = bytes(data[pos + 2 : pos + 2 + length])
            pos += 2 + length
    return out


def one_byte_extension(data: bytes, start: int, end: int, ident: int) -> bytes | None:
    """The value of one-byte header extension ``ident`` (RFC 8285 4.2), if present."""
    if int.from_bytes(data[start : start + 2], "big") != 0xBEDE:
        return None
    pos = start + 4
    while pos < end:
        head = data[pos]
        if head == 0:
            pos += 1
            continue
        length = (head & 0x0F) + 1
        if head >> 4 == ident:
            return bytes(data[pos + 1 : pos + 1 + length])
        if head >> 4 == 15:
            return None
        pos += 1 + length
    return None


def extension_block(elements: Iterable[tuple[int, bytes]]) -> bytes:
    """An RTP header extension block, one-byte form (RFC 8285 4.2), padded to 32 bits.

    Elements are ``(id, value)`` with id 1..14 and 1..16 bytes; nothing yields ``b""``.
    """
    body = b"".join(bytes([(ident << 4) | (len(value) - 1)]) + value for ident, value in elements)
    if not body:
        return b""
    body += b"\x00" * (-len(body) % 4)
    return _EXT_HEADER.pack(0xBEDE, len(body) // 4) + body


def abs_send_time(now: float) -> bytes:
    """The 3-byte abs-send-time value (6.18 fixed point seconds, 24 bits) for ``now``."""
    value = int(now * (1 << 18)) & 0xFFFFFF
    return value.to_bytes(3, "big")


def ntp_time(unix: float) -> int:
    """64-bit NTP timestamp for a Unix time in seconds."""
    return int((unix + _NTP_EPOCH) * (1 << 32)) & 0xFFFFFFFFFFFFFFFF


# -- codecs -------------------------------------------------------------------------------


def vp8_descriptor(payload: bytes, start: int) -> tuple[int, int, int, int]:
    """Parse the VP8 payload descriptor (RFC 7741 4.2) at ``start``.

    Returns ``(header length, picture id offset, picture id width, tl0picidx offset)``:
    width is 0 (no PictureID), 1 (7 bits) or 2 (15 bits, M bit set); an offset is 0 when
    the field is absent. Raises ``IndexError`` for a truncated descriptor.
    """
    pos = start + 1
    pid_at = pid_width = tl0_at = 0
    if payload[start] & 0x80:  # X: extended control bits follow
        ext = payload[pos]
        pos += 1
        if ext & 0x80:  # I: PictureID
            pid_at = pos
            pid_width = 2 if payload[pos] & 0x80 else 1
            pos += pid_width
        if ext & 0x40:  # L: TL0PICIDX
            tl0_at = pos
            pos += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX byte
            pos += 1
    if pos > len(payload):
        raise IndexError("VP8 payload descriptor truncated")
    return pos - start, pid_at, pid_width, tl0_at


def vp8_keyframe(payload: bytes, start: int) -> bool:
    """True if the packet starts a VP8 key frame: S=1, partition 0, P bit clear."""
    if len(payload) <= start:
        return False
    head = payload[start]
    if not head & 0x10 or head & 0x07:  # not the start of partition 0
        return False
    try:
        length = vp8_descriptor(payload, start)[0]
    except IndexError:
        return False
    at = start + length
    return at < len(payload) and payload[at] & 0x01 == 0


_H264_KEY_NALS = (5, 7)  # IDR slice, SPS


def h264_keyframe(payload: bytes, start: int) -> bool:
    """True if the packet carries the start of an H.264 IDR access unit (or its SPS).

    Single NAL units of type 5/7, a STAP-A aggregating one of them, or the first
    fragment (FU-A with S set) of one.
    """
    if len(payload) <= start:
        return False
    nal = payload[start] & 0x1F
    if nal in _H264_KEY_NALS:
        return True
    if nal == 24:  # STAP-A: 16-bit size, NAL unit, ...
        pos = start + 1
        while pos + 2 < len(payload):
            size = _U16.unpack_from(payload, pos)[0]
            if size == 0:
                break
            if payload[pos + 2] & 0x1F in _H264_KEY_NALS:
                return True
            pos += 2 + size
        return False
    if nal == 28 and len(payload) > start + 1:  # FU-A
        header = payload[start + 1]
        return bool(header & 0x80) and header & 0x1F in _H264_KEY_NALS
    return False


# -- RTCP ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportBlock:
    """One reception report (RFC 3550 6.4.1) in an SR or RR."""

    ssrc: int
    "Source the block is about."
    fraction_lost: int
    "Fraction of packets lost since the last report, in 1/256."
    packets_lost: int
    "Cumulative number of packets lost (24 bits, signed)."
    highest_sequence: int
    "Extended highest sequence number received."
    jitter: int
    "Interarrival jitter, in timestamp units."
    lsr: int
    "Middle 32 bits of the NTP time of the last SR received from the source."
    dlsr: int
    "Delay since that SR, in 1/65536 s."


@dataclass
class Feedback:
    """What one RTCP compound packet says, sorted by use."""

    nacks: list[tuple[int, list[int]]] = field(default_factory=list)
    "``(media ssrc, lost sequence numbers)`` per generic NACK."
    keyframe_requests: list[int] = field(default_factory=list)
    "Media SSRCs asked for a key frame (PLI or FIR)."
    remb: tuple[int, list[int]] | None = None
    "``(bitrate bps, ssrcs)`` of the last REMB."
    reports: list[ReportBlock] = field(default_factory=list)
    "Reception report blocks (from SR and RR)."
    sender_reports: list[tuple[int, int, int]] = field(default_factory=list)
    "``(ssrc, ntp, rtp timestamp)`` per SR."
    byes: list[int] = field(default_factory=list)
    "SSRCs that said goodbye."


def parse_rtcp(data: bytes) -> Feedback:
    """Read an RTCP compound packet; unknown types are skipped, truncation ends it."""
    out = Feedback()
    pos = 0
    size = len(data)
    while pos + 4 <= size:
        first, ptype, words = _RTCP_HEADER.unpack_from(data, pos)
        end = pos + 4 + 4 * words
        if first >> 6 != 2 or end > size:
            break
        count = first & 0x1F
        if ptype in (200, 201):  # SR, RR
            at = pos + 8
            if ptype == 200 and end >= pos + 28:
                ssrc = _U32.unpack_from(data, pos + 4)[0]
                ntp_hi, ntp_lo, rtp_ts = struct.unpack_from("!III", data, pos + 8)
                out.sender_reports.append((ssrc, (ntp_hi << 32) | ntp_lo, rtp_ts))
                at = pos + 28
            for _ in range(count):
                if at + 24 > end:
                    break
                ssrc, loss, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(data, at)
                cumulative = loss & 0xFFFFFF
                if cumulative & 0x800000:
                    cumulative -= 1 << 24
                out.reports.append(
                    ReportBlock(ssrc, loss >> 24, cumulative, highest, jitter, lsr, dlsr)
                )
                at += 24
        elif ptype == 203:  # BYE
            for i in range(count):
                if pos + 8 + 4 * i <= end:
                    out.byes.append(_U32.unpack_from(data, pos + 4 + 4 * i)[0])
        elif ptype == 205 and count == 1 and end >= pos + 12:  # generic NACK
            media = _U32.unpack_from(data, pos + 8)[0]
            lost: list[int] = []
            at = pos + 12
            while at + 4 <= end:
                pid, blp = struct.unpack_from("!HH", data, at)
                lost.append(pid)
                lost.extend((pid + i + 1) & 0xFFFF for i in range(16) if blp >> i & 1)
                at += 4
            out.nacks.append((media, lost))
        elif ptype == 206 and end >= pos + 12:
            media = _U32.unpack_from(data, pos + 8)[0]
            if count == 1:  # PLI
                out.keyframe_requests.append(media)
            elif count == 4:  # FIR: the FCI names the SSRC
                at = pos + 12
                while at + 8 <= end:
                    out.keyframe_requests.append(_U32.unpack_from(data, at)[0])
                    at += 8
            elif count == 15 and end >= pos + 20 and data[pos + 12 : pos + 16] == b"REMB":
                num = data[pos + 16]
                exp = data[pos + 17] >> 2
                mantissa = ((data[pos + 17] & 0x03) << 16) | _U16.unpack_from(data, pos + 18)[0]
                ssrcs = [
                    _U32.unpack_from(data, pos + 20 + 4 * i)[0]
                    for i in range(num)
                    if pos + 24 + 4 * i <= end
                ]
                out.remb = (mantissa << exp, ssrcs)
        pos = end
    return out


def _pad_header(first: int, ptype: int, body: bytes) -> bytes:
    return _RTCP_HEADER.pack(first, ptype, len(body) // 4) + body


def _blocks(blocks: Iterable[ReportBlock]) -> bytes:
    return b"".join(
        _BLOCK.pack(
            b.ssrc,
            (b.fraction_lost & 0xFF) << 24 | (b.packets_lost & 0xFFFFFF),
            b.highest_sequence & 0xFFFFFFFF,
            b.jitter & 0xFFFFFFFF,
            b.lsr & 0xFFFFFFFF,
            b.dlsr & 0xFFFFFFFF,
        )
        for b in blocks
    )


def build_sr(
    ssrc: int,
    ntp: int,
    rtp_timestamp: int,
    packets: int,
    octets: int,
    blocks: Iterable[ReportBlock] = (),
) -> bytes:
    """An RTCP sender report (RFC 3550 6.4.1)."""
    listed = list(blocks)[:31]
    body = struct.pack(
        "!IIIIII",
        ssrc,
        ntp >> 32,
        ntp & 0xFFFFFFFF,
        rtp_timestamp & 0xFFFFFFFF,
        packets & 0xFFFFFFFF,
        octets & 0xFFFFFFFF,
    )
    return _pad_header(0x80 | len(listed), 200, body + _blocks(listed))


def build_rr(ssrc: int, blocks: Iterable[ReportBlock]) -> bytes:
    """An RTCP receiver report (RFC 3550 6.4.2)."""
    listed = list(blocks)[:31]
    return _pad_header(0x80 | len(listed), 201, _U32.pack(ssrc) + _blocks(listed))


def build_sdes(ssrc: int, cname: str) -> bytes:
    """An SDES packet with one CNAME chunk (RFC 3550 6.5)."""
    text = cname.encode()[:255]
    chunk = _U32.pack(ssrc) + bytes([1, len(text)]) + text + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    return _pad_header(0x81, 202, chunk)


def build_bye(ssrcs: Iterable[int]) -> bytes:
    """A BYE packet for ``ssrcs`` (RFC 3550 6.6)."""
    listed = list(ssrcs)[:31]
    return _pad_header(0x80 | len(listed), 203, b"".join(_U32.pack(s) for s in listed))


def build_pli(sender_ssrc: int, media_ssrc: int) -> bytes:
    """A Picture Loss Indication (RFC 4585 6.3.1)."""
    return _FB.pack(0x81, 206, 2, sender_ssrc, media_ssrc)


def build_fir(sender_ssrc: int, media_ssrc: int, sequence: int) -> bytes:
    """A Full Intra Request (RFC 5104 4.3.1) with one FCI entry."""
    return _FB.pack(0x84, 206, 4, sender_ssrc, 0) + struct.pack(
        "!IB3x", media_ssrc, sequence & 0xFF
    )


def nack_items(lost: Iterable[int]) -> Iterator[tuple[int, int]]:
    """Group lost sequence numbers into ``(PID, BLP)`` pairs (RFC 4585 6.2.1)."""
    pid: int | None = None
    blp = 0
    for seq in sorted(set(lost), key=lambda s: s & 0xFFFF):
        seq &= 0xFFFF
        if pid is not None and 0 < (seq - pid) & 0xFFFF <= 16:
            blp |= 1 << (((seq - pid) & 0xFFFF) - 1)
            continue
        if pid is not None:
            yield pid, blp
        pid, blp = seq, 0
    if pid is not None:
        yield pid, blp


def build_nack(sender_ssrc: int, media_ssrc: int, lost: Iterable[int]) -> bytes:
    """A generic NACK (RFC 4585 6.2.1) for ``lost`` sequence numbers."""
    items = b"".join(struct.pack("!HH", pid, blp) for pid, blp in nack_items(lost))
    return _FB.pack(0x81, 205, 2 + len(items) // 4, sender_ssrc, media_ssrc) + items


def build_remb(sender_ssrc: int, bitrate: int, ssrcs: Iterable[int]) -> bytes:
    """A REMB message (draft-alvestrand-rmcat-remb) for ``ssrcs`` at ``bitrate`` bps."""
    listed = list(ssrcs)[:255]
    exp = 0
    mantissa = max(0, int(bitrate))
    while mantissa > 0x3FFFF:
        mantissa >>= 1
        exp += 1
    fci = (
        b"REMB"
        + bytes([len(listed), (exp << 2) | (mantissa >> 16)])
        + _U16.pack(mantissa & 0xFFFF)
        + b"".join(_U32.pack(s) for s in listed)
    )
    return _FB.pack(0x8F, 206, 2 + len(fci) // 4, sender_ssrc, 0) + fci


def random_sequence() -> int:
    """A random first sequence number (below 2^15, as libwebrtc)."""
    return random.randint(0, 0x7FFF)


def random_timestamp() -> int:
    """A random first RTP timestamp."""
    return random.randint(0, 0xFFFFFFFF)
