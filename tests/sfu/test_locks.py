"""A moderator's lock on a track, as the SFU enforces it (real aiortc peers, in-memory
signaling): the locked track is forwarded to nobody, its owner cannot unmute it, everyone
(the owner too, late joiners too) is told who holds it, and lifting the lock brings the
media back. A grant without ``screen`` cannot publish a screen track."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from arbiter_protocol import (
    Error,
    Grant,
    ParticipantInfo,
    ParticipantJoined,
    TrackInfo,
    TrackState,
)

from .conftest import Harness

pytestmark = pytest.mark.timeout(30)


async def _until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def test_a_locked_track_is_not_forwarded_and_cannot_be_unmuted(harness: Harness) -> None:
    alice = await harness.join("alice", size=(320, 240), luma=40)
    bob = await harness.join("bob", size=(352, 288), luma=128)
    await bob.wait_media("alice", video=5, audio=5)
    video = next(f for f in harness.room.tracks("alice") if f.kind == "video")

    await harness.room.handle(TrackState(kind="video", muted=True, sender="alice", by="mod"))
    locked = TrackState(kind="video", muted=True, sender="alice", by="mod")
    await bob.wait_data(lambda: locked in bob.track_states)
    await alice.wait_data(lambda: locked in alice.track_states)  # the owner is told too

    # alice keeps sending; the SFU reads her packets and forwards none of them
    assert video.muted
    read = video.stats().packets
    await _until(lambda: video.stats().packets >= read + 15)
    frames = bob.got("alice").video_frames
    audio = bob.got("alice").audio_frames
    await _until(lambda: video.stats().packets >= read + 60)
    assert bob.got("alice").video_frames == frames
    assert bob.got("alice").audio_frames > audio  # only the locked kind stops

    # alice cannot lift it herself; her own mute while locked keeps the lock's "by"
    alice.send_message(TrackState(kind="video", muted=False))
    await alice.wait_data(lambda: any(e.code == "forbidden" for e in alice.errors))
    assert "a moderator muted your video" in alice.errors[-1].message
    assert video.muted

    # a late joiner hears who holds it
    carol = await harness.join("carol", size=(256, 192), luma=210)
    await carol.wait_data(lambda: locked in carol.track_states)

    # lifted: still muted, but by nobody; the media is forwarded again
    await harness.room.handle(TrackState(kind="video", muted=False, sender="alice", by="mod"))
    lifted = TrackState(kind="video", muted=True, sender="alice")
    await bob.wait_data(lambda: lifted in bob.track_states)
    await bob.wait_until("alice", lambda got: got.video_frames >= frames + 10)
    assert not video.muted
    alice.send_message(TrackState(kind="video", muted=False))
    await bob.wait_data(
        lambda: TrackState(kind="video", muted=False, sender="alice") in bob.track_states
    )


async def test_a_new_sfu_learns_the_locks_from_the_participant_list(harness: Harness) -> None:
    await harness.room.handle(
        ParticipantJoined(participant=ParticipantInfo(id="dave", name="dave", locked=["audio"]))
    )
    dave = harness.room.participant("dave")
    assert dave is not None and dave.locked == {"audio": "app"}
    peer = await harness.join("erin")
    await peer.wait_data(
        lambda: TrackState(kind="audio", muted=True, sender="dave", by="app") in peer.track_states
    )


async def test_a_grant_without_screen_cannot_share_a_screen(harness: Harness) -> None:
    screen = [TrackInfo(id="screen", kind="video", source="screen", mid="1")]
    grants: list[Grant] = ["publish", "subscribe", "data"]
    await harness.join("eve", grants=grants, audio=True, video=True, tracks=screen)
    refusals = [m for m in harness.from_sfu if isinstance(m, Error) and m.participant_id == "eve"]
    assert [(r.code, r.message) for r in refusals] == [
        ("forbidden", "your grant does not allow sharing a screen")
    ]
    assert harness.room.tracks("eve") == []
    # the same grant publishes a camera; with "screen" the screen is taken
    await harness.join("cam", grants=grants)
    assert {f.source for f in harness.room.tracks("cam")} == {"camera", "microphone"}
    await harness.join("presenter", grants=[*grants, "screen"], tracks=screen)
    assert "screen" in {f.source for f in harness.room.tracks("presenter")}
