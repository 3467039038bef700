"""Media-plane features of the SFU with real aiortc peers over loopback: per-consumer pause
(stream pagination), H.264 pass-through, NACK retransmission and RTCP sender reports."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiortc.rtp import RtcpSrPacket

from arbiter_protocol import Handshake, Subscription
from arbiter_server.sfu.consumer import Consumer
from arbiter_server.sfu.downtrack import DownTrack
from arbiter_server.sfu.forwarder import TrackForwarder

from .conftest import CodecCounts, Harness

pytestmark = pytest.mark.timeout(30)


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for SFU-side state that has no event of its own (polls every 10 ms)."""

    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


def consumer_of(harness: Harness, subscriber: str) -> Consumer:
    participant = harness.room.participant(subscriber)
    assert participant is not None and participant.consumer is not None
    return participant.consumer


def stream_of(harness: Harness, subscriber: str, producer: str, kind: str) -> DownTrack:
    """The media section of ``subscriber``'s consumer carrying ``producer``'s ``kind``."""
    forwarder = forwarder_of(harness, producer, kind)
    downtrack = consumer_of(harness, subscriber).downtrack(forwarder)
    assert downtrack is not None
    return downtrack


def forwarder_of(harness: Harness, producer: str, kind: str) -> TrackForwarder:
    return next(f for f in harness.room.tracks(producer) if f.kind == kind)


async def test_paused_consumer_gets_no_video_and_resumes_within_a_second(
    harness: Harness,
) -> None:
    alice = await harness.join("alice", size=(320, 240), luma=40)
    bob = await harness.join("bob", size=(352, 288), luma=128)
    carol = await harness.join("carol", size=(256, 192), luma=210)
    await asyncio.gather(
        bob.wait_media("alice", video=5, audio=5), carol.wait_media("alice", video=5, audio=5)
    )
    await asyncio.wait_for(bob.channel_open.wait(), 5)
    bob_video = stream_of(harness, "bob", "alice", "video")
    bob_audio = stream_of(harness, "bob", "alice", "audio")
    video = forwarder_of(harness, "alice", "video")

    # bob pages alice's video out (audio stays)
    bob.send_message(Subscription(producer_id="alice", video=False, audio=True))
    await until(lambda: bob_video.paused)
    assert not bob_audio.paused and video.stats().paused == 1
    # what was already sent may still be decoded: let it through before counting
    got_bob, got_carol = bob.got("alice"), carol.got("alice")
    settle = got_carol.video_frames + 3
    await carol.wait_until("alice", lambda g: g.video_frames >= settle)
    frames_bob, audio_bob = got_bob.video_frames, got_bob.audio_frames
    target = got_carol.video_frames + 30  # about a second of video for the others
    await carol.wait_until("alice", lambda g: g.video_frames >= target)
    assert got_bob.video_frames == frames_bob, "a paused consumer still got video"
    assert got_bob.audio_frames > audio_bob + 20, "audio should keep flowing"
    assert bob_video.layer is None and bob_video.target is None  # fed nothing at all
    assert consumer_of(harness, "bob").connection_state == "connected"

    # resume: a key frame is asked for, video is back within a second
    loop = asyncio.get_running_loop()
    requests = video.stats().keyframe_requests
    resumed_at = loop.time()
    bob.send_message(Subscription(producer_id="alice", video=True, audio=True))
    await bob.wait_until("alice", lambda g: g.video_frames >= frames_bob + 5, timeout=5)
    first = got_bob.video_times[frames_bob]
    assert first - resumed_at < 1.0, f"video came back {first - resumed_at:.2f} s after resume"
    assert video.stats().keyframe_requests > requests
    assert video.stats().paused == 0
    assert alice.errors == [] and bob.errors == []

    # pausing both kinds, and what the SFU refuses
    bob.send_message(Subscription(producer_id="alice", video=False, audio=False))
    await until(lambda: bob_audio.paused and bob_video.paused)
    bob.send_message(Subscription(producer_id="ghost", video=False))
    bob.send_message(Subscription(producer_id="bob", video=False))
    await bob.wait_data(lambda: len(bob.errors) == 2)
    assert [e.code for e in bob.errors] == ["participant_not_found"] * 2
    assert {e.ref for e in bob.errors} == {"subscription"}


