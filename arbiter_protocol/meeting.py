"""Messages of what every meeting shows: who is speaking, and what participants say of
themselves (a new display name, a raised hand).

``active_speakers`` travels on the data channel from the SFU; ``update_participant`` is
sent by a participant on its signaling socket, and ``participant_updated`` is what
signaling then tells everyone in the room (the SFU included). These classes join
:data:`~.messages.ACTIONS` like the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .errors import ErrorCode, ProtocolError
from .messages import MAX_NAME, Message, ParticipantInfo, is_valid_id, register_messages

__all__ = [
    "MAX_SPEAKERS",
    "ActiveSpeakers",
    "ParticipantUpdated",
    "UpdateParticipant",
]

MAX_SPEAKERS = 32
"Most participants an ``active_speakers`` message lists (the loudest ones)."


@dataclass
class ActiveSpeakers(Message):
    """Who is speaking now, loudest first (data channel, SFU to every client).

    The SFU reads each published microphone's audio level from the RFC 6464 header
    extension (no decoding) and sends this when the list changes, at most four times a
    second; a client that opens its data channel gets the current list at once. An
    empty list: nobody speaks.
    """

    action: ClassVar[str] = "active_speakers"
    speakers: list[str] = field(default_factory=list, metadata={"max_items": MAX_SPEAKERS})
    "Participant ids, the loudest first."

    def __post_init__(self) -> None:
        for speaker in self.speakers:
            if not is_valid_id(speaker):
                raise ProtocolError(
                    ErrorCode.INVALID_MESSAGE,
                    "field 'speakers' must hold participant ids",
                    self.action,
                )


@dataclass
class UpdateParticipant(Message):
    """A participant changes what everyone sees of it (signaling, client to server).

    Absent fields stay as they are. Signaling keeps the new state with the participant
    (late joiners get it in ``identified``, a resume keeps it) and tells everyone,
    the sender included, with ``participant_updated``.
    """

    action: ClassVar[str] = "update_participant"
    name: str | None = field(default=None, metadata={"max_len": MAX_NAME, "min_len": 1})
    "A new display name."
    hand_raised: bool | None = None
    "Raise (true) or lower (false) the hand."

    def __post_init__(self) -> None:
        if self.name is None and self.hand_raised is None:
            raise ProtocolError(
                ErrorCode.INVALID_MESSAGE,
                "an update needs 'name' or 'hand_raised'",
                self.action,
            )


@dataclass
class ParticipantUpdated(Message):
    """A participant's state changed: its name, its hand, the app's data about it
    (signaling, to everyone in the room and its SFU)."""

    action: ClassVar[str] = "participant_updated"
    participant: ParticipantInfo
    "The participant as it is now."


register_messages(ActiveSpeakers, UpdateParticipant, ParticipantUpdated)
