"""Room against the fake server: join, subscribe, data, errors, leave, cleanup."""

from __future__ import annotations

import asyncio
import base64
import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

import av
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

import arbiter_rtc.connection
from arbiter_client import (
    ConnectionLost,
    ConnectionStateChanged,
    DataReceived,
    Disconnected,
    Event,
    EventStream,
    JoinTimeout,
    ParticipantJoined,
    ParticipantLeft,
    ProtocolMismatch,
    Room,
    RoomClosed,
    RoomNotFound,
    RoomState,
    TrackSubscribed,
    TrackUnsubscribed,
    Unauthorized,
)
from arbiter_protocol import (
    DataMessage,
    Handshake,
    IceCandidate,
    Identify,
    Leave,
    ParticipantInfo,
    encode_message,
    parse_message,
)
from arbiter_protocol import ParticipantJoined as Joined
from arbiter_protocol import ParticipantLeft as Left

from .fake_sfu import CONSUMER_SIZE, FakeServer

pytestmark = pytest.mark.timeout(30)

WAIT = 10.0
E = TypeVar("E", bound=Event)


def client_tasks() -> list[asyncio.Task[Any]]:
    """Tasks still running client code, websockets, aiortc or aioice for the client."""
    found = []
    for task in asyncio.all_tasks():
        if task is asyncio.current_task() or task.done():
            continue
        code = getattr(task.get_coro(), "cr_code", None)
        filename = code.co_filename if code is not None else ""
        if task.get_name().startswith("arbiter-client") or (
            "arbiter_client" in filename or "arbiter_rtc" in filename
        ):
            found.append(task)
        elif "/websockets/" in filename:
            found.append(task)
    return found


async def wait_until(predicate: Callable[[], bool], timeout: float = WAIT) -> None:
    """Wait for a condition that has no event of its own (checked every 20 ms)."""

    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def next_event(stream: EventStream, kind: type[E]) -> E:
    """The next event of ``kind`` (skipping others), within WAIT seconds."""

    async def find() -> E:
        async for event in stream:
            if isinstance(event, kind):
                return event
        raise AssertionError(f"stream ended before a {kind.__name__}")

    return await asyncio.wait_for(find(), WAIT)


