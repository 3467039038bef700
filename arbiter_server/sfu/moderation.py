"""A moderator's lock on a participant's audio or video, as the SFU enforces it.

Signaling sends the SFU ``track_state {sender, kind, muted, by}`` when a moderator (or the
app) mutes a participant or lifts that lock; a new SFU learns the locks from the
participant list (``locked``). While a kind is locked, the participant's tracks of that
kind are forwarded to nobody (:meth:`.TrackForwarder.set_muted`), and its own
``track_state`` cannot unmute it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Mapping

from arbiter_protocol import (
    BY_APP,
    ErrorCode,
    ParticipantInfo,
    ProtocolError,
    TrackState,
    encode_message,
)

from .forwarder import TrackForwarder
from .participant import Participant

__all__ = ["TrackLocks", "learn_locks", "own_state"]

logger = logging.getLogger(__name__)


class TrackLocks:
    """Applies moderators' locks in one room.

    ``participants`` and ``tracks`` are the room's tables (read, never changed), ``lock``
    the room's lock, ``deliver(participant_id, text)`` sends on a participant's data channel.
    """

    def __init__(
        self,
        room_id: str,
        participants: Mapping[str, Participant],
        tracks: Mapping[tuple[str, str], TrackForwarder],
        room_lock: asyncio.Lock,
        deliver: Callable[[str, str], bool],
    ) -> None:
        self._room_id = room_id
        self._participants = participants
        self._tracks = tracks
        self._room_lock = room_lock
        self._deliver = deliver

    async def on_lock(self, message: TrackState) -> None:
        """Lock (or unlock) a participant's track; everyone, the participant too, is told.

        A lock says ``muted`` with ``by``; a lifted lock says ``muted`` without ``by`` (the
        participant stays muted until it unmutes itself, which it may now).
        """
        async with self._room_lock:
            participant = self._participants.get(message.sender or "")
            if participant is None:
                logger.info("room %s: lock of unknown %s ignored", self._room_id, message.sender)
                return
            if message.muted:
                participant.locked[message.kind] = message.by or BY_APP
            else:
                participant.locked.pop(message.kind, None)
            self.apply(participant)
            state = TrackState(
                kind=message.kind,
                muted=True,
                sender=participant.id,
                by=participant.locked.get(message.kind),
            )
            participant.remember(state)
        logger.info(
            "room %s: %s's %s %s by %s",
            self._room_id,
            participant.id,
            message.kind,
            "locked" if message.muted else "unlocked",
            message.by,
        )
        text = encode_message(state)
        for pid in list(self._participants):
            self._deliver(pid, text)

    def apply(self, participant: Participant) -> None:
        """Mute (or unmute) the participant's tracks as its locks say."""
        for (pid, _), forwarder in self._tracks.items():
            if pid == participant.id:
                forwarder.set_muted(forwarder.kind in participant.locked)


def learn_locks(participant: Participant, info: ParticipantInfo) -> Participant:
    """A participant new to this SFU takes the locks signaling kept for it; returns it.

    Who set them is not in the participant list: they show ``by`` = ``app``.
    """
    for kind in info.locked or ():
        participant.locked.setdefault(kind, BY_APP)
        participant.remember(
            TrackState(kind=kind, muted=True, sender=participant.id, by=participant.locked[kind])
        )
    return participant


def own_state(sender: Participant, message: TrackState) -> TrackState | ProtocolError:
    """A participant's own ``track_state``, stamped (a state sent while locked keeps the
    lock's ``by``); unmuting a locked kind is refused with ``forbidden``."""
    by = sender.locked.get(message.kind)
    if by is not None and not message.muted:
        return ProtocolError(
            ErrorCode.FORBIDDEN,
            f"a moderator muted your {message.kind}; only a moderator can let you unmute it",
            TrackState.action,
        )
    return dataclasses.replace(message, sender=sender.id, by=by)
