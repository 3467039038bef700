"""Reconnection: a dropped signaling WebSocket is resumed; a new SFU restarts the media.

The fake-server tests pin down the client's side of the protocol (resume request, backoff,
refusal, ``sfu_ready`` while connected, leave while reconnecting) in a few seconds. The
live tests run the real local stack: gateway, SQLite store and SFU processes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from arbiter_client import (
    ConnectionStateChanged,
    DataReceived,
    Disconnected,
    EventStream,
    ParticipantJoined,
    ParticipantLeft,
    RemoteTrack,
    Room,
    RoomState,
    TrackSubscribed,
)
from arbiter_protocol import (
    ErrorCode,
    Handshake,
    Leave,
    ProtocolError,
    SfuReady,
    TrackState,
    parse_message,
)
from arbiter_server.lambdas import maintenance, signaling
from arbiter_server.local import LocalStack

from .fake_sfu import FakeServer
from .test_features import alice_tracks
from .test_live import subscribed
from .test_room import WAIT, client_tasks, next_event, wait_until

pytestmark = pytest.mark.timeout(90)

LIVE_WAIT = 20.0


async def until_state(stream: EventStream, state: str) -> list[str]:
    """Connection states seen on ``stream`` up to and including ``state``.

    ``connected`` (from the join, kept for the first stream opened) is left out.
    """
    seen: list[str] = []
    while not seen or seen[-1] != state:
        event = await next_event(stream, ConnectionStateChanged)
        if event.state != "connected":
            seen.append(event.state)
    return seen


def recorder(room: Room) -> list[Any]:
    """Every event of ``room`` from now on, recorded by callbacks (no stream needed)."""
    seen: list[Any] = []
    for kind in ("participant_joined", "participant_left", "connection_state_changed"):
        room.on(kind, seen.append)
    return seen


# ---------------------------------------------------------------------- fake server


async def test_fake_resume_keeps_the_session_and_its_media(fake: FakeServer) -> None:
    fake.resume = "accept"
    room = await Room.join(fake.room_url(), publish=None, timeout=WAIT)
    alice = await alice_tracks(room)
    video = alice.video
    assert video is not None
    events = room.events()
    await fake.sessions[0].ws.close()
    assert await until_state(events, "reconnected") == ["reconnecting", "reconnected"]
    assert fake.resumes[-1].refresh_token == "refresh-p1"  # the credential, not the token
    assert room.participant_id == "p1" and room.state is RoomState.CONNECTED
    assert room.participants["alice"].video is video and not video.ended
    count = video.frames_received
    await wait_until(lambda: video.frames_received > count + 10)
    await room.leave()
    assert any(isinstance(m, Leave) for m in fake.sessions[-1].received)
    assert client_tasks() == []


async def test_fake_not_resumed_sets_the_media_up_again(fake: FakeServer) -> None:
    fake.resume, fake.resumed = "accept", False  # the server had dropped us meanwhile
    room = await Room.join(fake.room_url(), timeout=WAIT)
    old_video = (await alice_tracks(room)).video
    events = room.events()
    await fake.sessions[0].ws.close()
    assert await until_state(events, "reconnected") == ["reconnecting", "reconnected"]
    new_session = fake.sessions[-1]
    assert new_session.producer is not None  # a new producer offer on the new connection
    await wait_until(lambda: room.participants["alice"].video is not old_video)
    new_video = room.participants["alice"].video
    assert old_video is not None and old_video.ended and new_video is not None
    await wait_until(lambda: new_video.frames_received > 5)
    await room.leave()
    assert client_tasks() == []


async def test_fake_refused_resume_closes_the_room(fake: FakeServer) -> None:
    fake.offer_consumer = False
    room = await Room.join(fake.room_url(), publish=None, timeout=WAIT)
    events = room.events()
    await fake.sessions[0].ws.close()
    assert await until_state(events, "disconnected") == ["reconnecting", "disconnected"]
    gone = await next_event(events, Disconnected)
    assert gone.reason.startswith("reconnection refused: resume: refuse")
    await asyncio.wait_for(room.wait_closed(), WAIT)
    assert room.state is RoomState.CLOSED
    assert client_tasks() == []


async def test_fake_reconnection_gives_up_after_reconnect_timeout(fake: FakeServer) -> None:
    fake.offer_consumer = False
    fake.resume = "fail"  # 503 every time: worth retrying
    room = await Room.join(fake.room_url(), publish=None, timeout=WAIT, reconnect_timeout=1.5)
    events = room.events()
    started = time.monotonic()
    await fake.sessions[0].ws.close()
    gone = await next_event(events, Disconnected)
    elapsed = time.monotonic() - started
    assert 1.4 < elapsed < 3.0
    assert gone.reason.startswith("could not reconnect within 1.5 s")
    assert 3 <= len(fake.resumes) <= 5  # at once, then after 0.25, 0.5 (and 1) s
    assert client_tasks() == []


async def test_fake_leave_while_reconnecting(fake: FakeServer) -> None:
    fake.offer_consumer = False
    fake.resume = "hang"
    room = await Room.join(fake.room_url(), publish=None, timeout=WAIT)
    events = room.events()
    await fake.sessions[0].ws.close()
    assert await until_state(events, "reconnecting") == ["reconnecting"]
    await wait_until(lambda: len(fake.resumes) == 1)  # the resume hangs
    await asyncio.wait_for(room.leave(), 3.0)
    assert room.state is RoomState.CLOSED
    assert await until_state(events, "disconnected") == ["disconnected"]
    assert client_tasks() == []


async def test_fake_sfu_ready_while_connected_restarts_media(fake: FakeServer) -> None:
    room = await Room.join(fake.room_url(), timeout=WAIT)
    alice = await alice_tracks(room)
    old_video = alice.video
    assert old_video is not None
    await room.set_camera_enabled(False)
    events = room.events()
    session = fake.sessions[0]
    old_producer = session.producer
    await session.send(SfuReady(room_id="demo"))
    seen: list[Any] = []
    while _state_of(seen[-1] if seen else None) != "reconnected":
        seen.append(await asyncio.wait_for(events.__anext__(), WAIT))
    kinds = [type(e).__name__ for e in seen if not isinstance(e, ConnectionStateChanged)]
    assert sorted(kinds) == [*["TrackSubscribed"] * 2, *["TrackUnsubscribed"] * 2]
    assert kinds.index("TrackSubscribed") > kinds.index("TrackUnsubscribed")
    assert [_state_of(e) for e in seen if isinstance(e, ConnectionStateChanged)] == [
        "reconnecting",
        "reconnected",
    ]
    offers = [
        m for m in session.received if isinstance(m, Handshake) and m.connection == "producer"
    ]
    assert len(offers) == 2 and session.producer is not old_producer
    assert old_video.ended
    new_video = room.participants["alice"].video
    assert new_video is not None and new_video is not old_video
    await wait_until(lambda: new_video.frames_received > 5)
    # what we publish reaches the new producer (aiortc stops a sender's track on close)
    sent = [t for t in session.producer_tracks if t.kind == "video"]
    assert len(sent) == 2
    for _ in range(3):
        await asyncio.wait_for(sent[-1].recv(), WAIT)
    assert room.local_participant.video is not None
    assert room.local_participant.video.readyState == "live"
    # the new SFU is told the mute state again, on the new data channel
    states: list[tuple[str, bool]] = []
    while len(states) < 2:
        message = parse_message(await asyncio.wait_for(session.channel_messages.get(), WAIT))
        if isinstance(message, TrackState):
            states.append((message.kind, message.muted))
    assert states == [("video", True), ("video", True)]
    await room.leave()
    assert client_tasks() == []


async def test_fake_resumed_while_the_sfu_is_away_keeps_the_media(fake: FakeServer) -> None:
    """``identified {resumed: true, sfu_ready: false}``: the SFU's own socket is away; the
    media is kept (no new producer), and the room outlives its reconnect budget."""
    fake.resume, fake.resume_sfu_ready = "accept", False
    room = await Room.join(fake.room_url(), timeout=WAIT, reconnect_timeout=1.0)
    video = (await alice_tracks(room)).video
    assert video is not None
    events = room.events()
    await fake.sessions[0].ws.close()
    assert await until_state(events, "reconnected") == ["reconnecting", "reconnected"]
    count = video.frames_received
    await wait_until(lambda: video.frames_received > count + 30)  # 2 s: twice the budget
    assert room.state is RoomState.CONNECTED and not video.ended
    assert room.participants["alice"].video is video
    offers = [
        m
        for s in fake.sessions
        for m in s.received
        if isinstance(m, Handshake) and m.connection == "producer"
    ]
    assert len(offers) == 1  # no restart
    await room.leave()
    assert client_tasks() == []


async def test_fake_join_offer_that_found_no_sfu_is_made_again_after_sfu_ready(
    fake: FakeServer,
) -> None:
    fake.refuse_offers = 1
    room = await Room.join(fake.room_url(), timeout=WAIT)
    assert room.state is RoomState.CONNECTED
    offers = [
        m
        for m in fake.sessions[0].received
        if isinstance(m, Handshake) and m.connection == "producer"
    ]
    assert len(offers) == 2
    assert (await alice_tracks(room)).video is not None
    await room.leave()
    assert client_tasks() == []


def _state_of(event: object) -> str | None:
    return event.state if isinstance(event, ConnectionStateChanged) else None


# ---------------------------------------------------------------------- live stack


@pytest.fixture
async def pair(stack: LocalStack) -> AsyncIterator[tuple[Room, Room]]:
    await stack.create_room("r")
    url = stack.room_url("r")
    a = await Room.join(url, name="a", video_size=(320, 240), timeout=LIVE_WAIT)
    b = await Room.join(url, name="b", video_size=(320, 240), timeout=LIVE_WAIT)
    try:
        yield a, b
    finally:
        await asyncio.gather(a.leave(), b.leave())
        assert client_tasks() == []


async def connection_of(stack: LocalStack, participant_id: str) -> str:
    assert stack.services is not None
    conns = await asyncio.to_thread(stack.services.store.list_connections, "r")
    [conn] = [c for c in conns if c.participant_id == participant_id]
    return conn.connection_id


async def video_of(room: Room, participant_id: str) -> RemoteTrack:
    participant = await subscribed(room, participant_id)
    assert participant.video is not None
    return participant.video


async def grows(tracks: list[RemoteTrack], by: int, timeout: float = LIVE_WAIT) -> float:
    """Wait until every track has received ``by`` more frames; return how long it took."""
    started = time.monotonic()
    base = [t.frames_received for t in tracks]
    await wait_until(
        lambda: all(t.frames_received >= n + by for t, n in zip(tracks, base, strict=True)),
        timeout,
    )
    return time.monotonic() - started


async def test_dropped_websocket_is_resumed_and_media_keeps_flowing(
    stack: LocalStack, pair: tuple[Room, Room]
) -> None:
    a, b = pair
    assert stack.services is not None
    grace = 3.0
    stack.services.settings.reconnect_grace = grace
    a_in_b, b_in_a = await video_of(b, a.participant_id), await video_of(a, b.participant_id)
    await grows([a_in_b, b_in_a], 10)
    a_seen, b_seen = recorder(a), recorder(b)
    b_events = b.events()
    old = await connection_of(stack, a.participant_id)

    started = time.monotonic()
    stack.services.poster.close_connection(old)
    states = await until_state(a.events(), "reconnected")
    resumed_after = time.monotonic() - started
    assert states == ["reconnecting", "reconnected"]
    assert await connection_of(stack, a.participant_id) != old
    took = await grows([a_in_b, b_in_a], 30)  # 2 s at 15 fps, both ways

    # a maintenance pass that would drop anyone still away: nobody has heard of the blip
    stack.services.settings.reconnect_grace = 0.0
    await asyncio.to_thread(maintenance.handler, {}, None)
    await a.send("still here")
    data = await next_event(b_events, DataReceived)
    assert (data.sender, data.data) == (a.participant_id, "still here")
    await grows([a_in_b, b_in_a], 15)
    assert not [e for e in b_seen if isinstance(e, ParticipantLeft | ParticipantJoined)]
    assert [e.state for e in a_seen if isinstance(e, ConnectionStateChanged)] == states
    assert not [e for e in a_seen if isinstance(e, ParticipantLeft | ParticipantJoined)]
    assert b.participants[a.participant_id].video is a_in_b and not a_in_b.ended
    assert a.participants[b.participant_id].video is b_in_a and not b_in_a.ended
    print(f"\nresumed after {resumed_after:.2f} s; 30 more frames both ways in {took:.2f} s")


async def test_a_new_sfu_restarts_media(stack: LocalStack, pair: tuple[Room, Room]) -> None:
    a, b = pair
    assert stack.launcher is not None and hasattr(stack.launcher, "pids")
    old_a_in_b, old_b_in_a = (
        await video_of(b, a.participant_id),
        await video_of(a, b.participant_id),
    )
    await grows([old_a_in_b, old_b_in_a], 10)
    a_events, b_events = a.events(), b.events()
    a_seen = recorder(a)
    [pid] = stack.launcher.pids()

    started = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    restarted: list[str] = []
    async with asyncio.timeout(LIVE_WAIT):
        while not restarted:
            done = await asyncio.to_thread(maintenance.handler, {}, None)
            restarted = done["restarted"]
            if not restarted:
                await asyncio.sleep(0.2)
    assert restarted == ["r"] and stack.launcher.pids() != [pid]

    new_a_in_b, new_b_in_a = await asyncio.gather(
        resubscribed(b_events, a.participant_id), resubscribed(a_events, b.participant_id)
    )
    took = await grows([new_a_in_b, new_b_in_a], 10, timeout=15.0)
    total = time.monotonic() - started
    assert total < 15.0
    assert old_a_in_b.ended and old_b_in_a.ended
    assert new_a_in_b is not old_a_in_b and new_b_in_a is not old_b_in_a
    assert [e.state for e in a_seen if isinstance(e, ConnectionStateChanged)] == [
        "reconnecting",
        "reconnected",
    ]
    assert not [e for e in a_seen if isinstance(e, ParticipantLeft)]
    await a.send_chat("on the new SFU")
    data = await next_event(b_events, DataReceived)
    assert data.data == "on the new SFU"
    print(f"\nmedia back both ways {total:.2f} s after the kill (frames flowing in {took:.2f} s)")


async def resubscribed(events: EventStream, participant_id: str) -> RemoteTrack:
    """The next video track of ``participant_id`` subscribed on ``events``."""
    async with asyncio.timeout(LIVE_WAIT):
        async for event in events:
            if (
                isinstance(event, TrackSubscribed)
                and event.kind == "video"
                and event.participant.id == participant_id
            ):
                return event.track
    raise AssertionError("the event stream ended")


async def test_leave_while_reconnecting(
    stack: LocalStack, pair: tuple[Room, Room], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    assert stack.services is not None
    stack.services.settings.reconnect_grace = 1.0
    await video_of(b, a.participant_id)
    attempts: list[float] = []

    def unavailable(services: object, connection_id: str, message: object) -> None:
        attempts.append(time.monotonic())
        raise ProtocolError(ErrorCode.INTERNAL_ERROR, "down for the test", "resume")

    monkeypatch.setitem(signaling._HANDLERS, "resume", unavailable)
    a_events = a.events()
    b_left: list[ParticipantLeft] = []
    b.on("participant_left", b_left.append)
    stack.services.poster.close_connection(await connection_of(stack, a.participant_id))
    assert await until_state(a_events, "reconnecting") == ["reconnecting"]
    await wait_until(lambda: len(attempts) >= 3)  # retrying with backoff

    started = time.monotonic()
    await asyncio.wait_for(a.leave(), 5.0)
    left_in = time.monotonic() - started
    assert a.state is RoomState.CLOSED and a.connection_state == "disconnected"
    assert await until_state(a_events, "disconnected") == ["disconnected"]
    # no attempt after leave: the room's tasks (the reconnection among them) are all
    # ended and no new one can start
    assert a._c.tasks.closed and len(a._c.tasks) == 0

    # the server drops the away participant once its grace is over: b hears it left
    stack.services.settings.reconnect_grace = 0.0
    await asyncio.to_thread(maintenance.handler, {}, None)
    await wait_until(lambda: bool(b_left), LIVE_WAIT)
    assert (b_left[0].participant.id, b_left[0].reason) == (a.participant_id, "disconnected")
    assert a.participant_id not in b.participants
    await b.leave()
    assert client_tasks() == []  # a left no reconnection attempt or closing connection behind
    print(f"\nleave() while reconnecting took {left_in * 1000:.0f} ms")
