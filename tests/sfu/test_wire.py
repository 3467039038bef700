"""Wire formats the SFU reads and writes itself: RTP/RTCP, simulcast SDP, codec choice."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from aiortc import RTCRtpSender
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import (
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
)
from av import VideoFrame

from arbiter_server.sfu import codecs, rtp, sdp

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=96)


def test_rtcp_the_sfu_builds_is_what_aiortc_reads() -> None:
    """Cross-check the builders against aiortc's own RTCP parser."""
    block = rtp.ReportBlock(1, 25, 3, 70000, 12, 0xAABBCCDD, 65536)
    (sr,) = RtcpPacket.parse(rtp.build_sr(7, rtp.ntp_time(1_700_000_000.5), 1234, 10, 900))
    assert isinstance(sr, RtcpSrPacket) and sr.ssrc == 7
    assert (sr.sender_info.rtp_timestamp, sr.sender_info.packet_count) == (1234, 10)
    assert sr.sender_info.octet_count == 900
    assert sr.sender_info.ntp_timestamp >> 32 == 1_700_000_000 + 2208988800
    (rr,) = RtcpPacket.parse(rtp.build_rr(9, [block]))
    assert isinstance(rr, RtcpRrPacket) and rr.ssrc == 9
    got = rr.reports[0]
    assert (got.ssrc, got.fraction_lost, got.packets_lost, got.highest_sequence) == (
        1,
        25,
        3,
        70000,
    )
    assert (got.jitter, got.lsr, got.dlsr) == (12, 0xAABBCCDD, 65536)
    (nack,) = RtcpPacket.parse(rtp.build_nack(1, 2, [65535, 0, 5, 40]))
    assert isinstance(nack, RtcpRtpfbPacket) and nack.media_ssrc == 2
    assert sorted(nack.lost) == [0, 5, 40, 65535]
    (pli,) = RtcpPacket.parse(rtp.build_pli(1, 2))
    assert isinstance(pli, RtcpPsfbPacket) and (pli.fmt, pli.media_ssrc) == (1, 2)
    (remb,) = RtcpPacket.parse(rtp.build_remb(1, 1_234_567, [5, 6]))
    assert isinstance(remb, RtcpPsfbPacket) and remb.fmt == 15
    assert rtp.parse_rtcp(rtp.build_remb(1, 1_234_567, [5, 6])).remb == (1_234_560, [5, 6])


def test_rtcp_the_sfu_reads_from_aiortc() -> None:
    """What an aiortc (or browser) receiver sends a sender: NACK, PLI, FIR, RR, REMB."""
    from aiortc.rtp import RtcpReceiverInfo

    nack = RtcpRtpfbPacket(fmt=1, ssrc=1, media_ssrc=42)
    nack.lost = [10, 11, 30]
    rr = RtcpRrPacket(
        ssrc=1,
        reports=[
            RtcpReceiverInfo(
                ssrc=42,
                fraction_lost=51,
                packets_lost=-2,
                highest_sequence=5,
                jitter=1,
                lsr=2,
                dlsr=3,
            )
        ],
    )
    compound = bytes(nack) + bytes(RtcpPsfbPacket(fmt=1, ssrc=1, media_ssrc=43)) + bytes(rr)
    compound += rtp.build_fir(1, 44, 3)
    feedback = rtp.parse_rtcp(compound)
    assert feedback.nacks == [(42, [10, 11, 30])]
    assert feedback.keyframe_requests == [43, 44]
    (block,) = feedback.reports
    assert (block.ssrc, block.fraction_lost, block.packets_lost, block.lsr) == (42, 51, -2, 2)
    assert rtp.parse_rtcp(b"\x80\xc8\x00\x10garbage").reports == []  # truncated: ignored


