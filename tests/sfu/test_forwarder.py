"""Unit tests of the forwarding seam: pass-through codecs, consumer queues."""

from __future__ import annotations

import asyncio
from fractions import Fraction

import av
import numpy as np
import pytest
from aiortc import RTCRtpSender
from aiortc.codecs import get_decoder
from aiortc.codecs.h264 import H264Encoder, h264_depayload
from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from av import VideoFrame

from arbiter_server.sfu import forwarder, passthrough
from arbiter_server.sfu.forwarder import ForwardedTrack
from arbiter_server.sfu.passthrough import EncodedPacket

pytestmark = pytest.mark.timeout(10)

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)
H264 = RTCRtpCodecParameters(
    mimeType="video/H264",
    clockRate=90000,
    payloadType=102,
    parameters={"packetization-mode": "1", "profile-level-id": "42e01f"},
)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=96)


def vp8_frames(count: int, keyframe_at: frozenset[int] = frozenset({0})) -> list[bytes]:
    """``count`` encoded VP8 frames (depacketized, as the receiver's jitter buffer gives)."""
    encoder = Vp8Encoder()
    frames = []
    for i in range(count):
        frame = VideoFrame(width=64, height=48, format="yuv420p")
        for plane in frame.planes:
            plane.update(bytes([(i * 7) % 256]) * plane.buffer_size)
        frame.pts, frame.time_base = i * 3000, Fraction(1, 90000)
        payloads, _ = encoder.encode(frame, force_keyframe=i in keyframe_at)
        frames.append(b"".join(vp8_depayload(p) for p in payloads))
    return frames


def test_vp8_passthrough_round_trip_decodes() -> None:
    """Decoder -> packer -> depayload gives back bytes a real VP8 decoder decodes."""
    frames = vp8_frames(5, keyframe_at=frozenset({0, 3}))
    decoder = passthrough.PassThroughDecoder(VP8)
    packer = passthrough.Vp8Packer()
    real = get_decoder(VP8)
    keyframes = []
    for i, data in enumerate(frames):
        (packet,) = decoder.decode(JitterFrame(data=data, timestamp=i * 3000))
        assert isinstance(packet, av.Packet)
        assert packet.pts == i * 3000 and packet.time_base == Fraction(1, 90000)
        keyframes.append(packet.is_keyframe)
        payloads, timestamp = packer.pack(packet)
        assert timestamp == i * 3000
        rebuilt = b"".join(vp8_depayload(p) for p in payloads)
        assert rebuilt == data
        decoded = real.decode(JitterFrame(data=rebuilt, timestamp=timestamp))
        assert [(f.width, f.height) for f in decoded if isinstance(f, VideoFrame)] == [(64, 48)]
    assert keyframes == [True, False, False, True, False]


def test_opus_packer_and_keyframes() -> None:
    decoder = passthrough.PassThroughDecoder(OPUS)
    (packet,) = decoder.decode(JitterFrame(data=b"\x78\x01\x02", timestamp=960))
    assert packet.is_keyframe
    assert passthrough.OpusPacker().pack(packet) == ([b"\x78\x01\x02"], 960)
    assert decoder.decode(JitterFrame(data=b"", timestamp=0)) == []


def test_h264_keyframe_detection() -> None:
    idr = b"\x00\x00\x00\x01\x67\x42" + b"\x00\x00\x00\x01\x68\xce" + b"\x00\x00\x01\x65\x88"
    non_idr = b"\x00\x00\x00\x01\x41\x9a\x00"
    assert passthrough.is_keyframe("video/H264", idr)
    assert not passthrough.is_keyframe("video/H264", non_idr)
    assert not passthrough.is_keyframe("video/VP8", b"")