async def test_subscription_by_track_pauses_that_track_only(harness: Harness) -> None:
    await harness.join("alice", size=(320, 240), luma=40)
    bob = await harness.join("bob", size=(352, 288), luma=128)
    await bob.wait_media("alice", video=3, audio=3)
    await asyncio.wait_for(bob.channel_open.wait(), 5)
    # alice's offer named no tracks: the SFU calls them after their source
    assert {(f.track_id, f.source) for f in harness.room.tracks("alice")} == {
        ("camera", "camera"),
        ("microphone", "microphone"),
    }
    video = stream_of(harness, "bob", "alice", "video")
    audio = stream_of(harness, "bob", "alice", "audio")
    bob.send_message(Subscription(producer_id="alice", track_id="camera", video=False))
    await until(lambda: video.paused)
    assert not audio.paused
    # the audio flag of a message about the camera does not touch the microphone
    bob.send_message(Subscription(producer_id="alice", track_id="camera", audio=False))
    await until(lambda: not video.paused)
    assert not audio.paused
    bob.send_message(Subscription(producer_id="alice", track_id="microphone", audio=False))
    await until(lambda: audio.paused)
    assert not video.paused and bob.errors == []


async def test_pause_is_kept_for_consumers_made_later(harness: Harness) -> None:
    """A pause outlives the consumer: when alice publishes again, bob's new consumer
    starts paused; resuming then works as usual."""
    alice = await harness.join("alice", size=(320, 240), luma=40)
    bob = await harness.join("bob", size=(352, 288), luma=128)
    await bob.wait_media("alice", video=3, audio=3)
    await asyncio.wait_for(bob.channel_open.wait(), 5)
    bob.send_message(Subscription(producer_id="alice", video=False))
    await until(lambda: stream_of(harness, "bob", "alice", "video").paused)
    old_producer = harness.room.participant("alice").producer  # type: ignore[union-attr]

    old_pc = alice.producer
    assert old_pc is not None
    await alice.publish()  # a new producer connection: its tracks continue on bob's sections
    await old_pc.close()
    await until(lambda: harness.room.participant("alice").producer is not old_producer)  # type: ignore[union-attr]
    assert stream_of(harness, "bob", "alice", "video").paused
    assert not stream_of(harness, "bob", "alice", "audio").paused
    got = bob.got("alice")
    audio_before = got.audio_frames
    await bob.wait_until("alice", lambda g: g.audio_frames >= audio_before + 10, timeout=10)
    frames = got.video_frames
    bob.send_message(Subscription(producer_id="alice"))
    await bob.wait_until("alice", lambda g: g.video_frames >= frames + 3, timeout=5)


def sdp_video_codecs(sdp: str) -> list[str]:
    """The rtpmap encoding names of the first video section of ``sdp``."""
    names, in_video = [], False
    for line in sdp.splitlines():
        if line.startswith("m="):
            in_video = line.startswith("m=video")
        elif in_video and line.startswith("a=rtpmap:"):
            names.append(line.split(" ", 1)[1].split("/")[0])
    return names


async def test_h264_producer_is_forwarded_without_transcoding(
    harness: Harness, codec_counts: CodecCounts
) -> None:
    alice = await harness.join("alice", size=(320, 240), luma=40, video_codecs=("video/H264",))
    bob = await harness.join("bob", size=(352, 288), luma=128)
    got = await bob.wait_media("alice", video=10, audio=5)
    assert got.sizes == {(320, 240)}
    assert got.lumas and all(abs(v - 40) < 25 for v in got.lumas), got.lumas

    video = forwarder_of(harness, "alice", "video")
    assert video.codec.mimeType == "video/H264"
    assert video.codec.parameters["packetization-mode"] == "1"
    assert video.stats().keyframes >= 1  # IDR access units are recognised
    # the producer's answer and the consumer's offer carry H.264 only (+ RTX)
    answer = next(
        m.sdp.sdp
        for m in harness.from_sfu
        if isinstance(m, Handshake) and m.connection == "producer" and m.sdp is not None
    )
    assert sdp_video_codecs(answer) == ["H264", "rtx"]
    offer = consumer_of(harness, "bob").pc.localDescription.sdp
    assert sdp_video_codecs(offer) == ["H264", "rtx"]

    # a late subscriber needs a fresh IDR (libx264 here makes one every 250 frames)
    stats = video.stats()
    assert stats.keyframes < stats.packets / 2, stats  # not every access unit is an IDR
    keyframes_before = stats.keyframes
    carol = await harness.join("carol", size=(256, 192), luma=210)
    await asyncio.wait_for(carol.consumer_connected.setdefault("alice", asyncio.Event()).wait(), 10)
    got_carol = await carol.wait_media("alice", video=5, audio=5)
    assert got_carol.sizes == {(320, 240)} and got_carol.first_video_at is not None
    latency = got_carol.first_video_at - carol.consumer_connected_at["alice"]
    assert latency < 1.0, f"first H.264 frame {latency:.2f} s after connecting"
    assert video.stats().keyframes > keyframes_before
    await asyncio.gather(bob.wait_media("carol", 5, 5), carol.wait_media("bob", 5, 5))

    # only the clients decode and encode: alice's H.264 twice (bob, carol), the VP8 of
    # bob and carol twice each; one H.264 and two VP8 encoders. None in the SFU.
    assert codec_counts.decoders == {"video/h264": 2, "video/vp8": 4, "audio/opus": 6}
    assert codec_counts.encoders == {"video/h264": 1, "video/vp8": 2, "audio/opus": 3}
    assert alice.errors == []


