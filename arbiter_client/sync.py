"""A blocking facade for plain scripts: the async :class:`~arbiter_client.Room` on a thread.

```python
from arbiter_client.sync import Room

with Room.join("http://127.0.0.1:8080/rooms/demo", name="script") as room:
    room.send_chat("hello from a script")
    for event in room.events(timeout=10):
        print(event)
```

Each sync room runs its own event loop in a daemon thread; every method hands its work
to that loop and waits for the result (``timeout`` seconds where it takes one). Do not
use it inside a running event loop: use :class:`arbiter_client.Room` there.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine, Iterator, Mapping
from types import TracebackType
from typing import Any, TypeVar

import av
import numpy as np
import numpy.typing as npt

from . import _room
from ._events import ConnectionState, Event, EventStream
from ._participant import LocalParticipant, RemoteParticipant
from ._recorder import Recorder
from ._stats import RoomStats

__all__ = ["Room"]

T = TypeVar("T")


class _LoopThread:
    """An event loop running forever in a daemon thread, until :meth:`stop`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="arbiter-client-sync", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no result within {timeout} s") from None

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self.loop.close()


class Room:
    """A blocking :class:`arbiter_client.Room`; make one with :meth:`Room.join`."""

    def __init__(self, room: _room.Room, thread: _LoopThread) -> None:
        """Internal: use :meth:`Room.join`."""
        self._room = room
        self._thread = thread
        self._events: EventStream | None = None

    @classmethod
    def join(cls, url: str, **options: Any) -> Room:
        """Join like :meth:`arbiter_client.Room.join` (same keyword options); blocks."""
        thread = _LoopThread()

        async def join() -> _room.Room:
            return await _room.Room.join(url, **options)

        try:
            room = thread.run(join())
        except BaseException:
            thread.stop()
            raise
        return cls(room, thread)

    @property
    def room(self) -> _room.Room:
        """The underlying async room (use it only from :attr:`loop`)."""
        return self._room

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the room lives in."""
        return self._thread.loop

    @property
    def participant_id(self) -> str:
        """This client's participant id."""
        return self._room.participant_id

    @property
    def local_participant(self) -> LocalParticipant:
        """This client (see :class:`arbiter_client.LocalParticipant`)."""
        return self._room.local_participant

    @property
    def participants(self) -> Mapping[str, RemoteParticipant]:
        """The other participants, by id."""
        return dict(self._room.participants)

    @property
    def connection_state(self) -> ConnectionState:
        """See :attr:`arbiter_client.Room.connection_state`."""
        return self._room.connection_state

    def send(
        self, data: str | bytes, *, to: str | list[str] | None = None, topic: str | None = None
    ) -> None:
        """Send data (see :meth:`arbiter_client.Room.send`)."""
        self._thread.run(self._room.send(data, to=to, topic=topic))

    def send_chat(self, text: str) -> None:
        """Send a chat message (see :meth:`arbiter_client.Room.send_chat`)."""
        self._thread.run(self._room.send_chat(text))

    def set_microphone_enabled(self, enabled: bool) -> None:
        """Mute or unmute the published audio."""
        self._thread.run(self._room.set_microphone_enabled(enabled))

    def set_camera_enabled(self, enabled: bool) -> None:
        """Mute or unmute the published video."""
        self._thread.run(self._room.set_camera_enabled(enabled))

    def stats(self) -> RoomStats:
        """Connection statistics (see :meth:`arbiter_client.Room.stats`)."""
        return self._thread.run(self._room.stats())

    def record(self, path: str, **options: Any) -> Recorder:
        """Start a recording; stop it with :meth:`stop_recording`."""

        async def start() -> Recorder:
            return self._room.record(path, **options)

        return self._thread.run(start())

    def stop_recording(self, recorder: Recorder) -> None:
        """Finish a recording started with :meth:`record`."""
        self._thread.run(recorder.stop())

    def latest_image(
        self, participant_id: str, format: str = "rgb24"
    ) -> npt.NDArray[np.generic] | None:
        """The latest picture received from ``participant_id`` (``None`` before any)."""
        participant = self._room.participants.get(participant_id)
        track = participant.video if participant is not None else None
        frame = track.latest_frame if track is not None else None
        if not isinstance(frame, av.VideoFrame):
            return None
        return frame.to_ndarray(format=format)

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Yield the room's events as they come; stops after ``timeout`` idle seconds
        (``None``: wait forever) or when the room is closed."""
        if self._events is None:

            async def open_stream() -> EventStream:
                return self._room.events()

            self._events = self._thread.run(open_stream())
        stream = self._events
        while True:
            try:
                yield self._thread.run(stream.__anext__(), timeout)
            except (StopAsyncIteration, TimeoutError):
                return

    def leave(self) -> None:
        """Leave the room and stop its thread. Idempotent."""
        if not self._thread.loop.is_closed():
            try:
                self._thread.run(self._room.leave())
            finally:
                self._thread.stop()

    def __enter__(self) -> Room:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.leave()

    def __repr__(self) -> str:
        return f"<sync {self._room!r}>"