def test_h264_keyframes_after_aiortc_depayload() -> None:
    """What the receiver's jitter buffer gives for H.264: the RTP payloads (STAP-A with
    SPS + PPS, FU-A fragments of a large IDR, single NAL units) depayloaded by aiortc to
    Annex B with start codes; IDR detected there, and the packer round-trips it."""
    encoder = H264Encoder()
    packer = passthrough.H264Packer()
    real = get_decoder(H264)
    found = []
    for i in range(6):
        # noise: frames too large for one packet, so the IDR also travels as FU-A
        noise = np.random.default_rng(i).integers(0, 256, (360, 320), dtype=np.uint8)
        frame = VideoFrame.from_ndarray(noise, format="yuv420p")
        frame.pts, frame.time_base = i * 3000, Fraction(1, 90000)
        payloads, _ = encoder.encode(frame, force_keyframe=i in (0, 4))
        if not payloads:
            continue
        nal_types = {p[0] & 0x1F for p in payloads}
        data = b"".join(h264_depayload(p) for p in payloads)
        assert data.startswith(b"\x00\x00\x00\x01")
        keyframe = passthrough.is_keyframe("video/H264", data)
        found.append((i, keyframe, nal_types))
        (packet,) = passthrough.PassThroughDecoder(H264).decode(
            JitterFrame(data=data, timestamp=i * 3000)
        )
        rebuilt = b"".join(h264_depayload(p) for p in packer.pack(packet)[0])
        assert rebuilt == data
        decoded = real.decode(JitterFrame(data=rebuilt, timestamp=i * 3000))
        assert all(f.width == 320 for f in decoded if isinstance(f, VideoFrame))
    keyframes = [i for i, k, _ in found if k]
    assert keyframes and keyframes[0] == found[0][0] and 4 in keyframes, found
    assert any(not k for _, k, _ in found), found
    assert all({24, 28} <= t for _, k, t in found if k), "IDR: SPS+PPS in STAP-A, then FU-A"


def test_selectors_only_affect_marked_codecs() -> None:
    passthrough.install()
    from aiortc import rtcrtpreceiver, rtcrtpsender

    plain = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)
    marked = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)
    passthrough.mark_codecs([marked])
    assert passthrough.is_installed()
    # What the receiver and sender modules now look up (module globals).
    get_decoder, get_encoder = (
        vars(rtcrtpreceiver)["get_decoder"],
        vars(rtcrtpsender)["get_encoder"],
    )
    assert isinstance(get_decoder(marked), passthrough.PassThroughDecoder)
    assert isinstance(get_encoder(marked), passthrough.Vp8Packer)
    assert not isinstance(get_decoder(plain), passthrough.PassThroughDecoder)
    assert isinstance(get_encoder(plain), Vp8Encoder)


def test_codec_preferences() -> None:
    audio = forwarder.producer_codec_preferences("audio")
    video = forwarder.producer_codec_preferences("video")
    assert [c.mimeType for c in audio] == ["audio/opus"]
    # VP8 first (preferred), then each H.264 packetization-mode=1 profile aiortc has
    assert [c.mimeType for c in video] == ["video/VP8", "video/H264", "video/H264", "video/rtx"]
    assert all(c.parameters["packetization-mode"] == "1" for c in video[1:3])
    assert [c.mimeType for c in forwarder.consumer_codec_preferences(VP8)] == [
        "video/VP8",
        "video/rtx",
    ]
    assert [c.mimeType for c in forwarder.consumer_codec_preferences(OPUS)] == ["audio/opus"]
    h264 = next(c for c in RTCRtpSender.getCapabilities("video").codecs if c.name == "H264")
    codec = RTCRtpCodecParameters(
        mimeType=h264.mimeType, clockRate=90000, payloadType=102, parameters=h264.parameters
    )
    (pref, _) = forwarder.consumer_codec_preferences(codec)
    assert pref.parameters == h264.parameters


def test_single_codec_keeps_the_first_media_codec_and_its_rtx() -> None:
    h264 = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)
    rtx_vp8 = RTCRtpCodecParameters(
        mimeType="video/rtx", clockRate=90000, payloadType=98, parameters={"apt": 97}
    )
    rtx_h264 = RTCRtpCodecParameters(
        mimeType="video/rtx", clockRate=90000, payloadType=103, parameters={"apt": 102}
    )
    assert forwarder.single_codec([VP8, rtx_vp8, h264, rtx_h264]) == [VP8, rtx_vp8]
    assert forwarder.single_codec([h264, VP8, rtx_vp8, rtx_h264]) == [h264, rtx_h264]
    assert forwarder.single_codec([OPUS]) == [OPUS]
    assert forwarder.single_codec([]) == []


