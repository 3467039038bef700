"""A moderator's lock on a participant's audio or video, as the SFU enforces it.

Signaling sends the SFU ``track_state {sender, kind, muted, by}`` when a moderator (or the
app) mutes a participant or lifts that lock; a new SFU learns the locks from the
participant list (``locked``). While a kind is locked, the participant's forwarders of
that kind feed nobody, and the participant's own ``track_state`` cannot unmute it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from arbiter_protocol import (
    BY_APP,
    ErrorCode,
    Message,
    ParticipantInfo,
    ProtocolError,
    TrackState,
    encode_message,
    error_message,
)

from .participant import Participant

__all__ = ["TrackLocks", "apply_locks", "learn_locks", "lock"]

logger = logging.getLogger(__name__)


def apply_locks(participant: Participant) -> None:
    """Mute (or unmute) the participant's forwarders as its locks say."""
    producer = participant.producer
    if producer is None:
        return
    for forwarder in producer.forwarders:
        forwarder.set_muted(forwarder.kind in participant.locked)


def lock(room_id: str, participant: Participant | None, message: TrackState) -> TrackState | None:
    """Apply a moderator's ``track_state`` and return the state to tell everyone (None for
    a participant this SFU does not know).

    A lock says ``muted`` with ``by``; a lifted lock says ``muted`` without ``by`` (the
    participant stays muted until it unmutes itself, which it may now).
    """
    if participant is None:
        logger.info("room %s: lock for unknown %s ignored", room_id, message.sender)
        return None
    logger.info(
        "room %s: %s's %s %s by %s",
        room_id,
        participant.id,
        message.kind,
        "locked" if message.muted else "unlocked",
        message.by,
    )
    if message.muted:
        participant.locked[message.kind] = message.by or BY_APP
    else:
        participant.locked.pop(message.kind, None)
    apply_locks(participant)
    state = TrackState(
        kind=message.kind,
        muted=True,
        sender=participant.id,
        by=participant.locked.get(message.kind),
    )
    participant.track_states[message.kind] = state
    return state


def learn_locks(participant: Participant, info: ParticipantInfo) -> Participant:
    """A participant new to this SFU takes the locks signaling kept for it; returns it.

    Who set them is not in the participant list: they show ``by`` = ``app``.
    """
    for kind in info.locked or ():
        participant.locked.setdefault(kind, BY_APP)
        participant.track_states[kind] = TrackState(
            kind=kind, muted=True, sender=participant.id, by=participant.locked[kind]
        )
    return participant


class TrackLocks:
    """The room's handlers for ``track_state``: a moderator's lock from signaling, and a
    participant's own state from its data channel.

    ``participants`` is the room's table (read, never changed), ``lock`` the room's lock,
    ``deliver(participant_id, text)`` sends on a participant's data channel.
    """

    def __init__(
        self,
        room_id: str,
        participants: Mapping[str, Participant],
        room_lock: asyncio.Lock,
        deliver: Callable[[str, str], bool],
    ) -> None:
        self._room_id = room_id
        self._participants = participants
        self._room_lock = room_lock
        self._deliver = deliver

    async def on_lock(self, message: TrackState) -> None:
        """Lock (or unlock) a participant's track; everyone, the participant too, is told."""
        async with self._room_lock:
            participant = self._participants.get(message.sender or "")
            state = lock(self._room_id, participant, message)
        if state is not None:
            text = encode_message(state)
            for pid in list(self._participants):
                self._deliver(pid, text)

    def relay_own_state(self, sender: Participant, message: Message) -> None:
        """Stamp a participant's own ``track_state``, remember it, relay it to the others.

        Unmuting a locked kind is answered ``forbidden`` on its channel and changes
        nothing; a state sent while locked keeps the lock's ``by``.
        """
        assert isinstance(message, TrackState)
        by = sender.locked.get(message.kind)
        if by is not None and not message.muted:
            refused = ProtocolError(
                ErrorCode.FORBIDDEN,
                f"a moderator muted your {message.kind}; only a moderator can let you unmute it",
                TrackState.action,
            )
            if sender.producer is not None:
                sender.producer.send(encode_message(error_message(refused)))
            return
        stamped = TrackState(kind=message.kind, muted=message.muted, sender=sender.id, by=by)
        sender.track_states[stamped.kind] = stamped
        text = encode_message(stamped)
        for pid in list(self._participants):
            if pid != sender.id:
                self._deliver(pid, text)
