"""MediaProbe: watches a Room's events and reads every subscribed track until it decodes."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

import av

from arbiter_client import (
    DataReceived,
    ParticipantJoined,
    ParticipantLeft,
    Room,
    TrackSubscribed,
)


class MediaProbe:
    """Records, per remote participant, the size of decoded video and whether audio came."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.video_sizes: dict[str, tuple[int, int]] = {}
        self.audio_from: set[str] = set()
        self.joined: list[str] = []
        self.left: list[str] = []
        self.data: list[DataReceived] = []
        self.seen_rooms: set[str] = set()
        self.changed = asyncio.Condition()
        self.first_video_at: dict[str, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._frames: defaultdict[str, int] = defaultdict(int)
        self._tasks.append(asyncio.create_task(self._watch()))

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def _watch(self) -> None:
        async for event in self.room.events():
            if isinstance(event, ParticipantJoined):
                self.joined.append(event.participant.id)
            elif isinstance(event, ParticipantLeft):
                self.left.append(event.participant.id)
            elif isinstance(event, DataReceived):
                self.data.append(event)
            elif isinstance(event, TrackSubscribed):
                self._tasks.append(asyncio.create_task(self._read(event)))
            await self._notify()

    async def _read(self, event: TrackSubscribed) -> None:
        pid = event.participant.id
        with contextlib.suppress(Exception):
            while True:
                frame = await event.track.recv()
                if isinstance(frame, av.VideoFrame):
                    self.video_sizes[pid] = (frame.width, frame.height)
                    frame.to_ndarray(format="rgb24")  # it really decodes to pixels
                    self.first_video_at.setdefault(pid, asyncio.get_running_loop().time())
                elif isinstance(frame, av.AudioFrame):
                    assert frame.samples > 0
                    self.audio_from.add(pid)
                self._frames[pid] += 1
                await self._notify()

    def frames(self, participant_id: str) -> int:
        """Frames (audio and video) decoded so far from one participant."""
        return self._frames[participant_id]

    async def wait_for(self, predicate: object, timeout: float) -> None:
        """Wait until ``predicate()`` is true."""
        assert callable(predicate)

        async def until() -> None:
            async with self.changed:
                await self.changed.wait_for(predicate)

        await asyncio.wait_for(until(), timeout)

    async def wait_media(self, expected: dict[str, tuple[int, int]], timeout: float) -> None:
        """Wait for decoded video of the expected size and audio from each participant."""

        def done() -> bool:
            return all(
                self.video_sizes.get(pid) == size and pid in self.audio_from
                for pid, size in expected.items()
            )

        try:
            await self.wait_for(done, timeout)
        except TimeoutError:
            raise AssertionError(
                f"{self.room.participant_id}: expected {expected}, got video "
                f"{self.video_sizes} audio {sorted(self.audio_from)}"
            ) from None

    async def close(self) -> None:
        """Stop watching."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