def test_remote_media_ssrcs() -> None:
    sdp = (
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
        "a=rtpmap:96 opus/48000/2\r\na=ssrc:1111 cname:x\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 97 98\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n"
        "a=rtpmap:97 VP8/90000\r\na=rtpmap:98 rtx/90000\r\na=fmtp:98 apt=97\r\n"
        "a=ssrc-group:FID 3333 2222\r\na=ssrc:2222 cname:x\r\na=ssrc:3333 cname:x\r\n"
    )
    assert forwarder.remote_media_ssrcs(sdp) == {"0": 1111, "1": 3333}


class FakeSource:
    """Stands in for a TrackForwarder: records key frame requests."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.requests = 0

    def request_keyframe(self) -> None:
        self.requests += 1


def packet(n: int) -> EncodedPacket:
    p = av.Packet(bytes([n]))
    p.pts = n
    return p


async def test_video_track_waits_for_keyframe_and_resyncs_on_overflow() -> None:
    source = FakeSource("video")
    track = ForwardedTrack(source, maxsize=3)  # type: ignore[arg-type]
    track._push(packet(1), False)  # no key frame yet: dropped
    track._push(packet(2), True)
    track._push(packet(3), False)
    assert (await track.recv()).pts == 2
    assert source.requests == 0  # already had a key frame when the sender started
    track._push(packet(4), False)
    track._push(packet(5), False)  # queue: 3, 4, 5 (full)
    track._push(packet(6), False)  # overflow: drop all, wait for a key frame, ask for one
    assert source.requests == 1
    track._push(packet(7), False)
    track._push(packet(8), True)
    assert (await track.recv()).pts == 8
    assert track.dropped == 6


async def test_new_video_track_requests_keyframe_when_sender_starts() -> None:
    source = FakeSource("video")
    track = ForwardedTrack(source, maxsize=3)  # type: ignore[arg-type]
    reader = asyncio.create_task(track.recv())
    await asyncio.sleep(0)
    assert source.requests == 1
    track.stop()
    with pytest.raises(MediaStreamError):
        await asyncio.wait_for(reader, 1)
    with pytest.raises(MediaStreamError):
        await track.recv()
    track.stop()  # idempotent


async def test_audio_track_drops_oldest() -> None:
    track = ForwardedTrack(FakeSource("audio"), maxsize=2)  # type: ignore[arg-type]
    for n in range(1, 5):
        track._push(packet(n), True)
    assert [(await track.recv()).pts for _ in range(2)] == [3, 4]
    assert track.dropped == 2


async def test_paused_track_drops_everything_and_resumes_at_a_keyframe() -> None:
    source = FakeSource("video")
    track = ForwardedTrack(source, maxsize=5)  # type: ignore[arg-type]
    track._push(packet(1), True)
    track._push(packet(2), False)
    track.set_paused(True)  # what was queued goes too
    track._push(packet(3), True)
    track._push(packet(4), False)
    assert track.paused_dropped == 4 and source.requests == 0
    track.set_paused(False)  # resuming asks for a key frame and waits for one
    assert source.requests == 1
    track._push(packet(5), False)
    track._push(packet(6), True)
    assert (await track.recv()).pts == 6
    track.set_paused(False)  # no change: no new request
    assert source.requests == 1

    audio = ForwardedTrack(FakeSource("audio"), maxsize=5)  # type: ignore[arg-type]
    audio.set_paused(True)
    audio._push(packet(1), True)
    audio.set_paused(False)
    audio._push(packet(2), True)
    assert (await audio.recv()).pts == 2 and audio.paused_dropped == 1


def test_forwarding_jitter_buffer_hands_over_frames_as_soon_as_they_are_complete() -> None:
    from aiortc.rtp import RtpPacket

    from arbiter_server.sfu.passthrough import ForwardingJitterBuffer

    def packet(seq: int, ts: int, marker: int, data: bytes) -> RtpPacket:
        p = RtpPacket(payload_type=96, sequence_number=seq, timestamp=ts, marker=marker)
        p._data = data  # type: ignore[attr-defined]
        return p

    video = ForwardingJitterBuffer(capacity=128, is_video=True)
    assert video.add(packet(100, 3000, 0, b"a"))[1] is None
    # the marker bit ends the frame: no need to wait for the next frame's first packet
    frame = video.add(packet(101, 3000, 1, b"b"))[1]
    assert frame is not None and (frame.data, frame.timestamp) == (b"ab", 3000)
    # a frame whose first packet is missing waits for it (a NACK may bring it)
    assert video.add(packet(103, 6000, 1, b"d"))[1] is None
    frame = video.add(packet(102, 6000, 0, b"c"))[1]
    assert frame is not None and frame.data == b"cd"

    audio = ForwardingJitterBuffer(capacity=16, is_video=False)
    for seq, ts in ((7, 960), (8, 1920), (10, 3840)):  # 9 was lost: no waiting for it
        frame = audio.add(packet(seq, ts, 0, bytes([seq])))[1]
        assert frame is not None and frame.timestamp == ts and frame.data == bytes([seq])


class _StubReceiver:
    """Just what a TrackForwarder uses of an aiortc receiver; records PLIs."""

    def __init__(self) -> None:
        from aiortc.jitterbuffer import JitterBuffer
        from aiortc.mediastreams import MediaStreamTrack

        class _Track(MediaStreamTrack):
            kind = "video"

            def __init__(self) -> None:
                super().__init__()
                self.queue: asyncio.Queue[EncodedPacket] = asyncio.Queue()

            async def recv(self) -> EncodedPacket:  # type: ignore[override]
                return await self.queue.get()

        self._RTCRtpReceiver__jitter_buffer = JitterBuffer(capacity=128, is_video=True)
        self.track = _Track()
        self.plis: list[float] = []

    async def receive(self, parameters: object) -> None:
        pass

    def getSynchronizationSources(self) -> list[object]:
        return []

    async def _send_rtcp_pli(self, ssrc: int) -> None:
        self.plis.append(asyncio.get_running_loop().time())


async def test_keyframe_requests_are_coalesced_and_a_later_asker_is_not_left_waiting() -> None:
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    from arbiter_server.sfu.forwarder import KEYFRAME_SPACING, TrackForwarder

    receiver = _StubReceiver()
    codec = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    forwarder = TrackForwarder(receiver, codec, media_ssrc=1234, label="t")  # type: ignore[arg-type]
    forwarder.start()

    async def keyframe_arrives() -> None:
        before = forwarder.stats().keyframes
        key = packet(1)
        key.is_keyframe = True
        receiver.track.queue.put_nowait(key)
        for _ in range(100):
            if forwarder.stats().keyframes > before:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the forwarder did not see the key frame")

    async def plis(count: int, within: float) -> None:
        for _ in range(int(within / 0.01)):
            if len(receiver.plis) >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{len(receiver.plis)} PLIs, expected {count}")

    try:
        forwarder.request_keyframe()
        await plis(1, 0.5)
        for _ in range(3):  # more askers while the first request is being answered
            forwarder.request_keyframe()
        await keyframe_arrives()  # ... are served by its key frame
        await asyncio.sleep(0.7)  # time for a needless second PLI to go out
        assert len(receiver.plis) == 1
        # a consumer that starts after that key frame gets a new one, spaced, not seconds late
        forwarder.request_keyframe()
        await plis(2, 1.0)
        assert receiver.plis[1] - receiver.plis[0] >= KEYFRAME_SPACING
        # an asker that comes after a key frame answered an earlier, still-waiting request
        # is not served by that older key frame: its PLI still goes out
        forwarder.request_keyframe()  # waits: PLI 2 is not answered yet
        await keyframe_arrives()  # answers PLI 2
        forwarder.request_keyframe()  # a newcomer that needs a newer key frame
        await plis(3, 1.0)
    finally:
        await forwarder.close()
