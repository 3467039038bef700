"""What every meeting has, from the Python client, against the real local stack (gateway,
SQLite, SFU subprocesses): a shared screen, the active speakers, a new name and a raised
hand, following the speakers, switching the camera mid-call, listing devices."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arbiter_client import (
    ActiveSpeakersChanged,
    DeviceNotFound,
    EventStream,
    LocalParticipant,
    MediaDevice,
    ParticipantUpdated,
    RemoteParticipant,
    RemoteTrack,
    Room,
    TestPatternVideoTrack,
    ToneAudioTrack,
    TrackMuted,
    TrackSource,
    TrackSubscribed,
    TrackUnsubscribed,
    list_devices,
)
from arbiter_server.launcher.subprocess import SubprocessLauncher
from arbiter_server.local import LocalStack

from .test_room import next_event, wait_until

pytestmark = pytest.mark.timeout(90)

WAIT = 20.0


def sfu_state(stack: LocalStack, room_id: str) -> dict[str, Any]:
    """The room's SFU process's state file (``RoomStats``), ``{}`` before it exists."""
    launcher = stack.launcher
    assert isinstance(launcher, SubprocessLauncher)
    path = launcher.state_path(room_id)
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state


def receiving(stack: LocalStack, room_id: str, participant_id: str) -> dict[str, int]:
    """What the SFU forwards to ``participant_id`` now: ``{"audio": n, "video": n}``."""
    received: dict[str, int] = (
        sfu_state(stack, room_id).get("receiving", {}).get(participant_id, {})
    )
    return received


async def colour_frames(colour: tuple[int, int, int], count: int) -> AsyncIterator[np.ndarray]:
    image = np.zeros((360, 640, 3), dtype=np.uint8)
    image[:] = colour
    for _ in range(count):
        yield image


async def blue(track: RemoteTrack) -> None:
    """Return once ``track`` shows a blue picture (a frame of what it showed before the
    section was taken up again may come first)."""
    async for image in track.frames():
        if image[..., 2].mean() > 180 and image[..., 0].mean() < 60:
            return


async def next_screen(events: EventStream) -> TrackSubscribed:
    """The next ``TrackSubscribed`` of a screen (camera and microphone ones are skipped)."""
    while True:
        event = await next_event(events, TrackSubscribed)
        if event.source == "screen":
            return event


async def subscribed(
    room: Room, participant_id: str, source: str, timeout: float = WAIT
) -> RemoteTrack:
    """Wait for ``participant_id``'s track of ``source`` at ``room`` (already or soon)."""

    def find() -> RemoteTrack | None:
        participant = room.participants.get(participant_id)
        if participant is None:
            return None
        return next((t for t in participant.tracks.values() if t.source == source), None)

    await wait_until(lambda: find() is not None, timeout)
    track = find()
    assert track is not None
    return track


async def test_a_bot_shares_numpy_frames_as_a_screen_beside_its_camera(stack: LocalStack) -> None:
    await stack.create_room("screen")
    url = stack.room_url("screen")
    async with (
        Room.join(url, name="sharer", video_size=(320, 240), timeout=WAIT) as sharer,
        Room.join(url, name="viewer", publish=None, timeout=WAIT) as viewer,
    ):
        events = viewer.events()
        camera = await subscribed(viewer, sharer.participant_id, "camera")
        consumer = viewer._c.link.consumers.consumer
        producer = sharer._c.link.producer

        local = await sharer.publish_screen(colour_frames((220, 30, 30), 400), fps=10)
        assert sharer.local_participant.screen is local and not local.muted
        event = await next_screen(events)
        assert (event.source, event.kind, event.track.source) == ("screen", "video", "screen")
        assert event.participant.screen is event.track
        image = await asyncio.wait_for(anext(event.track.frames()), WAIT)
        assert image.shape == (360, 640, 3)
        assert abs(image[..., 0].mean() - 220) < 25 and image[..., 2].mean() < 60  # red
        # the camera flows on, on the same connections (renegotiated, not replaced)
        seen = camera.frames_received
        await wait_until(lambda: camera.frames_received > seen + 5)
        assert viewer._c.link.consumers.consumer is consumer
        assert sharer._c.link.producer is producer
        assert event.participant.video is camera  # the camera stays the participant's video

        await sharer.set_screen_enabled(False)
        muted = await next_event(events, TrackMuted)
        assert (muted.track_id, muted.kind, muted.muted) == ("screen", "video", True)
        assert event.participant.screen_muted and not event.participant.video_muted

        await sharer.unpublish_screen()
        gone = await next_event(events, TrackUnsubscribed)
        assert gone.track is event.track and gone.participant.screen is None
        assert sharer.local_participant.screen is None

        # sharing again takes up the same section and starts unmuted
        await sharer.publish_screen(colour_frames((30, 30, 220), 400), fps=10)
        again = await next_screen(events)
        assert again.source == "screen" and again.track is not event.track
        await asyncio.wait_for(blue(again.track), WAIT)
        await wait_until(lambda: not again.participant.screen_muted)
        assert viewer._c.link.consumers.consumer is consumer


