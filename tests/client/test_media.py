"""Synthetic media: the test pattern moves, has the asked size and colour; the tone is 48 kHz."""

from __future__ import annotations

import asyncio

import av
import numpy as np
import pytest

from arbiter_client import (
    Room,
    TestPatternVideoTrack,
    ToneAudioTrack,
    TrackSource,
    color_for_name,
)

from .fake_sfu import FakeServer
from .test_room import wait_until

pytestmark = pytest.mark.timeout(10)


async def test_pattern_frames_move_and_have_the_asked_size() -> None:
    track = TestPatternVideoTrack(size=(320, 240), fps=60, color=(200, 40, 40))
    first, second = await track.recv(), await track.recv()
    assert isinstance(first, av.VideoFrame)
    assert (first.width, first.height) == (320, 240)
    assert second.pts > first.pts
    assert not np.array_equal(first.to_ndarray(), second.to_ndarray())
    pixel = first.to_ndarray(format="rgb24")[200, 300]
    assert np.allclose(pixel, (200, 40, 40), atol=8)
    track.stop()


async def test_pattern_is_paced() -> None:
    track = TestPatternVideoTrack(size=(64, 48), fps=50)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(6):
        await track.recv()
    assert loop.time() - started >= 5 / 50 * 0.9


async def test_tone_frames() -> None:
    track = ToneAudioTrack(frequency=1000)
    frame = await track.recv()
    assert isinstance(frame, av.AudioFrame)
    assert (frame.sample_rate, frame.samples, frame.layout.name) == (48_000, 960, "mono")
    samples = frame.to_ndarray()
    assert samples.dtype == np.int16 and samples.max() > 5000
    assert (await track.recv()).pts == 960


def test_colours_differ_by_name() -> None:
    assert color_for_name("alice") == color_for_name("alice")
    assert len({color_for_name(n) for n in ("alice", "bob", "carol", "dave")}) > 1


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        TestPatternVideoTrack(size=(641, 480))


@pytest.mark.timeout(40)
async def test_publish_choices(fake: FakeServer) -> None:
    fake.offer_consumer = False
    with pytest.raises(ValueError, match="publish must be"):
        await Room.join(fake.room_url(), publish="webcam")
    assert fake.join_requests == []  # refused before anything was sent
    with pytest.raises(ValueError):
        TrackSource(video=ToneAudioTrack())

    async with Room.join(fake.room_url(), audio=False, video_size=(160, 120)) as room:
        local = room.local_participant
        assert local.audio is None and local.video is not None
        pattern = local.video.source
        assert isinstance(pattern, TestPatternVideoTrack)  # the room's own test pattern
        await wait_until(lambda: len(fake.sessions[-1].producer_tracks) == 1)
        assert [t.kind for t in fake.sessions[-1].producer_tracks] == ["video"]
    assert pattern.readyState == "ended"  # the room made it: the room closed it

    async with Room.join(fake.room_url(), publish=None) as room:
        assert room.local_participant.audio is None and room.local_participant.video is None

    mine = TrackSource(audio=ToneAudioTrack())
    async with Room.join(fake.room_url(), publish=mine) as room:
        assert room.local_participant.video is None
        assert room.local_participant.audio is not None
        assert room.local_participant.audio.source is mine.audio
    assert mine.audio is not None and mine.audio.readyState == "live"  # yours: left open
    mine.close()