def test_header_extensions_both_forms() -> None:
    packet = RtpPacket(payload_type=96, sequence_number=1, timestamp=2, ssrc=3)
    packet.extensions.mid = "1"
    packet.extensions.abs_send_time = 0x123456
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
    from aiortc.rtp import HeaderExtensionsMap

    extmap = HeaderExtensionsMap()
    extmap.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=1, uri=rtp.MID_URI),
                RTCRtpHeaderExtensionParameters(id=3, uri=rtp.ABS_SEND_TIME_URI),
            ]
        )
    )
    data = packet.serialize(extmap) + b"payload"
    offset, start, end = rtp.payload_start(data)
    assert data[offset:] == b"payload"
    assert rtp.parse_extensions(data, start, end) == {1: b"1", 3: b"\x12\x34\x56"}
    block = rtp.extension_block([(3, rtp.abs_send_time(1.5)), (2, b"\x85")])
    assert len(block) % 4 == 0
    built = rtp.RTP_HEADER.pack(0x90, 96, 1, 2, 3) + block + b"x"
    offset, start, end = rtp.payload_start(built)
    assert rtp.parse_extensions(built, start, end) == {
        3: (1.5 * 2**18).__int__().to_bytes(3, "big"),
        2: b"\x85",
    }
    two_byte = rtp.RTP_HEADER.pack(0x90, 96, 1, 2, 3) + b"\x10\x00\x00\x01" + b"\x05\x01\x07\x00"
    offset, start, end = rtp.payload_start(two_byte)
    assert rtp.parse_extensions(two_byte, start, end) == {5: b"\x07"}
    with pytest.raises(ValueError):
        rtp.payload_start(rtp.RTP_HEADER.pack(0x90, 96, 1, 2, 3) + b"\xbe")


