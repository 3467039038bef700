"""EventHub: where a room's events go (every open stream, the backlog, the callbacks)."""

from __future__ import annotations

import collections
import inspect
import logging
import weakref
from collections.abc import Callable
from typing import Any

from ._events import EVENTS, Event, EventStream

__all__ = ["EventHub"]

logger = logging.getLogger("arbiter_client")

BACKLOG = 256
"Events kept while no stream is open, for the next stream."


class EventHub:
    """Delivers each event to every open :class:`EventStream` and to the callbacks of its type.

    Events emitted while no stream is open are kept (the latest :data:`BACKLOG`) and
    given to the next stream. Callbacks are registered per name of the event registry
    (:data:`~arbiter_client._events.EVENTS`); an exception in one is logged and ignored.
    """

    def __init__(self) -> None:
        self._streams: weakref.WeakSet[EventStream] = weakref.WeakSet()
        self._backlog: collections.deque[Event] = collections.deque(maxlen=BACKLOG)
        self._callbacks: dict[str, list[Callable[[Any], object]]] = {}
        self._ended = False

    def stream(self, maxsize: int) -> EventStream:
        """A new stream that gets the backlog, then every event (already ended if the hub is)."""
        stream = EventStream(maxsize)
        while self._backlog:
            stream._put(self._backlog.popleft())
        if self._ended:
            stream._end()
        else:
            self._streams.add(stream)
        return stream

    def on(self, event: str, callback: Callable[[Any], object]) -> None:
        """Register ``callback`` for the events named ``event`` (see ``Room.on``)."""
        if event not in EVENTS:
            raise ValueError(f"unknown event type {event!r}")
        if inspect.iscoroutinefunction(callback):
            raise TypeError(
                "Cannot register an async callback with .on(). Use asyncio.create_task "
                "within your synchronous callback, or iterate room.events(), instead."
            )
        self._callbacks.setdefault(event, []).append(callback)

    def off(self, event: str, callback: Callable[[Any], object]) -> None:
        """Remove a callback (a no-op if it is not registered)."""
        callbacks = self._callbacks.get(event, [])
        if callback in callbacks:
            callbacks.remove(callback)

    def emit(self, event: Event) -> None:
        """Deliver ``event`` to the streams (or the backlog) and its callbacks."""
        streams = list(self._streams)
        if streams:
            for stream in streams:
                stream._put(event)
        else:
            self._backlog.append(event)
        for callback in list(self._callbacks.get(event.type, ())):
            try:
                callback(event)
            except Exception:
                logger.exception("room callback for %s failed", event.type)

    def end(self) -> None:
        """End every stream (after the last event); streams opened later end at once."""
        self._ended = True
        for stream in list(self._streams):
            stream._end()
        self._streams.clear()