async def test_a_screen_that_cannot_be_captured_is_refused_clearly(stack: LocalStack) -> None:
    await stack.create_room("noscreen")
    async with Room.join(stack.room_url("noscreen"), name="bot", timeout=WAIT) as room:
        with pytest.raises(DeviceNotFound, match="X11 display|x11grab"):
            await room.publish_screen("x11:97")  # no X server on display :97
        with pytest.raises(ValueError, match="no such file"):
            await room.publish_screen("file:/nonexistent/talk.mp4")
        with pytest.raises(ValueError, match="video"):
            await room.publish_screen(ToneAudioTrack())
        assert room.local_participant.screen is None


class SpeakerLog:
    """Every ActiveSpeakersChanged of one room, with when it came (a callback)."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.changes: list[tuple[float, list[str]]] = []
        room.on("active_speakers_changed", self._on)

    def _on(self, event: ActiveSpeakersChanged) -> None:
        self.changes.append((time.monotonic(), [p.id for p in event.speakers]))

    @property
    def latest(self) -> list[str]:
        return self.changes[-1][1] if self.changes else []


async def test_the_bot_whose_tone_is_on_is_the_active_speaker_at_every_client(
    stack: LocalStack,
) -> None:
    await stack.create_room("talk")
    url = stack.room_url("talk")
    bots = [
        await Room.join(
            url,
            name=f"bot{i}",
            publish=TrackSource(audio=ToneAudioTrack(volume=0.0)),  # silence
            video=False,
            timeout=WAIT,
        )
        for i in range(4)
    ]
    logs = [SpeakerLog(bot) for bot in bots]
    ids = [bot.participant_id for bot in bots]
    try:
        await wait_until(lambda: all(len(b.participants) == 3 for b in bots))
        first = time.monotonic()
        await bots[0].publish_track(ToneAudioTrack(volume=0.3))
        await wait_until(lambda: all(log.latest[:1] == [ids[0]] for log in logs), 5)
        took = time.monotonic() - first
        assert took < 1.0, f"the talker was the active speaker after {took:.2f} s"
        assert all(log.latest == [ids[0]] for log in logs)  # the silent ones are absent
        assert [p.id for p in bots[1].active_speakers] == [ids[0]]
        assert bots[1].participants[ids[0]].is_speaking
        assert bots[0].local_participant.is_speaking  # the talker hears it of itself

        second = time.monotonic()
        await bots[0].set_microphone_enabled(False)
        await bots[2].publish_track(ToneAudioTrack(volume=0.3))
        await wait_until(lambda: all(log.latest[:1] == [ids[2]] for log in logs), 5)
        took = time.monotonic() - second
        assert took < 1.0, f"the new talker led after {took:.2f} s"
        await wait_until(lambda: all(log.latest == [ids[2]] for log in logs), 5)
        assert not bots[1].participants[ids[0]].is_speaking
        for log in logs:  # at most 4 updates a second
            times = [t for t, _ in log.changes]
            gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
            assert all(gap > 0.2 for gap in gaps), gaps
    finally:
        await asyncio.gather(*(bot.leave() for bot in bots))


async def test_a_rename_and_a_raised_hand_reach_everyone_and_a_late_joiner(
    stack: LocalStack,
) -> None:
    await stack.create_room("hands")
    url = stack.room_url("hands")
    async with (
        Room.join(url, name="ada", publish=None, timeout=WAIT) as ada,
        Room.join(url, name="bob", publish=None, timeout=WAIT) as bob,
    ):
        await wait_until(lambda: ada.participant_id in bob.participants)
        events = bob.events()
        own: list[ParticipantUpdated] = []
        ada.on("participant_updated", own.append)
        await ada.set_hand_raised(True)
        assert ada.local_participant.hand_raised
        update = await next_event(events, ParticipantUpdated)
        assert isinstance(update.participant, RemoteParticipant)
        assert update.participant.id == ada.participant_id and update.participant.hand_raised
        await ada.set_name("Ada Lovelace")
        assert (await next_event(events, ParticipantUpdated)).participant.name == "Ada Lovelace"
        assert ada.local_participant.name == "Ada Lovelace"
        assert [isinstance(e.participant, LocalParticipant) for e in own] == [True, True]
        with pytest.raises(ValueError, match="empty"):
            await ada.set_name("   ")

        async with Room.join(url, name="late", publish=None, timeout=WAIT) as late:
            seen = late.participants[ada.participant_id]
            assert (seen.name, seen.hand_raised) == ("Ada Lovelace", True)
            await ada.set_hand_raised(False)
            await wait_until(lambda: not seen.hand_raised)


async def test_following_the_speakers_receives_only_their_video(stack: LocalStack) -> None:
    await stack.create_room("follow")
    url = stack.room_url("follow")
    speakers = [
        await Room.join(
            url,
            name=f"s{i}",
            publish=TrackSource(
                video=TestPatternVideoTrack(size=(160, 120), fps=10),
                audio=ToneAudioTrack(volume=0.0),
            ),
            timeout=WAIT,
        )
        for i in range(3)
    ]
    try:
        async with Room.join(url, name="watcher", publish=None, timeout=WAIT) as watcher:
            await wait_until(lambda: len(watcher.participants) == 3)
            await wait_until(
                lambda: receiving(stack, "follow", watcher.participant_id).get("video") == 3
            )
            follower = await watcher.follow_speakers(1)
            assert follower.followed == [speakers[0].participant_id]
            await wait_until(
                lambda: (
                    receiving(stack, "follow", watcher.participant_id) == {"audio": 3, "video": 1}
                )
            )
            await speakers[2].publish_track(ToneAudioTrack(volume=0.3))
            await wait_until(lambda: follower.followed == [speakers[2].participant_id])
            track = watcher.participants[speakers[2].participant_id].video
            assert track is not None
            seen = track.frames_received
            await wait_until(lambda: track.frames_received > seen + 3)
            assert receiving(stack, "follow", watcher.participant_id) == {"audio": 3, "video": 1}
            await follower.stop()
            await wait_until(
                lambda: (
                    receiving(stack, "follow", watcher.participant_id) == {"audio": 3, "video": 3}
                )
            )
    finally:
        await asyncio.gather(*(s.leave() for s in speakers))


async def test_switching_the_camera_mid_call_needs_no_new_connection(stack: LocalStack) -> None:
    await stack.create_room("switch")
    url = stack.room_url("switch")
    async with (
        Room.join(url, name="cam", video_size=(320, 240), timeout=WAIT) as cam,
        Room.join(url, name="viewer", publish=None, timeout=WAIT) as viewer,
    ):
        video = await subscribed(viewer, cam.participant_id, "camera")
        await wait_until(lambda: video.frames_received > 3)
        consumer = viewer._c.link.consumers.consumer
        other = TestPatternVideoTrack(size=(480, 270), fps=15, color=(20, 220, 40))
        await cam.switch_camera(other)

        async def new_size() -> None:
            async for image in video.frames():
                if image.shape[:2] == (270, 480):
                    assert image[..., 1].mean() > 120  # the green pattern
                    return

        await asyncio.wait_for(new_size(), WAIT)
        assert viewer._c.link.consumers.consumer is consumer
        assert viewer.participants[cam.participant_id].video is video  # the same track
        with pytest.raises(DeviceNotFound):
            await cam.switch_camera("/dev/video97")
        assert cam.local_participant.video is not None
        assert cam.local_participant.video.source is other  # the old one goes on


def test_devices_are_listed_from_the_system(tmp_path: Path) -> None:
    video = tmp_path / "sys" / "class" / "video4linux"
    for name, label, index in (("video0", "HD Webcam", "0"), ("video1", "HD Webcam", "1")):
        (video / name).mkdir(parents=True)
        (video / name / "name").write_text(label + "\n")
        (video / name / "index").write_text(index + "\n")
    (tmp_path / "proc" / "asound").mkdir(parents=True)
    (tmp_path / "proc" / "asound" / "pcm").write_text(
        "00-00: ALC892 Analog : ALC892 Analog : playback 1 : capture 1\n"
        "01-03: HDMI 0 : HDMI 0 : playback 1\n"
    )
    assert list_devices(root=tmp_path) == [
        MediaDevice("camera", "/dev/video0", "HD Webcam"),
        MediaDevice("microphone", "hw:0,0", "ALC892 Analog"),
        MediaDevice("speaker", "hw:0,0", "ALC892 Analog"),
        MediaDevice("speaker", "hw:1,3", "HDMI 0"),
        MediaDevice("microphone", "default", "default microphone"),
        MediaDevice("speaker", "default", "default speaker"),
    ]
    assert [d.id for d in list_devices("camera", root=tmp_path)] == ["/dev/video0"]
    # this machine: whatever it has, each with an id to open it by
    assert all(d.id and d.label for d in list_devices())
