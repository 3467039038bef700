"""Against the fake server: frames() fan-out, mute, TrackMuted, chat, stats, publish_frames,
recording, the notebook view and the sync facade."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import av
import numpy as np
import pytest
from aiortc import MediaStreamTrack

from arbiter_client import (
    ArbiterError,
    ChatMessage,
    DeviceNotFound,
    MediaSourceError,
    NotPublishing,
    RemoteParticipant,
    RemoteTrack,
    Room,
    RoomView,
    TrackMuted,
    TrackSubscribed,
)
from arbiter_client import sync as sync_client
from arbiter_protocol import (
    DataMessage,
    Handshake,
    Subscription,
    TrackState,
    encode_message,
    parse_message,
)
from arbiter_protocol import ParticipantInfo as Info
from arbiter_protocol import ParticipantJoined as Joined

from .fake_sfu import CONSUMER_SIZE, FakeServer, Session
from .test_room import WAIT, client_tasks, next_event, wait_until

pytestmark = pytest.mark.timeout(40)


async def alice_tracks(room: Room) -> RemoteParticipant:
    events = room.events()
    kinds: set[str] = set()
    while kinds != {"audio", "video"}:
        kinds.add((await next_event(events, TrackSubscribed)).kind)
    await events.aclose()
    return room.participants["alice"]


async def producer_track(session: Session, kind: str) -> MediaStreamTrack:
    await wait_until(lambda: any(t.kind == kind for t in session.producer_tracks))
    return next(t for t in session.producer_tracks if t.kind == kind)


@pytest.fixture
async def room(fake: FakeServer) -> AsyncIterator[Room]:
    async with Room.join(fake.room_url(), name="bot", video_size=(160, 120), timeout=WAIT) as r:
        yield r
    assert client_tasks() == []


async def test_frames_fan_out_to_every_consumer_as_numpy(room: Room) -> None:
    alice = await alice_tracks(room)
    video, audio = alice.video, alice.audio
    assert isinstance(video, RemoteTrack) and isinstance(audio, RemoteTrack)
    assert (video.kind, video.participant_id) == ("video", "alice")

    async def take(track: RemoteTrack, n: int, **options: object) -> list[np.ndarray]:
        got: list[np.ndarray] = []
        async for item in track.frames(**options):  # type: ignore[arg-type]
            got.append(item)
            if len(got) == n:
                break
        return got

    first, second = await asyncio.wait_for(
        asyncio.gather(take(video, 5, latest=False), take(video, 5, latest=False)), WAIT
    )
    width, height = CONSUMER_SIZE
    assert all(f.shape == (height, width, 3) and f.dtype == np.uint8 for f in first + second)
    # both consumers saw the same frames: nobody stole from the other
    assert any(np.array_equal(a, b) for a in first for b in second)
    frame = await asyncio.wait_for(video.recv(), WAIT)  # recv() keeps working alongside
    assert isinstance(frame, av.VideoFrame)

    pcm = (await asyncio.wait_for(take(audio, 3, latest=False), WAIT))[-1]
    assert pcm.dtype == np.int16 and pcm.ndim == 2 and pcm.shape[0] in (1, 2)
    floats = (await asyncio.wait_for(take(audio, 1, format="f32"), WAIT))[0]
    assert floats.dtype == np.float32 and np.abs(floats).max() <= 1.0
    await wait_until(lambda: alice.audio_level > 0.05)  # the fake's tone: RMS ~0.14
    assert alice.audio_level < 0.5 and alice.is_speaking
    assert video.fps is not None and video.fps > 5


async def test_latest_drops_to_the_newest_frame_for_a_slow_consumer(room: Room) -> None:
    video = (await alice_tracks(room)).video
    assert video is not None
    frames = video.av_frames(latest=True)
    first = await asyncio.wait_for(frames.__anext__(), WAIT)
    before = video.frames_received
    await wait_until(lambda: video.frames_received >= before + 10)  # we are "busy"
    newest = await asyncio.wait_for(frames.__anext__(), WAIT)
    assert newest.pts - first.pts >= 9 * 3000  # skipped the backlog (30 fps, 90 kHz)
    await frames.aclose()
    assert video.readers == 0  # a closed iterator leaves no buffer behind


async def test_mute_sends_track_state_and_silence(fake: FakeServer, room: Room) -> None:
    session = fake.sessions[0]
    assert not room.local_participant.audio_muted
    await room.set_microphone_enabled(False)
    assert room.local_participant.audio_muted
    raw = await asyncio.wait_for(session.channel_messages.get(), WAIT)
    assert parse_message(raw) == TrackState(kind="audio", muted=True)
    audio = await producer_track(session, "audio")

    async def until_silent() -> None:
        while np.abs((await audio.recv()).to_ndarray()).max() > 0:
            pass

    await asyncio.wait_for(until_silent(), WAIT)

    await room.set_camera_enabled(False)
    raw = await asyncio.wait_for(session.channel_messages.get(), WAIT)
    assert parse_message(raw) == TrackState(kind="video", muted=True)
    video = await producer_track(session, "video")

    async def until_black() -> None:
        while (await video.recv()).to_ndarray(format="gray").max() > 40:
            pass

    await asyncio.wait_for(until_black(), WAIT)
    await room.set_camera_enabled(True)
    assert not room.local_participant.video_muted
    raw = await asyncio.wait_for(session.channel_messages.get(), WAIT)
    assert parse_message(raw) == TrackState(kind="video", muted=False)


async def test_producer_offer_names_its_tracks_and_subscriptions_carry_quality(
    fake: FakeServer, room: Room
) -> None:
    session = fake.sessions[0]
    offer = next(
        m
        for m in session.received
        if isinstance(m, Handshake) and m.connection == "producer" and m.sdp is not None
    )
    assert offer.tracks is not None
    assert [(t.id, t.kind, t.source) for t in offer.tracks] == [
        ("microphone", "audio", "microphone"),
        ("camera", "video", "camera"),
    ]
    mids = [
        line[len("a=mid:") :] for line in offer.sdp.sdp.splitlines() if line.startswith("a=mid:")
    ]
    assert [t.mid for t in offer.tracks] == mids[:2]  # the audio and video sections

    await room.set_subscription("alice", quality="low")
    await room.set_subscription("alice", track_id="screen", video=False)
    got = [parse_message(await asyncio.wait_for(session.channel_messages.get(), WAIT))]
    got.append(parse_message(await asyncio.wait_for(session.channel_messages.get(), WAIT)))
    assert got == [
        Subscription(producer_id="alice", quality="low"),
        Subscription(producer_id="alice", track_id="screen", video=False),
    ]
    with pytest.raises(ValueError, match="quality"):
        await room.set_subscription("alice", quality="hd")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="track id"):
        await room.set_subscription("alice", track_id="my camera")
    # what is sent again to a new SFU after a reconnection: the merged wishes
    assert sorted(room._c.roster.subscriptions.values(), key=lambda m: m.track_id or "") == [
        Subscription(producer_id="alice", quality="low"),
        Subscription(producer_id="alice", track_id="screen", video=False, quality=None),
    ]


async def test_remote_track_state_becomes_track_muted(fake: FakeServer, room: Room) -> None:
    session = fake.sessions[0]
    alice = await alice_tracks(room)
    events = room.events()
    seen: list[TrackMuted] = []
    room.on("track_muted", seen.append)
    assert session.channel is not None
    session.channel.send(encode_message(TrackState(kind="audio", muted=True, sender="alice")))
    event = await next_event(events, TrackMuted)
    assert (event.participant, event.kind, event.muted) == (alice, "audio", True)
    assert alice.audio_muted and not alice.video_muted
    assert alice.audio_level == 0.0 and not alice.is_speaking
    # a repeat of the same state is not a change
    session.channel.send(encode_message(TrackState(kind="audio", muted=True, sender="alice")))
    # the state of someone signaling has not announced yet is kept for when it is
    session.channel.send(encode_message(TrackState(kind="video", muted=True, sender="bob")))
    session.channel.send(encode_message(TrackState(kind="audio", muted=False, sender="alice")))
    assert (await next_event(events, TrackMuted)).muted is False
    await session.send(Joined(participant=Info(id="bob", name="Bob")))
    await wait_until(lambda: "bob" in room.participants)
    assert room.participants["bob"].video_muted
    assert [e.muted for e in seen] == [True, False]


async def test_chat_both_ways(fake: FakeServer, room: Room) -> None:
    session = fake.sessions[0]
    await alice_tracks(room)
    await room.send_chat("  hello all ")
    sent = parse_message(await asyncio.wait_for(session.channel_messages.get(), WAIT))
    assert isinstance(sent, DataMessage)
    assert (sent.topic, sent.data, sent.kind) == ("chat", "hello all", "text")
    with pytest.raises(ValueError):
        await room.send_chat("   ")
    events = room.events()
    assert session.channel is not None
    message = DataMessage(kind="text", data="hi bot", id="c1", sender="alice", topic="chat")
    session.channel.send(encode_message(message))
    chat = await next_event(events, ChatMessage)
    assert (chat.sender, chat.name, chat.text, chat.message_id) == (
        "alice",
        "Alice",
        "hi bot",
        "c1",
    )
    assert chat.timestamp > 0


async def test_stats_cover_every_connection(room: Room) -> None:
    alice = await alice_tracks(room)
    assert alice.video is not None
    await wait_until(lambda: alice.video is not None and alice.video.frames_received > 10)
    stats = await room.stats()
    names = [c.connection for c in stats.connections]
    assert names == ["producer", "consumer"]
    producer, consumer = stats.connections
    assert producer.bitrate_out_kbps > 0 and consumer.bitrate_in_kbps > 0
    assert consumer.fps is not None and consumer.fps > 5
    assert producer.fps is not None and producer.fps > 5
    assert consumer.packets_lost >= 0 and consumer.rtt_ms is None
    assert stats.rtt_ms is not None and stats.rtt_ms >= 0  # RTCP or a signaling ping
    assert stats.get("consumer") is consumer
    assert stats.bitrate_in_kbps >= consumer.bitrate_in_kbps


async def test_publish_frames_then_the_previous_source_comes_back(
    fake: FakeServer, room: Room
) -> None:
    video = await producer_track(fake.sessions[0], "video")

    async def images() -> AsyncIterator[np.ndarray]:
        for _ in range(20):
            yield np.full((96, 128, 3), (250, 10, 10), dtype=np.uint8)

    task = asyncio.ensure_future(room.publish_frames(images(), fps=30))

    async def until_size(size: tuple[int, int]) -> av.VideoFrame:
        while True:
            frame = await video.recv()
            if (frame.width, frame.height) == size:
                return frame

    red = await asyncio.wait_for(until_size((128, 96)), WAIT)
    assert np.allclose(red.to_ndarray(format="rgb24")[48, 64], (250, 10, 10), atol=30)
    assert await asyncio.wait_for(task, WAIT) == 20
    await asyncio.wait_for(until_size((160, 120)), WAIT)  # the test pattern again
    with pytest.raises(ValueError):
        await room.publish_frames(_one(np.zeros((10, 10), dtype=np.uint8)), fps=10)


async def _one(image: np.ndarray) -> AsyncIterator[np.ndarray]:
    yield image


async def test_publish_track_echoes_a_remote_track(fake: FakeServer, room: Room) -> None:
    alice = await alice_tracks(room)
    assert alice.video is not None
    previous = await room.publish_track(alice.video)
    assert previous is not None and previous.kind == "video"
    video = await producer_track(fake.sessions[0], "video")

    async def until_echo() -> None:
        while ((frame := await video.recv()).width, frame.height) != CONSUMER_SIZE:
            pass

    await asyncio.wait_for(until_echo(), WAIT)


async def test_receive_only_cannot_mute_or_publish(fake: FakeServer) -> None:
    fake.offer_consumer = False
    async with Room.join(fake.room_url(), publish=None, timeout=WAIT) as room:
        assert room.local_participant.audio_muted and room.local_participant.video_muted
        with pytest.raises(NotPublishing):
            await room.set_microphone_enabled(False)
        with pytest.raises(NotPublishing):
            await room.publish_frames(_one(np.zeros((16, 16, 3), dtype=np.uint8)))


@pytest.mark.skipif(os.path.exists("/dev/video0"), reason="a camera is present")
async def test_no_camera_is_a_clear_error(fake: FakeServer) -> None:
    with pytest.raises(DeviceNotFound, match="/dev/video0"):
        await Room.join(fake.room_url(), publish="camera", timeout=WAIT)
    assert fake.sessions == []  # failed before contacting the server


async def test_record_writes_video_and_audio(room: Room, tmp_path: Path) -> None:
    await alice_tracks(room)
    path = tmp_path / "out.mp4"
    recorder = room.record(str(path), fps=10, size=(320, 180))
    await wait_until(lambda: recorder.frames_written >= 10)
    await recorder.stop()
    await recorder.stop()  # idempotent
    with av.open(str(path)) as container:
        kinds = sorted(s.type for s in container.streams)
        assert kinds == ["audio", "video"]
        frames = list(container.decode(video=0))
    assert len(frames) >= 10
    last = frames[-1].to_ndarray(format="rgb24")
    assert last.shape == (180, 320, 3) and last.max() > 100  # alice's picture, not black


async def test_notebook_view_shows_tiles(room: Room) -> None:
    await alice_tracks(room)
    view = RoomView(room, fps=10, tile_width=160)
    view.start()

    async def until_picture() -> None:
        while "alice" not in view.tiles or not view.image("alice"):
            view.changed.clear()
            await view.changed.wait()

    await asyncio.wait_for(until_picture(), WAIT)
    assert view.image("alice")[:2] == b"\xff\xd8"  # JPEG
    assert "Alice" in view.tiles["alice"].children[1].value


async def test_sync_facade(fake: FakeServer) -> None:
    fake.offer_consumer = False

    def script() -> tuple[str, str]:
        with sync_client.Room.join(fake.room_url(), name="script", publish=None) as room:
            room.send_chat("from a script")
            joined = next(iter(room.events(timeout=WAIT)))
            return room.participant_id, type(joined).__name__

    assert await asyncio.to_thread(script) == ("p1", "ParticipantJoined")
    message = parse_message(await asyncio.wait_for(fake.sessions[0].channel_messages.get(), WAIT))
    assert isinstance(message, DataMessage) and message.data == "from a script"


async def test_a_missing_file_to_publish_is_an_arbiter_error(fake: FakeServer) -> None:
    with pytest.raises(MediaSourceError, match="/no/such/file.mp4") as caught:
        await Room.join(fake.room_url(), publish="file:/no/such/file.mp4", timeout=WAIT)
    assert isinstance(caught.value, ArbiterError)
    assert fake.sessions == []  # failed before contacting the server


async def test_a_file_that_is_not_media_is_an_arbiter_error(
    fake: FakeServer, tmp_path: Path
) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a video")
    with pytest.raises(MediaSourceError, match="notes.txt"):
        await Room.join(fake.room_url(), publish=f"file:{junk}", timeout=WAIT)
    assert fake.sessions == []
