"""What every meeting needs of the SFU: a screen added to a running producer connection,
a track's own mute state, active speakers from the audio-level extension, Opus with FEC
and DTX, and what each subscriber really receives. Real aiortc peers over loopback UDP,
in-memory signaling (see ``conftest.Harness``)."""

from __future__ import annotations

import asyncio

import pytest

from arbiter_client import ToneAudioTrack
from arbiter_protocol import Handshake, Subscription, TrackInfo, TrackState

from .conftest import Harness
from .peers import PatternVideoTrack

pytestmark = pytest.mark.timeout(40)

MIC = TrackInfo(id="microphone", kind="audio", source="microphone")
CAMERA = TrackInfo(id="camera", kind="video", source="camera")
SCREEN = TrackInfo(id="screen", kind="video", source="screen")


async def until(predicate: object, what: str, timeout: float = 10.0) -> None:
    """Poll ``predicate()`` every 50 ms until it holds (a deadline, not a fixed sleep)."""
    assert callable(predicate)

    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(wait(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


async def test_a_screen_added_to_a_running_producer_reaches_subscribers_as_its_own_track(
    harness: Harness,
) -> None:
    alice = await harness.join("alice", size=(320, 240), luma=40)
    bob = await harness.join("bob", video=False, audio=False)
    await bob.wait_media("alice", video=5, audio=5)
    producer = harness.room.participant("alice").producer  # type: ignore[union-attr]
    consumer = bob.consumer

    assert alice.producer is not None
    alice.producer.addTransceiver(PatternVideoTrack(640, 360, 200), direction="sendonly")
    await alice.renegotiate([MIC, CAMERA, SCREEN])

    await until(lambda: bob.by_track.get(("alice", "screen")), "alice's screen at bob")
    await until(lambda: bob.by_track[("alice", "screen")].video_frames >= 5, "frames of the screen")
    screen = bob.by_track[("alice", "screen")]
    assert screen.sizes == {(640, 360)}
    offered = [t for t in bob.offers[-1].tracks or [] if t.participant_id == "alice"]
    assert {(t.id, t.source) for t in offered} == {
        ("microphone", "microphone"),
        ("camera", "camera"),
        ("screen", "screen"),
    }
    # the same producer and consumer connections, renegotiated; the camera goes on
    assert harness.room.participant("alice").producer is producer  # type: ignore[union-attr]
    assert bob.consumer is consumer
    camera_frames = bob.by_track[("alice", "camera")].video_frames
    await until(
        lambda: bob.by_track[("alice", "camera")].video_frames > camera_frames + 5,
        "the camera to go on beside the screen",
    )
    assert bob.by_track[("alice", "camera")].sizes == {(320, 240)}
    answer = next(
        m
        for m in reversed(harness.from_sfu)
        if isinstance(m, Handshake) and m.connection == "producer" and m.sdp is not None
    )
    assert answer.sdp is not None and answer.sdp.sdp.count("m=video") == 2

    # stop sharing: the section goes inactive and the screen leaves bob's connection
    screen_transceiver = alice.producer.getTransceivers()[-1]
    screen_transceiver.direction = "inactive"
    await alice.renegotiate([MIC, CAMERA, SCREEN])
    await until(
        lambda: not any(t.id == "screen" for t in bob.offers[-1].tracks or []),
        "an offer without the screen",
    )
    assert sorted(f.track_id for f in harness.room.tracks("alice")) == ["camera", "microphone"]
    assert bob.consumer is consumer


async def test_a_tracks_mute_state_is_its_own_and_late_joiners_get_each(
    harness: Harness,
) -> None:
    alice = await harness.join("alice")
    bob = await harness.join("bob", video=False, audio=False)
    await alice.channel_open.wait()
    await bob.channel_open.wait()
    alice.send_message(TrackState(kind="video", muted=True, track_id="screen"))
    alice.send_message(TrackState(kind="video", muted=False))
    await bob.wait_data(lambda: len(bob.track_states) >= 2)
    assert [(s.track_id, s.muted, s.sender) for s in bob.track_states] == [
        ("screen", True, "alice"),
        (None, False, "alice"),
    ]
    carol = await harness.join("carol", video=False, audio=False)
    await carol.wait_data(lambda: len(carol.track_states) >= 2)
    assert {(s.track_id, s.muted) for s in carol.track_states} == {("screen", True), (None, False)}


async def test_the_speaker_with_a_tone_is_the_active_speaker_and_silent_ones_are_not(
    harness: Harness,
) -> None:
    tone = ToneAudioTrack(volume=0.3)
    talker = await harness.join("talker", video=False, audio_track=tone)
    quiet = [await harness.join(f"quiet{i}", video=False) for i in range(2)]
    everyone = [talker, *quiet]
    for peer in everyone:
        await peer.channel_open.wait()
    await until(
        lambda: all(p.speakers and p.speakers[-1][1] == ["talker"] for p in everyone),
        "everyone to hear that 'talker' speaks",
    )
    # a newcomer gets the current list as soon as its data channel opens
    late = await harness.join("late", video=False, audio=False)
    await late.channel_open.wait()
    await until(lambda: late.speakers and late.speakers[0][1] == ["talker"], "the list at once")

    tone.stop()  # the track ends: aiortc sends nothing more from it
    await until(lambda: all(p.speakers[-1][1] == [] for p in everyone), "the talker to fall silent")
    times = [t for t, _ in quiet[0].speakers]
    assert all(b - a >= 0.2 for a, b in zip(times, times[1:], strict=False)), times


async def test_opus_is_answered_with_in_band_fec_and_dtx(harness: Harness) -> None:
    await harness.join("alice")
    bob = await harness.join("bob", video=False, audio=False)
    await bob.wait_media("alice", video=1, audio=1)
    answer = next(
        m
        for m in harness.from_sfu
        if isinstance(m, Handshake) and m.connection == "producer" and m.sdp is not None
    )
    offer = bob.offers[-1]
    for sdp in (answer.sdp, offer.sdp):
        assert sdp is not None
        opus = next(
            line.split()[0].split(":")[1]
            for line in sdp.sdp.splitlines()
            if line.startswith("a=rtpmap:") and "opus/48000" in line
        )
        assert f"a=fmtp:{opus} minptime=10;useinbandfec=1;usedtx=1" in sdp.sdp.splitlines()


async def test_the_stats_count_what_each_subscriber_receives(harness: Harness) -> None:
    await harness.join("alice")
    await harness.join("carol")
    bob = await harness.join("bob", video=False, audio=False)
    await bob.wait_media("alice", video=2, audio=2)
    await bob.wait_media("carol", video=2, audio=2)
    assert harness.room.stats().receiving["bob"] == {"audio": 2, "video": 2}
    await bob.channel_open.wait()
    bob.send_message(Subscription(producer_id="carol", video=False))
    await until(
        lambda: harness.room.stats().receiving["bob"] == {"audio": 2, "video": 1},
        "carol's video to be paused for bob",
    )
