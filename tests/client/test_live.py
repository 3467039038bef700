"""The SDK's features against the real local stack: mute, chat, frames, levels, stats."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest

from arbiter_client import (
    ChatMessage,
    ConnectionStateChanged,
    RemoteParticipant,
    Room,
    TrackMuted,
    TrackSubscribed,
)
from arbiter_server.local import LocalStack

from .test_features import wait_until
from .test_room import next_event

pytestmark = pytest.mark.timeout(90)

WAIT = 20.0


@pytest.fixture
async def pair(stack: LocalStack) -> AsyncIterator[tuple[Room, Room]]:
    await stack.create_room("live")
    url = stack.room_url("live")
    a = await Room.join(url, name="a", video_size=(320, 240), timeout=WAIT)
    b = await Room.join(url, name="b", video_size=(320, 240), timeout=WAIT)
    try:
        yield a, b
    finally:
        await asyncio.gather(a.leave(), b.leave())


async def subscribed(room: Room, participant_id: str) -> RemoteParticipant:
    events = room.events()
    kinds: set[str] = set()
    while kinds != {"audio", "video"}:
        event = await next_event(events, TrackSubscribed)
        if event.participant.id == participant_id:
            kinds.add(event.kind)
    await events.aclose()
    return room.participants[participant_id]


async def test_mute_is_seen_by_others_and_by_late_joiners(
    stack: LocalStack, pair: tuple[Room, Room]
) -> None:
    a, b = pair
    a_in_b = await subscribed(b, a.participant_id)
    await wait_until(lambda: a_in_b.is_speaking)  # a's tone
    events = b.events()
    await a.set_microphone_enabled(False)
    muted = await next_event(events, TrackMuted)
    assert (muted.participant.id, muted.kind, muted.muted) == (a.participant_id, "audio", True)
    assert a_in_b.audio_muted and a.local_participant.audio_muted
    await wait_until(lambda: a_in_b.audio is not None and a_in_b.audio.audio_level == 0.0)

    late = await Room.join(stack.room_url("live"), name="late", publish=None, timeout=WAIT)
    try:
        await wait_until(
            lambda: (
                a.participant_id in late.participants
                and late.participants[a.participant_id].audio_muted
            )
        )
    finally:
        await late.leave()

    await a.set_microphone_enabled(True)
    unmuted = await next_event(events, TrackMuted)
    assert unmuted.muted is False and not a_in_b.audio_muted


async def test_chat_frames_and_stats(pair: tuple[Room, Room]) -> None:
    a, b = pair
    a_in_b = await subscribed(b, a.participant_id)
    events = b.events()
    await a.send_chat("hello b")
    chat = await next_event(events, ChatMessage)
    assert (chat.sender, chat.name, chat.text) == (a.participant_id, "a", "hello b")

    assert a_in_b.video is not None and a_in_b.audio is not None

    async def first(track_frames: AsyncIterator[np.ndarray]) -> np.ndarray:
        async for item in track_frames:
            return item
        raise AssertionError("track ended")

    image = await asyncio.wait_for(first(a_in_b.video.frames()), WAIT)
    assert image.shape == (240, 320, 3)
    pcm = await asyncio.wait_for(first(a_in_b.audio.frames(latest=False)), WAIT)
    assert pcm.dtype == np.int16 and pcm.shape[0] in (1, 2)

    await wait_until(lambda: a_in_b.video is not None and a_in_b.video.frames_received > 15)
    stats = await b.stats()
    consumer = stats.get("consumer")
    assert consumer is not None and consumer.bitrate_in_kbps > 10
    assert consumer.fps is not None and consumer.fps > 5
    assert stats.rtt_ms is not None and stats.rtt_ms < 1000


async def test_connection_state_events(stack: LocalStack) -> None:
    await stack.create_room("states")
    room = await Room.join(stack.room_url("states"), name="s", publish=None, timeout=WAIT)
    events = room.events()
    assert room.connection_state == "connected"
    await room.leave()
    states = [e async for e in events if isinstance(e, ConnectionStateChanged)]
    assert [(e.state, e.reason) for e in states] == [
        ("connected", None),
        ("disconnected", "left"),
    ]
