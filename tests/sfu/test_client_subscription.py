"""``Room.set_subscription`` of the Python client against the real SFU process (local stack)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import av
import pytest

from arbiter_client import Room, RoomClosed, TrackSubscribed
from arbiter_server.local import LocalStack

pytestmark = pytest.mark.timeout(60)


@dataclass
class Counts:
    """Frames one client decoded from one participant, with arrival times of video."""

    video: list[float] = field(default_factory=list)
    audio: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def until(self, predicate: object, timeout: float = 10.0) -> None:
        assert callable(predicate)

        async def wait() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(wait(), timeout)


async def count_frames(room: Room, counts: dict[str, Counts]) -> None:
    loop = asyncio.get_running_loop()
    readers: list[asyncio.Task[None]] = []

    async def read(event: TrackSubscribed) -> None:
        got = counts.setdefault(event.participant.id, Counts())
        with contextlib.suppress(Exception):
            while True:
                frame = await event.track.recv()
                if isinstance(frame, av.VideoFrame):
                    got.video.append(loop.time())
                else:
                    got.audio += 1
                got.changed.set()

    try:
        async for event in room.events():
            if isinstance(event, TrackSubscribed):
                readers.append(asyncio.create_task(read(event)))
    finally:
        for task in readers:
            task.cancel()


async def test_set_subscription_pauses_and_resumes_through_the_sfu(stack: LocalStack) -> None:
    await stack.create_room("pages")
    alice = await Room.join(stack.room_url("pages"), name="alice", timeout=20)
    bob = await Room.join(stack.room_url("pages"), name="bob", publish=None, timeout=20)
    counts: dict[str, Counts] = {}
    watcher = asyncio.create_task(count_frames(bob, counts))
    try:
        got = counts.setdefault(alice.participant_id, Counts())
        await got.until(lambda: len(got.video) >= 5 and got.audio >= 5)

        await bob.set_subscription(alice.participant_id, video=False)
        # audio keeps coming and serves as the clock: 0.5 s to settle, then 1 s paused
        settle = got.audio + 25
        await got.until(lambda: got.audio >= settle)
        video_before, later = len(got.video), got.audio + 50
        await got.until(lambda: got.audio >= later)
        assert len(got.video) == video_before, "video kept coming while paused"

        resumed_at = asyncio.get_running_loop().time()
        await bob.set_subscription(alice.participant_id)
        await got.until(lambda: len(got.video) >= video_before + 3, timeout=5)
        delay = got.video[video_before] - resumed_at
        assert delay < 1.0, f"video came back {delay:.2f} s after resuming"

        with pytest.raises(ValueError):
            await bob.set_subscription(bob.participant_id, video=False)
        with pytest.raises(ValueError):
            await bob.set_subscription("not an id!", video=False)
    finally:
        watcher.cancel()
        await alice.leave()
        await bob.leave()
    with pytest.raises(RoomClosed):
        await bob.set_subscription(alice.participant_id)