async def test_join_subscribe_and_receive_video(
    fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    configurations: list[RTCConfiguration | None] = []

    class RecordingPeerConnection(RTCPeerConnection):  # type: ignore[misc]
        def __init__(self, configuration: RTCConfiguration | None = None) -> None:
            configurations.append(configuration)
            super().__init__(configuration)

    monkeypatch.setattr(arbiter_rtc.connection, "RTCPeerConnection", RecordingPeerConnection)
    room = await Room.join(fake.room_url(), name="bot", video_size=(160, 120), timeout=WAIT)
    try:
        assert room.state is RoomState.CONNECTED
        assert room.room_id == "demo"
        assert room.participant_id == "p1"
        assert room.local_participant.name == "bot"
        assert fake.join_requests[0].name == "bot"
        session = fake.sessions[0]
        assert [m.action for m in session.received[:2]] == ["identify", "handshake"]
        assert isinstance(session.received[0], Identify)
        assert session.received[0].token == "token-p1"
        offer = session.received[1]
        assert isinstance(offer, Handshake) and offer.connection == "producer"
        assert offer.sdp is not None and offer.sdp.type == "offer"
        for section in ("m=audio", "m=video", "m=application"):
            assert section in offer.sdp.sdp

        events = room.events()
        joined = await next_event(events, ParticipantJoined)
        assert (joined.participant.id, joined.participant.name) == ("alice", "Alice")
        subscribed = await next_event(events, TrackSubscribed)
        while subscribed.kind != "video":
            subscribed = await next_event(events, TrackSubscribed)
        # producer + one consumer, each with an explicit (empty) ICE server list:
        # None would make aiortc fall back to a public STUN server
        assert len(configurations) == 2
        assert all(c is not None and c.iceServers == [] for c in configurations)
        assert subscribed.participant is room.participants["alice"]
        assert room.participants["alice"].video is subscribed.track

        frame = await asyncio.wait_for(subscribed.track.recv(), WAIT)
        assert isinstance(frame, av.VideoFrame)
        assert (frame.width, frame.height) == CONSUMER_SIZE
        assert frame.to_ndarray(format="rgb24").shape == (CONSUMER_SIZE[1], CONSUMER_SIZE[0], 3)

        # the fake SFU receives our test pattern too
        assert sorted(t.kind for t in session.producer_tracks) == ["audio", "video"]
        video = next(t for t in session.producer_tracks if t.kind == "video")
        ours = await asyncio.wait_for(video.recv(), WAIT)
        assert (ours.width, ours.height) == (160, 120)
    finally:
        await room.leave()
    assert room.state is RoomState.CLOSED
    assert isinstance(await next_event(events, Disconnected), Disconnected)
    assert isinstance(session.received[-1], Leave)
    assert client_tasks() == []


async def test_leave_is_idempotent_and_ends_streams(fake: FakeServer) -> None:
    fake.offer_consumer = False
    room = await Room.join(fake.room_url(), publish=None, timeout=WAIT)
    stream = room.events()
    await asyncio.gather(room.leave(), room.leave())
    await room.leave()
    seen = [event async for event in stream]
    assert seen == [
        seen[0],
        ConnectionStateChanged(state="connected", reason=None),
        ConnectionStateChanged(state="disconnected", reason="left"),
        Disconnected(reason="left"),
    ]
    assert isinstance(seen[0], ParticipantJoined)
    assert room.connection_state == "disconnected"
    assert sum(isinstance(m, Leave) for m in fake.sessions[0].received) == 1
    await asyncio.wait_for(fake.sessions[0].closed.wait(), WAIT)
    with pytest.raises(RoomClosed):
        await room.send("late")
    with pytest.raises(RoomClosed):
        async with room:
            pass
    assert client_tasks() == []


async def test_async_with_leaves_on_exit(fake: FakeServer) -> None:
    fake.offer_consumer = False
    async with Room.join(fake.room_url(), publish=None, timeout=WAIT) as room:
        assert room.state is RoomState.CONNECTED
    assert room.state is RoomState.CLOSED
    assert isinstance(fake.sessions[0].received[-1], Leave)


async def test_data_messages_follow_the_protocol(fake: FakeServer) -> None:
    fake.sfu_ready = False  # identified, then sfu_ready
    fake.offer_consumer = False
    async with Room.join(fake.room_url(), publish=None, timeout=WAIT) as room:
        session = fake.sessions[0]
        await room.send("hello", topic="chat")
        await room.send(b"\x00\x01\xff", to="alice")
        raw_text = await asyncio.wait_for(session.channel_messages.get(), WAIT)
        raw_bytes = await asyncio.wait_for(session.channel_messages.get(), WAIT)
        assert isinstance(raw_text, str)
        text = parse_message(raw_text)
        binary = parse_message(raw_bytes)
        assert isinstance(text, DataMessage) and isinstance(binary, DataMessage)
        assert (text.kind, text.data, text.topic, text.to, text.sender) == (
            "text",
            "hello",
            "chat",
            None,
            None,
        )
        assert (binary.kind, binary.to) == ("bytes", ["alice"])
        assert base64.b64decode(binary.data) == b"\x00\x01\xff"
        assert text.id != binary.id

        # the SFU relays a message from alice: it arrives as DataReceived
        events = room.events()
        assert session.channel is not None
        for kind, data in (("text", "hi bot"), ("bytes", base64.b64encode(b"\x07").decode())):
            message = DataMessage(kind=kind, data=data, id=f"m-{kind}", sender="alice")
            session.channel.send(encode_message(message))
        first = await next_event(events, DataReceived)
        second = await next_event(events, DataReceived)
        assert (first.sender, first.data, first.message_id) == ("alice", "hi bot", "m-text")
        assert (second.sender, second.data) == ("alice", b"\x07")

        with pytest.raises(ValueError):
            await room.send("x", topic="t" * 65)
        with pytest.raises(ValueError):
            await room.send("x" * (64 * 1024 + 1))


async def test_participant_left_ends_its_tracks(fake: FakeServer) -> None:
    """Its tracks end (events first); the one consumer connection stays for the others."""
    async with Room.join(fake.room_url(), publish=None, timeout=WAIT) as room:
        events = room.events()
        kinds: set[str] = set()
        while kinds != {"audio", "video"}:
            kinds.add((await next_event(events, TrackSubscribed)).kind)
        (sfu_end,) = fake.sessions[0].consumers  # the fake SFU's end of the consumer
        await wait_until(lambda: sfu_end.connectionState == "connected")
        await fake.sessions[0].send(Left(participant_id="alice", reason="left"))
        gone: list[Event] = []
        while len(gone) < 3:
            event = await asyncio.wait_for(events.__anext__(), WAIT)
            if not isinstance(event, ConnectionStateChanged):
                gone.append(event)
        assert [type(e) for e in gone] == [TrackUnsubscribed, TrackUnsubscribed, ParticipantLeft]
        unsubscribed, left = gone[:2], gone[2]
        assert {e.kind for e in unsubscribed if isinstance(e, TrackUnsubscribed)} == {
            "audio",
            "video",
        }
        assert isinstance(left, ParticipantLeft)
        assert (left.participant.id, left.reason) == ("alice", "left")
        assert "alice" not in room.participants
        assert left.participant.video is None and not left.participant.tracks
        assert [c.connection for c in (await room.stats()).connections] == ["producer", "consumer"]
        assert sfu_end.connectionState == "connected"


async def test_every_event_stream_gets_every_event(fake: FakeServer) -> None:
    fake.offer_consumer = False
    async with Room.join(fake.room_url(), publish=None, timeout=WAIT) as room:
        first, second = room.events(), room.events()
        joined: list[str] = []
        room.on("participant_joined", lambda e: joined.append(e.participant.id))
        await fake.sessions[0].send(Joined(participant=ParticipantInfo(id="bob", name="Bob")))
        # the first stream also gets the backlog from the join (alice)
        assert (await next_event(first, ParticipantJoined)).participant.id == "alice"
        assert (await next_event(first, ParticipantJoined)).participant.id == "bob"
        assert (await next_event(second, ParticipantJoined)).participant.id == "bob"
        assert joined == ["bob"]
        with pytest.raises(TypeError):

            async def handler(event: ParticipantJoined) -> None: ...

            room.on("participant_joined", handler)  # type: ignore[arg-type]


async def test_signaling_drop_emits_disconnected_when_reconnection_is_off(
    fake: FakeServer,
) -> None:
    fake.offer_consumer = False
    room = await Room.join(fake.room_url(), publish=None, timeout=WAIT, reconnect_timeout=0)
    events = room.events()
    await fake.sessions[0].ws.close()
    event = await next_event(events, Disconnected)
    assert "signaling connection closed" in event.reason
    await asyncio.wait_for(room.wait_closed(), WAIT)
    assert room.state is RoomState.CLOSED
    with pytest.raises(RoomClosed):
        await room.send("anyone?")
    await room.leave()  # still fine
    assert client_tasks() == []


async def test_room_not_found(fake: FakeServer) -> None:
    with pytest.raises(RoomNotFound) as info:
        await Room.join(fake.room_url("missing"), timeout=WAIT)
    assert info.value.status_code == 404
    assert info.value.code == "room_not_found"
    assert "does not exist" in str(info.value)
    assert client_tasks() == []


async def test_bad_join_response_is_a_protocol_mismatch(fake: FakeServer) -> None:
    with pytest.raises(ProtocolMismatch):
        await Room.join(fake.room_url("garbage"), timeout=WAIT)


async def test_identify_error_raises_unauthorized(fake: FakeServer) -> None:
    fake.identify_error = "unauthorized"
    with pytest.raises(Unauthorized) as info:
        await Room.join(fake.room_url(), timeout=WAIT)
    assert info.value.code == "unauthorized"
    await asyncio.wait_for(fake.sessions[0].closed.wait(), WAIT)
    assert client_tasks() == []


async def test_unreachable_server_raises_connection_lost() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connection refused
        with pytest.raises(ConnectionLost):
            await Room.join(f"http://127.0.0.1:{port}/rooms/demo", timeout=WAIT)


@pytest.mark.parametrize("where", ["http", "identify"])
async def test_join_timeout_leaves_nothing_behind(fake: FakeServer, where: str) -> None:
    fake.hang_identify = True
    url = fake.room_url("hang" if where == "http" else "demo")
    started = time.monotonic()
    with pytest.raises(JoinTimeout) as info:
        await Room.join(url, timeout=0.5)
    assert ("join request" if where == "http" else "identified") in str(info.value)
    assert time.monotonic() - started < 3
    if where == "identify":
        await asyncio.wait_for(fake.sessions[0].closed.wait(), WAIT)
    assert client_tasks() == []


async def test_cancelling_join_leaves_nothing_behind(fake: FakeServer) -> None:
    fake.hang_identify = True
    join = asyncio.ensure_future(Room.join(fake.room_url(), timeout=WAIT))
    await asyncio.wait_for(fake.new_session.wait(), WAIT)
    await asyncio.wait_for(fake.sessions[0].identify_seen.wait(), WAIT)
    join.cancel()
    with pytest.raises(asyncio.CancelledError):
        await join
    await asyncio.wait_for(fake.sessions[0].closed.wait(), WAIT)
    assert client_tasks() == []


async def test_join_from_asyncio_run_in_another_thread(fake: FakeServer) -> None:
    fake.offer_consumer = False

    async def main() -> str:
        async with Room.join(fake.room_url(), publish=None, timeout=WAIT) as room:
            return room.participant_id

    assert await asyncio.to_thread(asyncio.run, main()) == "p1"


async def test_trickled_candidates_are_applied(
    fake: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    fake.trickle = True
    async with Room.join(fake.room_url(), publish=None, timeout=WAIT) as room:
        events = room.events()
        subscribed = await next_event(events, TrackSubscribed)
        while subscribed.kind != "video":
            subscribed = await next_event(events, TrackSubscribed)
        frame = await asyncio.wait_for(subscribed.track.recv(), WAIT)
        assert (frame.width, frame.height) == CONSUMER_SIZE
        candidates = [
            m for m in fake.sessions[0].received if isinstance(m, Handshake) and m.candidate
        ]
        assert candidates == []  # aiortc puts its candidates in the SDP
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]


async def test_a_candidate_that_names_no_media_section_is_ignored(
    fake: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    """One rule at both ends (arbiter_rtc): no media section, no guessing section 0."""
    fake.offer_consumer = False
    async with Room.join(fake.room_url(), publish=None, timeout=WAIT) as room:
        line = "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host"
        await fake.sessions[0].send(
            Handshake(connection="producer", candidate=IceCandidate(candidate=line))
        )
        await wait_until(lambda: "needs 'sdpMid' or 'sdpMLineIndex'" in caplog.text)
        assert room.state is RoomState.CONNECTED
        await room.send("still here")
        assert parse_message(await asyncio.wait_for(fake.sessions[0].channel_messages.get(), WAIT))


async def test_attachments_stop_when_the_room_closes(fake: FakeServer) -> None:
    class Probe:
        def __init__(self) -> None:
            self.stops = 0

        async def stop(self) -> None:
            self.stops += 1

    fake.offer_consumer = False
    kept, detached = Probe(), Probe()
    async with Room.join(fake.room_url(), publish=None, timeout=WAIT) as room:
        room.attach(kept)
        room.attach(kept)  # once is enough
        room.attach(detached)
        room.detach(detached)
    assert (kept.stops, detached.stops) == (1, 0)
    with pytest.raises(RoomClosed):
        room.attach(Probe())