def _frame(i: int, size: tuple[int, int] = (64, 48)) -> VideoFrame:
    noise = np.random.default_rng(i).integers(0, 256, (size[1] * 3 // 2, size[0]), dtype=np.uint8)
    frame = VideoFrame.from_ndarray(noise, format="yuv420p")
    frame.pts, frame.time_base = i * 3000, Fraction(1, 90000)
    return frame


def test_vp8_key_frames_and_descriptor_from_aiortc_packets() -> None:
    encoder = Vp8Encoder()
    seen = []
    for i in range(4):
        payloads, _ = encoder.encode(_frame(i), force_keyframe=i == 2)
        first = payloads[0]
        seen.append(rtp.vp8_keyframe(first, 0))
        assert not any(rtp.vp8_keyframe(p, 0) for p in payloads[1:])
        length, pid_at, width, _ = rtp.vp8_descriptor(first, 0)
        assert width in (1, 2) and pid_at == 2 and length >= 3
    assert seen == [True, False, True, False]


def test_h264_key_frames_from_aiortc_packets() -> None:
    """IDR access units: SPS+PPS in a STAP-A, then FU-A fragments (or single NAL units)."""
    encoder = H264Encoder()
    found = []
    for i in range(6):
        payloads, _ = encoder.encode(_frame(i, (320, 240)), force_keyframe=i in (0, 4))
        if payloads:
            found.append((i, rtp.h264_keyframe(payloads[0], 0)))
            assert not any(
                rtp.h264_keyframe(p, 0)
                for p in payloads[1:]
                if p[0] & 0x1F == 28 and not p[1] & 0x80
            )
    keys = [i for i, key in found if key]
    assert keys and keys[0] == found[0][0] and 4 in keys
    assert any(not key for _, key in found)
    assert not rtp.h264_keyframe(b"\x41\x9a", 0)  # a non-IDR slice


CHROME_OFFER = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ssrc:11 cname:x\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:1\r\n"
    "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"
    "a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;~f\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:2\r\n"
    "a=ssrc-group:FID 21 22\r\na=ssrc:21 cname:x\r\na=ssrc:22 cname:x\r\n"
)


def test_simulcast_offer_and_answer_text() -> None:
    assert sdp.offered_simulcast(CHROME_OFFER) == {"1": ["q", "h", "f"]}
    answer = (
        "v=0\r\no=- 3 4 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 x 111\r\na=mid:0\r\n"
        "m=video 9 x 96\r\na=mid:1\r\na=sendrecv\r\nm=video 9 x 96\r\na=mid:2\r\n"
    )
    out = sdp.answer_simulcast(answer, {"1": ["q", "h", "f"]})
    video = out.split("m=video")[1]
    assert "a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n" in video
    assert out.count("a=simulcast") == 1 and out.endswith("\r\n")
    ssrcs = sdp.media_ssrcs(CHROME_OFFER)
    assert (ssrcs["0"].media, ssrcs["0"].rtx) == ([11], {})
    assert (ssrcs["2"].media, ssrcs["2"].rtx) == ([21], {22: 21})
    assert ssrcs["1"].media == []


def test_codec_preferences() -> None:
    audio = codecs.producer_codec_preferences("audio")
    video = codecs.producer_codec_preferences("video")
    assert [c.mimeType for c in audio] == ["audio/opus"]
    # VP8 first (preferred), then each H.264 packetization-mode=1 profile aiortc has
    assert [c.mimeType for c in video] == ["video/VP8", "video/H264", "video/H264", "video/rtx"]
    assert all(c.parameters["packetization-mode"] == "1" for c in video[1:3])
    assert [c.mimeType for c in codecs.consumer_codec_preferences(VP8)] == [
        "video/VP8",
        "video/rtx",
    ]
    assert [c.mimeType for c in codecs.consumer_codec_preferences(OPUS)] == ["audio/opus"]
    h264 = next(c for c in RTCRtpSender.getCapabilities("video").codecs if c.name == "H264")
    codec = RTCRtpCodecParameters(
        mimeType=h264.mimeType, clockRate=90000, payloadType=102, parameters=h264.parameters
    )
    (pref, _) = codecs.consumer_codec_preferences(codec)
    assert pref.parameters == h264.parameters
    assert codecs.codec_key(codec) != codecs.codec_key(VP8)


def test_single_codec_keeps_the_first_media_codec_and_its_rtx() -> None:
    h264 = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)
    rtx_vp8 = RTCRtpCodecParameters(
        mimeType="video/rtx", clockRate=90000, payloadType=98, parameters={"apt": 97}
    )
    rtx_h264 = RTCRtpCodecParameters(
        mimeType="video/rtx", clockRate=90000, payloadType=103, parameters={"apt": 102}
    )
    assert codecs.single_codec([VP8, rtx_vp8, h264, rtx_h264]) == [VP8, rtx_vp8]
    assert codecs.single_codec([h264, VP8, rtx_vp8, rtx_h264]) == [h264, rtx_h264]
    assert codecs.single_codec([OPUS]) == [OPUS]
    assert codecs.single_codec([]) == []


def _parse_twcc(packet: bytes) -> tuple[int, int, list[float | None]]:
    """(base, feedback count, arrival times in seconds or None per packet) of a feedback,
    read the way draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1 says."""
    import struct

    first, ptype, words = struct.unpack_from("!BBH", packet)
    assert (first & 0x1F, ptype) == (15, 205) and (words + 1) * 4 == len(packet)
    end = len(packet) - (packet[-1] if first & 0x20 else 0)
    base, count, ref = struct.unpack_from("!HHI", packet, 12)
    reference, fb_count = (ref >> 8) * 0.064, ref & 0xFF
    statuses: list[int] = []
    pos = 20
    while len(statuses) < count:
        (chunk,) = struct.unpack_from("!H", packet, pos)
        pos += 2
        if chunk & 0x8000:  # status vector
            two_bit = chunk & 0x4000
            symbols = 7 if two_bit else 14
            for i in range(symbols):
                shift = (symbols - 1 - i) * (2 if two_bit else 1)
                statuses.append((chunk >> shift) & (3 if two_bit else 1))
        else:
            statuses += [(chunk >> 13) & 3] * (chunk & 0x1FFF)
    statuses = statuses[:count]
    times: list[float | None] = []
    at = reference
    for status in statuses:
        if status == 0:
            times.append(None)
            continue
        if status == 1:
            at += packet[pos] * 0.00025
            pos += 1
        else:
            at += struct.unpack_from("!h", packet, pos)[0] * 0.00025
            pos += 2
        times.append(at)
    assert pos <= end
    return base, fb_count, times


