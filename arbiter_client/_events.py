"""Room events: one frozen dataclass per event, and the stream that delivers them.

``room.events()`` returns an :class:`EventStream`; every open stream receives every event
(each has its own bounded queue). ``room.on(event_type, callback)`` registers a plain
callback for one :data:`EventType`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import ClassVar, Literal

from arbiter_protocol import TrackSource

from ._participant import LocalParticipant, RemoteParticipant, TrackKind, WaitingParticipant
from ._track import RemoteTrack

__all__ = [
    "EVENTS",
    "ActiveSpeakersChanged",
    "ChatMessage",
    "ConnectionState",
    "ConnectionStateChanged",
    "DataReceived",
    "Disconnected",
    "ErrorReceived",
    "Event",
    "EventStream",
    "EventType",
    "ParticipantJoined",
    "ParticipantLeft",
    "ParticipantRemoved",
    "ParticipantUpdated",
    "ParticipantWaiting",
    "TrackMuted",
    "TrackSubscribed",
    "TrackUnsubscribed",
]

logger = logging.getLogger("arbiter_client")

EventType = Literal[
    "participant_joined",
    "participant_left",
    "track_subscribed",
    "track_unsubscribed",
    "data_received",
    "error_received",
    "disconnected",
    "track_muted",
    "connection_state_changed",
    "chat_message",
    "active_speakers_changed",
    "participant_removed",
    "participant_waiting",
    "participant_updated",
]
"The name of each event, as used by ``room.on``."


@dataclass(frozen=True)
class ParticipantJoined:
    """A participant is in the room (also sent for those already present at join)."""

    type: ClassVar[EventType] = "participant_joined"
    participant: RemoteParticipant
    "Who joined."


@dataclass(frozen=True)
class ParticipantLeft:
    """A participant left or was disconnected; its tracks were unsubscribed first."""

    type: ClassVar[EventType] = "participant_left"
    participant: RemoteParticipant
    "Who left."
    reason: str
    "Why: ``left``, ``disconnected``, ``session_expired``, ``removed``, ``room_ended`` ..."


@dataclass(frozen=True)
class ParticipantRemoved:
    """A moderator (or the app) removed a participant; its ``ParticipantLeft`` follows."""

    type: ClassVar[EventType] = "participant_removed"
    participant: RemoteParticipant
    "Who was removed."
    by: str | None
    "The moderator's participant id, or ``app`` (the app's backend)."


@dataclass(frozen=True)
class ParticipantWaiting:
    """Someone entered the room's lobby (moderators only; see ``room.waiting``)."""

    type: ClassVar[EventType] = "participant_waiting"
    participant: WaitingParticipant
    "Who waits: ``room.admit(participant.id)`` or ``room.deny(participant.id)``."


@dataclass(frozen=True)
class TrackSubscribed:
    """A remote track is available: ``await event.track.recv()`` gives frames."""

    type: ClassVar[EventType] = "track_subscribed"
    participant: RemoteParticipant
    "Whose track."
    kind: TrackKind
    "``audio`` or ``video``."
    track: RemoteTrack
    "The received track: ``track.frames()`` (numpy) or ``await track.recv()`` (av frames)."
    source: TrackSource = "unknown"
    "What it is: ``camera``, ``microphone``, ``screen`` ... (as ``track.source``)."


@dataclass(frozen=True)
class TrackUnsubscribed:
    """A remote track ended (its participant left or its connection closed)."""

    type: ClassVar[EventType] = "track_unsubscribed"
    participant: RemoteParticipant
    "Whose track."
    kind: TrackKind
    "``audio`` or ``video``."
    track: RemoteTrack
    "The track, now ended."


@dataclass(frozen=True)
class DataReceived:
    """A data message from another participant, relayed by the SFU."""

    type: ClassVar[EventType] = "data_received"
    sender: str | None
    "The sending participant's id (stamped by the SFU)."
    data: str | bytes
    "The payload: ``str`` if sent as text, ``bytes`` if sent as bytes."
    topic: str | None
    "The application topic the sender chose, if any."
    message_id: str
    "The sender-chosen message id."


@dataclass(frozen=True)
class ErrorReceived:
    """The server reported an error about something this client sent after joining."""

    type: ClassVar[EventType] = "error_received"
    code: str
    "An :class:`~arbiter_protocol.ErrorCode` value."
    message: str
    "What was wrong."
    ref: str | None
    "The action of the message the error answers, when known."


@dataclass(frozen=True)
class Disconnected:
    """The room is closed: the last event every stream yields."""

    type: ClassVar[EventType] = "disconnected"
    reason: str
    """``left`` after ``room.leave()``; ``removed``, ``room_ended`` (a moderator or the app
    did it); ``session_expired``; otherwise why the connection was lost."""
    by: str | None = None
    "For ``removed`` and ``room_ended``: the moderator's participant id, or ``app``."
    message: str | None = None
    "For ``removed`` and ``room_ended``: the reason the moderator gave, if any."