async def test_vp8_is_preferred_when_a_producer_offers_both(harness: Harness) -> None:
    await harness.join("alice", video_codecs=("video/H264", "video/VP8"))
    bob = await harness.join("bob")
    await bob.wait_media("alice", video=3, audio=3)
    assert forwarder_of(harness, "alice", "video").codec.mimeType == "video/VP8"
    answer = next(
        m.sdp.sdp
        for m in harness.from_sfu
        if isinstance(m, Handshake)
        and m.connection == "producer"
        and m.participant_id == "alice"
        and m.sdp is not None
    )
    assert sdp_video_codecs(answer) == ["VP8", "rtx"]


async def test_lost_packets_are_retransmitted_and_sender_reports_reach_the_consumer(
    harness: Harness,
) -> None:
    """bob's consumer drops some of alice's video RTP on arrival (after SRTP): his
    receiver NACKs, the SFU answers from the layer's packet history over RTX, and every
    dropped packet arrives. bob's receivers also get the SFU's RTCP sender reports
    (remote-outbound-rtp in getStats), the NTP/RTP pairs lip sync is computed from."""
    await harness.join("alice", size=(320, 240), luma=40)
    bob = await harness.join("bob", size=(352, 288), luma=128)
    await bob.wait_media("alice", video=5, audio=5)

    pc = bob.consumer
    assert pc is not None
    transceivers = {t.kind: t for t in pc.getTransceivers()}
    video_rx = transceivers["video"].receiver
    codecs = transceivers["video"]._codecs
    media_pt = next(c.payloadType for c in codecs if c.mimeType.lower() != "video/rtx")
    rtx_pt = next(c.payloadType for c in codecs if c.mimeType.lower() == "video/rtx")

    dropped: set[int] = set()
    recovered: set[int] = set()
    all_recovered = asyncio.Event()
    seen = 0
    original = video_rx._handle_rtp_packet

    async def lossy(packet: Any, arrival_time_ms: int) -> None:
        nonlocal seen
        if packet.payload_type == media_pt:
            seen += 1
            if seen % 7 == 0 and len(dropped) < 10:
                dropped.add(packet.sequence_number)
                return  # lost on the way
        elif packet.payload_type == rtx_pt and len(packet.payload) >= 2:
            recovered.add(int.from_bytes(packet.payload[:2], "big"))
            if len(dropped) == 10 and dropped <= recovered:
                all_recovered.set()
        await original(packet, arrival_time_ms)

    video_rx._handle_rtp_packet = lossy  # type: ignore[method-assign]

    # the SFU side: bob's video section answers NACKs from the layer's history
    sfu_video = stream_of(harness, "bob", "alice", "video")
    retransmit_requests: list[int] = []
    sfu_retransmit = sfu_video.retransmit

    def counting(sequence_numbers: list[int]) -> None:
        retransmit_requests.extend(sequence_numbers)
        sfu_retransmit(sequence_numbers)

    sfu_video.retransmit = counting  # type: ignore[method-assign]

    await asyncio.wait_for(all_recovered.wait(), 10)
    assert dropped <= set(retransmit_requests), "every loss was NACKed to the SFU"
    assert sfu_video.stats().retransmitted >= len(dropped)
    frames = bob.got("alice").video_frames
    await bob.wait_media("alice", video=frames + 10, audio=0)  # and video goes on

    # RTCP sender reports from the SFU's senders, for audio and video
    sfu_tx = {kind: stream_of(harness, "bob", "alice", kind) for kind in ("audio", "video")}
    got_sr = {kind: asyncio.Event() for kind in transceivers}
    for kind, transceiver in transceivers.items():
        receiver = transceiver.receiver
        handle_rtcp = receiver._handle_rtcp_packet

        async def on_rtcp(packet: Any, handle: Any = handle_rtcp, kind: str = kind) -> None:
            await handle(packet)
            if isinstance(packet, RtcpSrPacket) and packet.ssrc == sfu_tx[kind].ssrc:
                got_sr[kind].set()

        receiver._handle_rtcp_packet = on_rtcp  # type: ignore[method-assign]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in got_sr.values())), 5)
    for kind, transceiver in transceivers.items():
        stats = await transceiver.receiver.getStats()
        remote = [s for s in stats.values() if s.type == "remote-outbound-rtp"]
        assert remote, f"no remote-outbound-rtp for {kind}"
        (report,) = remote
        assert report.ssrc == sfu_tx[kind].ssrc
        assert 0 < report.packetsSent
        age = datetime.now(UTC) - report.remoteTimestamp
        assert abs(age.total_seconds()) < 3, f"{kind} SR NTP time is {age} old"
