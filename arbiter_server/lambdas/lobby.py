"""A room's lobby: participants who identified but wait for a moderator to admit them.

Who waits is decided at the join (:mod:`.access`): in a room with ``lobby`` set, joiners
without a grant, and those whose grant says ``lobby``, unless they are moderators. A
waiting connection has role ``waiting``: it holds no seat, the SFU does not know it and it
hears nothing of the room; moderators get ``lobby`` with everyone waiting whenever that
changes. ``admit`` seats it (it then gets a full ``identified``); ``deny`` ends its session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from arbiter_protocol import (
    MAX_LOBBY,
    ErrorCode,
    Identified,
    ProtocolError,
    Removed,
)

from ..store import ConnectionRecord, SessionRecord
from .presence import announce_lobby, send
from .services import Services
from .sessions import Credentials, end_session

__all__ = ["Seat", "admit", "deny", "show_to_moderator", "wait", "waiting_of"]

logger = logging.getLogger(__name__)

Seat = Callable[
    [Services, ConnectionRecord, SessionRecord, ConnectionRecord | None, Credentials | None], None
]
"How signaling seats a participant (its ``_admit_participant``), handed in by the caller."


def waiting_of(services: Services, room_id: str, participant_id: str) -> ConnectionRecord | None:
    """The lobby connection of ``participant_id`` in ``room_id``, if it waits there."""
    for conn in services.store.list_connections(room_id, "waiting"):
        if conn.participant_id == participant_id:
            return conn
    return None


def wait(
    services: Services,
    conn: ConnectionRecord,
    session: SessionRecord,
    credentials: Credentials | None,
) -> None:
    """Put a participant that identified (or resumed) into its room's lobby."""
    store = services.store
    action = "resume" if credentials is not None else "identify"
    room = store.get_room(session.room_id)
    if room is None:
        raise ProtocolError(
            ErrorCode.ROOM_NOT_FOUND, f"room '{session.room_id}' does not exist", action
        )
    pid = session.session_id
    previous = waiting_of(services, room.room_id, pid)
    queued = store.list_connections(room.room_id, "waiting")
    if previous is None and len(queued) >= MAX_LOBBY:
        raise ProtocolError(
            ErrorCode.ROOM_FULL, f"the lobby of room '{room.room_id}' is full", action
        )
    if previous is not None and previous.connection_id != conn.connection_id:
        store.delete_connection(previous.connection_id)
        services.poster.close_connection(previous.connection_id)
    conn.role, conn.room_id, conn.session_id = "waiting", room.room_id, pid
    conn.participant_id, conn.name, conn.grants = pid, session.name, session.grants
    conn.identity, conn.metadata = session.identity, session.metadata
    conn.session_ends_at = session.ends_at
    store.put_connection(conn)
    logger.info("participant %s waits in the lobby of %s", pid, room.room_id)
    send(
        services,
        conn.connection_id,
        Identified(
            room_id=room.room_id,
            role="participant",
            participant_id=pid,
            sfu_ready=False,
            waiting=True,
            resumed=credentials is not None,
            refresh_token=credentials.refresh_token if credentials else None,
            refresh_expires_at=credentials.refresh_expires_at if credentials else None,
            session_expires_at=int(session.ends_at) if session.ends_at is not None else None,
            idle_timeout=services.settings.idle_timeout,
        ),
    )
    if previous is None:
        announce_lobby(services, room.room_id)


def show_to_moderator(services: Services, conn: ConnectionRecord) -> None:
    """A participant was seated in a lobby room: if it moderates, show it the lobby."""
    if conn.room_id and "moderator" in (conn.grants or "").split(","):
        announce_lobby(services, conn.room_id, to=conn)


def admit(services: Services, room_id: str, participant_id: str, seat: Seat) -> None:
    """Seat a waiting participant: it gets ``identified`` and the room hears of it."""
    conn = _waiting(services, room_id, participant_id)
    session = services.store.get_session(participant_id)
    if session is None:
        raise ProtocolError(
            ErrorCode.PARTICIPANT_NOT_FOUND, f"'{participant_id}' has no session any more"
        )
    seat(services, conn, session, None, None)
    services.store.update_session(participant_id, {}, lobby=False)
    announce_lobby(services, room_id)


def deny(
    services: Services, room_id: str, participant_id: str, by: str, reason: str | None
) -> None:
    """Refuse a waiting participant: it gets ``removed`` (``denied``), its session ends."""
    conn = _waiting(services, room_id, participant_id)
    send(services, conn.connection_id, Removed(reason="denied", by=by, message=reason))
    services.store.delete_connection(conn.connection_id)
    end_session(services, participant_id)
    services.poster.close_connection(conn.connection_id)
    announce_lobby(services, room_id)


def _waiting(services: Services, room_id: str, participant_id: str) -> ConnectionRecord:
    conn = waiting_of(services, room_id, participant_id)
    if conn is None:
        raise ProtocolError(
            ErrorCode.PARTICIPANT_NOT_FOUND,
            f"nobody '{participant_id}' waits in the lobby of room '{room_id}'",
        )
    return conn
