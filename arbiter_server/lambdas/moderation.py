"""Moderation: remove a participant, hold its audio or video muted, end the room, answer
the lobby, change a participant's app data.

One code path for both callers: a moderator's ``moderate`` message (signaling checks the
``moderator`` grant; ``by`` is its participant id) and the server API (``by`` is
``app``). Everyone concerned is told: the one removed gets ``removed`` and its socket is
closed, the others ``participant_left`` (reason ``removed``, ``by``); a mute reaches the
SFU as ``track_state`` with ``by``, which stops forwarding that track and tells everyone.
"""

from __future__ import annotations

import logging

from arbiter_protocol import (
    ErrorCode,
    MediaKind,
    Message,
    Moderate,
    ParticipantInfo,
    ParticipantUpdated,
    ProtocolError,
    Removed,
    TrackState,
)

from ..store import SEAT_ROLES, ConnectionRecord
from . import lobby, notify
from .lobby import Seat
from .presence import drop, send
from .rooms import info_of, locked_of, reset_sfu
from .services import Services
from .sessions import end_session

__all__ = ["apply", "end_room", "moderate", "mute", "remove", "update_metadata"]

logger = logging.getLogger(__name__)


def moderate(services: Services, conn: ConnectionRecord, message: Message, seat: Seat) -> None:
    """A ``moderate`` message from a connection: ``forbidden`` unless it is a moderator."""
    assert isinstance(message, Moderate)
    if conn.role != "participant" or "moderator" not in (conn.grants or "").split(","):
        raise ProtocolError(
            ErrorCode.FORBIDDEN,
            f"only a moderator may {message.op.replace('_', ' ')}: your grant has no 'moderator'",
            Moderate.action,
        )
    apply(services, conn.room_id or "", message, conn.participant_id or "", seat)


def apply(services: Services, room_id: str, message: Moderate, by: str, seat: Seat) -> None:
    """Do what ``message`` says in ``room_id`` on behalf of ``by``."""
    pid = message.participant_id or ""
    try:
        if message.op == "remove":
            remove(services, room_id, pid, by, message.reason)
        elif message.op == "mute":
            assert message.kind is not None
            mute(services, room_id, pid, message.kind, message.muted, by)
        elif message.op == "end_room":
            end_room(services, room_id, by, message.reason)
        elif message.op == "admit":
            lobby.admit(services, room_id, pid, seat)
        else:
            lobby.deny(services, room_id, pid, by, message.reason)
    except ProtocolError as exc:
        exc.action = exc.action or Moderate.action
        raise
    logger.info("room %s: %s %s by %s", room_id, message.op, pid or "-", by)


def _seated(services: Services, room_id: str, participant_id: str) -> ConnectionRecord | None:
    for conn in services.store.list_connections(room_id):
        if conn.participant_id == participant_id and conn.role in SEAT_ROLES:
            return conn
    return None


def _target(services: Services, room_id: str, participant_id: str) -> ConnectionRecord:
    conn = _seated(services, room_id, participant_id)
    if conn is None:
        raise ProtocolError(
            ErrorCode.PARTICIPANT_NOT_FOUND,
            f"participant '{participant_id}' is not in room '{room_id}'",
        )
    return conn


def remove(
    services: Services, room_id: str, participant_id: str, by: str, reason: str | None
) -> None:
    """End a participant's session (one waiting in the lobby is denied instead)."""
    if participant_id == by:
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "to remove yourself, leave")
    conn = _seated(services, room_id, participant_id)
    if conn is None and lobby.waiting_of(services, room_id, participant_id) is not None:
        lobby.deny(services, room_id, participant_id, by, reason)
        return
    conn = _target(services, room_id, participant_id)
    if conn.role == "participant":
        send(services, conn.connection_id, Removed(reason="removed", by=by, message=reason))
    drop(services, conn.connection_id, "removed", by=by)
    end_session(services, conn.session_id)
    if conn.role == "participant":
        services.poster.close_connection(conn.connection_id)


def mute(
    services: Services, room_id: str, participant_id: str, kind: MediaKind, muted: bool, by: str
) -> ParticipantInfo:
    """Hold a participant's ``kind`` muted (``muted``) or lift that lock; the SFU enforces it.

    The lock outlives the participant's reconnections (it is in its session) and a new SFU
    learns it with the participant list.
    """
    conn = _target(services, room_id, participant_id)
    kinds = set(locked_of(conn.locked))
    if muted:
        kinds.add(kind)
    else:
        kinds.discard(kind)
    locked = ",".join(k for k in ("audio", "video") if k in kinds) or None
    services.store.update_session(participant_id, {}, locked=locked)
    conn.locked = locked
    services.store.put_connection(conn)
    room = services.store.get_room(room_id)
    if room is not None and room.sfu_connection_id:
        state = TrackState(kind=kind, muted=muted, sender=participant_id, by=by if muted else None)
        send(services, room.sfu_connection_id, state)
    return info_of(conn)


def end_room(services: Services, room_id: str, by: str, reason: str | None) -> None:
    """Remove everyone (``removed`` with reason ``room_ended``), stop its SFU, delete it."""
    store = services.store
    room = store.get_room(room_id)
    if room is None:
        raise ProtocolError(ErrorCode.ROOM_NOT_FOUND, f"room '{room_id}' does not exist")
    if room.sfu_state != "none":
        reset_sfu(services, room, "the room was ended")
    ended = Removed(reason="room_ended", by=by, message=reason)
    had_participants = False
    for conn in store.list_connections(room_id):
        if conn.role in ("participant", "waiting"):
            services.poster.post(conn.connection_id, ended)
        # whoever deletes a connection reports it: one that dropped on its own meanwhile
        # (its socket closed on ``removed``) was reported by presence.drop
        deleted = store.delete_connection(conn.connection_id) is not None
        if conn.role != "sfu":
            end_session(services, conn.session_id)
        if conn.role in ("participant", "waiting", "sfu"):
            services.poster.close_connection(conn.connection_id)
        if conn.role in SEAT_ROLES:
            had_participants = True
            if deleted:
                notify.participant_left(services, room_id, info_of(conn), "room_ended", last=False)
    store.delete_room(room_id)
    if had_participants:
        notify.room_ended(services, room_id, "closed")


def update_metadata(
    services: Services, room_id: str, participant_id: str, metadata: str | None
) -> ParticipantInfo:
    """Set a participant's app data; everyone in the room gets ``participant_updated``."""
    conn = _seated(services, room_id, participant_id) or lobby.waiting_of(
        services, room_id, participant_id
    )
    if conn is None:
        raise ProtocolError(
            ErrorCode.PARTICIPANT_NOT_FOUND,
            f"participant '{participant_id}' is not in room '{room_id}'",
        )
    services.store.update_session(participant_id, {}, metadata=metadata)
    conn.metadata = metadata
    services.store.put_connection(conn)
    info = info_of(conn)
    if conn.role in SEAT_ROLES:  # the participants (it too) are told; the SFU needs none of it
        told = ParticipantUpdated(participant=info)
        for other in services.store.list_connections(room_id, "participant"):
            send(services, other.connection_id, told)
    return info