def test_transport_wide_feedback_reports_each_arrival() -> None:
    from arbiter_server.sfu.twcc import TwccFeedback

    feedback = TwccFeedback()
    arrivals = {65533: 100.0001, 65534: 100.0102, 0: 100.0300, 2: 100.2000, 1: 100.0305}
    for seq, at in arrivals.items():  # 65535 never comes; 1 comes after 2
        feedback.received(seq, at)
    packet = feedback.build(1, 2, now=100.3)
    assert packet is not None and not feedback.pending
    base, count, times = _parse_twcc(packet)
    assert (base, count, len(times)) == (65533, 0, 6)
    expected = [arrivals[65533], arrivals[65534], None, arrivals[0], arrivals[1], arrivals[2]]
    for got, want in zip(times, expected, strict=True):
        assert (got is None) == (want is None)
        if got is not None and want is not None:
            assert abs(got - want) < 0.00025  # 250 us resolution
    # the next feedback goes on from there; a packet reported lost stays lost
    feedback.received(65535, 100.31)
    feedback.received(3, 100.32)
    base, count, times = _parse_twcc(feedback.build(1, 2, now=100.4) or b"")
    assert (base, count, len(times)) == (3, 1, 1)
    assert feedback.build(1, 2, now=100.5) is None


async def test_a_bundled_offer_says_its_transport_once_and_aiortc_still_connects() -> None:
    """30 sections (15 participants' audio and video) fit MAX_SDP only once the shared
    ICE/DTLS attributes move to the session level."""
    import asyncio

    from aiortc import (
        RTCBundlePolicy,
        RTCConfiguration,
        RTCPeerConnection,
        RTCSessionDescription,
    )

    from arbiter_protocol.messages import MAX_SDP, sdp_json_size

    config = RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    sfu, client = RTCPeerConnection(config), RTCPeerConnection(config)
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    opus = RTCRtpCodecParameters(
        mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111
    )
    try:
        for i in range(30):
            transceiver = sfu.addTransceiver("video" if i % 2 else "audio", direction="sendonly")
            transceiver.setCodecPreferences(
                codecs.consumer_codec_preferences(vp8 if i % 2 else opus)
            )
        await sfu.setLocalDescription(await sfu.createOffer())
        full = sfu.localDescription.sdp
        compact = sdp.compact_bundle(full)
        assert sdp_json_size(full) > MAX_SDP >= sdp_json_size(compact)
        session, *media = compact.split("\r\nm=")
        assert "a=ice-ufrag:" in session and session.count("a=fingerprint:sha-256 ") == 1
        assert session.count("a=fingerprint:") == 1  # Chrome refuses more at one level
        assert "a=setup:" in session
        assert all("a=fingerprint:" not in m and "a=ice-pwd:" not in m for m in media)
        assert all("a=candidate:" in m for m in media)  # aiortc reads the last section's
        await client.setRemoteDescription(RTCSessionDescription(compact, "offer"))
        await client.setLocalDescription(await client.createAnswer())
        await sfu.setRemoteDescription(client.localDescription)
        for _ in range(200):
            if sfu.connectionState == client.connectionState == "connected":
                break
            await asyncio.sleep(0.025)
        assert sfu.connectionState == client.connectionState == "connected"
    finally:
        await sfu.close()
        await client.close()


def test_sdp_outside_one_bundle_group_is_left_alone() -> None:
    two = (
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:a\r\na=setup:actpass\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=ice-ufrag:b\r\na=setup:actpass\r\n"
    )
    assert sdp.compact_bundle(two) == two  # no BUNDLE group
    grouped = two.replace("t=0 0\r\n", "t=0 0\r\na=group:BUNDLE 0 1\r\n")
    assert sdp.compact_bundle(grouped) == grouped  # different credentials per section