ConnectionState = Literal["connecting", "connected", "reconnecting", "reconnected", "disconnected"]
"What ``room.connection_state`` can be."


@dataclass(frozen=True)
class TrackMuted:
    """A participant muted or unmuted one of its tracks (from its ``track_state``), or a
    moderator holds its audio or video muted.

    ``by`` is set while a moderator holds the track muted; a lock lifted comes as
    ``muted=True`` with ``by=None`` (the participant may unmute again). When this client's
    own track is locked, ``participant`` is the :class:`LocalParticipant`.
    """

    type: ClassVar[EventType] = "track_muted"
    participant: RemoteParticipant | LocalParticipant
    "Whose track."
    kind: TrackKind
    "``audio`` or ``video``."
    muted: bool
    "The new state: ``True`` when muted."
    track_id: str = ""
    "Which track: ``microphone``, ``camera``, ``screen`` ..."
    by: str | None = None
    "Who holds it muted: a moderator's participant id, or ``app``; None: its own choice."


@dataclass(frozen=True)
class ActiveSpeakersChanged:
    """Who is speaking changed (the SFU says so at most four times a second)."""

    type: ClassVar[EventType] = "active_speakers_changed"
    speakers: tuple[RemoteParticipant | LocalParticipant, ...]
    "The speakers now, loudest first (this client too, when it speaks); empty: nobody."


@dataclass(frozen=True)
class ParticipantUpdated:
    """A participant renamed itself, raised or lowered its hand, or its app data
    (``metadata``) changed (``participant_updated``); also sent for this client's own
    change, once the server has it."""

    type: ClassVar[EventType] = "participant_updated"
    participant: RemoteParticipant | LocalParticipant
    "The participant, as it is now (``name``, ``hand_raised``, ``metadata``)."


@dataclass(frozen=True)
class ConnectionStateChanged:
    """``room.connection_state`` changed (only real changes are announced)."""

    type: ClassVar[EventType] = "connection_state_changed"
    state: ConnectionState
    "The new state."
    reason: str | None
    "Why, for ``reconnecting`` and ``disconnected`` (``left`` after ``room.leave()``)."


@dataclass(frozen=True)
class ChatMessage:
    """A chat message: a text ``data`` message with topic ``chat`` (``room.send_chat``)."""

    type: ClassVar[EventType] = "chat_message"
    sender: str | None
    "The sending participant's id."
    name: str
    "The sender's display name (its id if it is not known)."
    text: str
    "The message."
    timestamp: float
    "When it was received (``time.time()``)."
    message_id: str
    "The sender-chosen message id."


Event = (
    ParticipantJoined
    | ParticipantLeft
    | TrackSubscribed
    | TrackUnsubscribed
    | DataReceived
    | ErrorReceived
    | Disconnected
    | TrackMuted
    | ConnectionStateChanged
    | ChatMessage
    | ActiveSpeakersChanged
    | ParticipantRemoved
    | ParticipantWaiting
    | ParticipantUpdated
)
"Any room event."

EVENTS: Mapping[str, type[Event]] = MappingProxyType(
    {
        cls.type: cls
        for cls in (
            ParticipantJoined,
            ParticipantLeft,
            TrackSubscribed,
            TrackUnsubscribed,
            DataReceived,
            ErrorReceived,
            Disconnected,
            TrackMuted,
            ConnectionStateChanged,
            ChatMessage,
            ActiveSpeakersChanged,
            ParticipantRemoved,
            ParticipantWaiting,
            ParticipantUpdated,
        )
    }
)
"""The event registry: each event type's name and its class. ``room.on`` accepts these
names; a test holds :data:`EventType`, :data:`Event` and ``Room.on``'s typing to it."""


class EventStream:
    """An async iterator over a room's events, from ``room.events()``.

    Each stream has its own queue of at most ``maxsize`` events; when a slow reader lets
    it fill up, the oldest event is dropped (and a warning logged). The stream ends after
    the room's :class:`Disconnected` event. Close it early with ``await stream.aclose()``
    or ``async with room.events() as stream``; a stream that is no longer referenced
    stops receiving events by itself.
    """

    def __init__(self, maxsize: int = 256) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._queue: collections.deque[Event] = collections.deque(maxlen=maxsize)
        self._wakeup = asyncio.Event()
        self._closed = False
        self._dropped = 0

    def _put(self, event: Event) -> None:
        if self._closed:
            return
        if len(self._queue) == self._queue.maxlen:
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 100 == 0:
                logger.warning("event stream full: dropped %d event(s)", self._dropped)
        self._queue.append(event)
        self._wakeup.set()

    def _end(self) -> None:
        self._closed = True
        self._wakeup.set()

    @property
    def dropped(self) -> int:
        """How many events were dropped because this stream's queue was full."""
        return self._dropped

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        while not self._queue:
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._queue.popleft()

    async def aclose(self) -> None:
        """Stop receiving events; pending ones are discarded."""
        self._closed = True
        self._queue.clear()
        self._wakeup.set()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
