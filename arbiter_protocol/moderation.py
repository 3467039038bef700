"""Messages of roles in a room: moderation, the lobby, a participant's app data.

A moderator (a participant whose grant holds ``moderator``) sends ``moderate`` on its
signaling socket; the app's backend does the same through the server API. What happens is
told to everyone with ``participant_left`` (``reason: removed``), ``track_state`` (with
``by``), ``removed`` (to the one removed), ``lobby`` (to moderators) and
``participant_updated`` (defined in :mod:`.meeting`, which also carries a new name or a
raised hand). These classes join :data:`~.messages.ACTIONS` like the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from .errors import ErrorCode, ProtocolError
from .messages import (
    ID_FIELD,
    MediaKind,
    Message,
    ParticipantInfo,
    register_messages,
)

__all__ = [
    "MAX_LOBBY",
    "MAX_REASON",
    "Lobby",
    "Moderate",
    "ModerationOp",
    "Removed",
    "RemovedReason",
]

MAX_REASON = 256
"Largest reason a moderator may give, in UTF-8 bytes."

MAX_LOBBY = 64
"Most participants a room's lobby holds at once (the next one gets ``room_full``)."

ModerationOp = Literal["remove", "mute", "end_room", "admit", "deny"]
"What a ``moderate`` message does."

RemovedReason = Literal["removed", "room_ended", "denied"]
"""Why a participant's session was ended for it: a moderator or the app removed it, ended
the room for everyone, or refused it admission from the lobby."""

_NEEDS_PARTICIPANT = frozenset({"remove", "mute", "admit", "deny"})


@dataclass
class Moderate(Message):
    """A moderator acts on the room (signaling refuses anyone else with ``forbidden``).

    ``remove`` ends ``participant_id``'s session (it gets ``removed``, everyone else
    ``participant_left`` with reason ``removed``); ``mute`` makes the SFU stop forwarding
    its ``kind`` track and keeps it muted until a ``mute`` with ``muted: false`` lifts
    the lock; ``end_room`` removes everyone and closes the room; ``admit`` and ``deny``
    answer a participant waiting in the lobby.
    """

    action: ClassVar[str] = "moderate"
    op: ModerationOp
    "What to do."
    participant_id: str | None = field(default=None, metadata=ID_FIELD)
    "Whom (every op but ``end_room``)."
    kind: MediaKind | None = None
    "Which track to mute (``mute``)."
    muted: bool = True
    "``mute``: true holds the track muted; false lifts the lock (the participant unmutes)."
    reason: str | None = field(default=None, metadata={"max_len": MAX_REASON})
    "Shown to the participants concerned (``remove``, ``end_room``, ``deny``)."

    def __post_init__(self) -> None:
        if self.op in _NEEDS_PARTICIPANT and self.participant_id is None:
            raise ProtocolError(
                ErrorCode.INVALID_MESSAGE, f"'{self.op}' needs 'participant_id'", self.action
            )
        if self.op == "mute" and self.kind is None:
            raise ProtocolError(ErrorCode.INVALID_MESSAGE, "'mute' needs 'kind'", self.action)


@dataclass
class Removed(Message):
    """This participant's session was ended for it; the server then closes the socket.

    A client ends with this ``reason`` (the Python client's ``Disconnected``, the web
    SDK's ``removed`` state) and must not try to resume.
    """

    action: ClassVar[str] = "removed"
    reason: RemovedReason
    "Removed by a moderator or the app, the room ended for everyone, or admission denied."
    by: str | None = field(default=None, metadata=ID_FIELD)
    "A moderator's participant id, or ``app`` (the app's backend)."
    message: str | None = field(default=None, metadata={"max_len": MAX_REASON})
    "The reason the moderator gave, if any."


@dataclass
class Lobby(Message):
    """Who waits in the room's lobby now (sent to moderators whenever it changes, and
    right after a moderator identifies)."""

    action: ClassVar[str] = "lobby"
    waiting: list[ParticipantInfo] = field(default_factory=list, metadata={"max_items": MAX_LOBBY})
    "The waiting participants, earliest first."


register_messages(Moderate, Removed, Lobby)
