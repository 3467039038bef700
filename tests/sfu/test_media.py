"""Media-plane features of the SFU with real aiortc peers over loopback: per-consumer pause
(stream pagination), H.264 pass-through, NACK retransmission and RTCP sender reports."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from arbiter_protocol import Handshake, Subscription
from arbiter_server.sfu.consumer import Consumer
from arbiter_server.sfu.forwarder import ForwardedTrack, TrackForwarder

from .conftest import CodecCounts, Harness

pytestmark = pytest.mark.timeout(30)


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for SFU-side state that has no event of its own (polls every 10 ms)."""

    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


def consumer_of(harness: Harness, subscriber: str, producer: str) -> Consumer:
    participant = harness.room.participant(subscriber)
    assert participant is not None
    return participant.consumers[producer]


def track_of(consumer: Consumer, kind: str) -> ForwardedTrack:
    return next(t for t in consumer.tracks if t.kind == kind)


def forwarder_of(harness: Harness, producer: str, kind: str) -> TrackForwarder:
    participant = harness.room.participant(producer)
    assert participant is not None and participant.producer is not None
    return next(f for f in participant.producer.forwarders if f.kind == kind)


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
    bob_video = track_of(consumer_of(harness, "bob", "alice"), "video")
    bob_audio = track_of(consumer_of(harness, "bob", "alice"), "audio")
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
    assert bob_video.paused_dropped > 20
    assert consumer_of(harness, "bob", "alice").connection_state == "connected"

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


async def test_pause_is_kept_for_consumers_made_later(harness: Harness) -> None:
    """A pause outlives the consumer: when alice publishes again, bob's new consumer
    starts paused; resuming then works as usual."""
    alice = await harness.join("alice", size=(320, 240), luma=40)
    bob = await harness.join("bob", size=(352, 288), luma=128)
    await bob.wait_media("alice", video=3, audio=3)
    await asyncio.wait_for(bob.channel_open.wait(), 5)
    bob.send_message(Subscription(producer_id="alice", video=False))
    await until(lambda: track_of(consumer_of(harness, "bob", "alice"), "video").paused)
    old = consumer_of(harness, "bob", "alice")

    old_pc = alice.producer
    assert old_pc is not None
    await alice.publish()  # a new producer connection: new consumers for it
    await old_pc.close()
    await until(lambda: consumer_of(harness, "bob", "alice") is not old)
    new = consumer_of(harness, "bob", "alice")
    assert track_of(new, "video").paused and not track_of(new, "audio").paused
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
    offer = consumer_of(harness, "bob", "alice").pc.localDescription.sdp
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
