"""``room.on`` / ``room.off``: plain callbacks per event type, one typed overload each."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, overload

from . import _events as ev
from ._events import EventType

if TYPE_CHECKING:
    from ._connection import RoomConnection

__all__ = ["Callbacks"]


class Callbacks:
    """The callback half of :class:`~arbiter_client.Room` (a base class of it)."""

    _c: RoomConnection

    @overload
    def on(
        self,
        event: Literal["participant_joined"],
        callback: Callable[[ev.ParticipantJoined], object],
    ) -> None: ...
    @overload
    def on(
        self, event: Literal["participant_left"], callback: Callable[[ev.ParticipantLeft], object]
    ) -> None: ...
    @overload
    def on(
        self, event: Literal["track_subscribed"], callback: Callable[[ev.TrackSubscribed], object]
    ) -> None: ...
    @overload
    def on(
        self,
        event: Literal["track_unsubscribed"],
        callback: Callable[[ev.TrackUnsubscribed], object],
    ) -> None: ...
    @overload
    def on(
        self, event: Literal["data_received"], callback: Callable[[ev.DataReceived], object]
    ) -> None: ...
    @overload
    def on(
        self, event: Literal["error_received"], callback: Callable[[ev.ErrorReceived], object]
    ) -> None: ...
    @overload
    def on(
        self, event: Literal["disconnected"], callback: Callable[[ev.Disconnected], object]
    ) -> None: ...
    @overload
    def on(
        self, event: Literal["track_muted"], callback: Callable[[ev.TrackMuted], object]
    ) -> None: ...
    @overload
    def on(
        self,
        event: Literal["connection_state_changed"],
        callback: Callable[[ev.ConnectionStateChanged], object],
    ) -> None: ...
    @overload
    def on(
        self, event: Literal["chat_message"], callback: Callable[[ev.ChatMessage], object]
    ) -> None: ...
    @overload
    def on(
        self,
        event: Literal["active_speakers_changed"],
        callback: Callable[[ev.ActiveSpeakersChanged], object],
    ) -> None: ...
    @overload
    def on(
        self,
        event: Literal["participant_removed"],
        callback: Callable[[ev.ParticipantRemoved], object],
    ) -> None: ...
    @overload
    def on(
        self,
        event: Literal["participant_waiting"],
        callback: Callable[[ev.ParticipantWaiting], object],
    ) -> None: ...
    @overload
    def on(
        self,
        event: Literal["participant_updated"],
        callback: Callable[[ev.ParticipantUpdated], object],
    ) -> None: ...
    def on(self, event: EventType, callback: Callable[[Any], object]) -> None:
        """Call ``callback(event)`` for every event of one type, in registration order.

        Event types and the dataclass each callback gets: ``participant_joined``
        (:class:`ParticipantJoined`), ``participant_left`` (:class:`ParticipantLeft`),
        ``track_subscribed`` (:class:`TrackSubscribed`), ``track_unsubscribed``
        (:class:`TrackUnsubscribed`), ``data_received`` (:class:`DataReceived`),
        ``error_received`` (:class:`ErrorReceived`), ``disconnected``
        (:class:`Disconnected`), ``track_muted`` (:class:`TrackMuted`),
        ``connection_state_changed`` (:class:`ConnectionStateChanged`), ``chat_message``
        (:class:`ChatMessage`), ``active_speakers_changed`` (:class:`ActiveSpeakersChanged`),
        ``participant_removed`` (:class:`ParticipantRemoved`), ``participant_waiting``
        (:class:`ParticipantWaiting`), ``participant_updated`` (:class:`ParticipantUpdated`).
        Callbacks must be plain functions: for async work,
        start a task from the callback. An exception in a callback is logged and ignored.
        """
        self._c.hub.on(event, callback)

    def off(self, event: EventType, callback: Callable[[Any], object]) -> None:
        """Remove a callback registered with :meth:`on` (a no-op if it is not registered)."""
        self._c.hub.off(event, callback)
