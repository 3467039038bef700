"""Who is connected: posting to connections, telling a room, forgetting a connection.

Shared by signaling, moderation and the lobby. Only ``participant`` and ``sfu``
connections hear what happens in a room: ``away`` ones have no socket, ``waiting`` ones
(in the lobby) are not in the room yet.
"""

from __future__ import annotations

import logging

from arbiter_protocol import Lobby, Message, ParticipantLeft

from ..store import SEAT_ROLES, ConnectionRecord
from . import notify
from .rooms import info_of
from .services import Services

__all__ = ["HEARING_ROLES", "announce_lobby", "broadcast", "disconnected", "drop", "send"]

logger = logging.getLogger(__name__)

HEARING_ROLES = ("participant", "sfu")
"Roles of the connections that are told what happens in their room."


def send(services: Services, connection_id: str, message: Message) -> bool:
    """Post to a connection; a gone connection is cleaned up as a disconnect."""
    if services.poster.post(connection_id, message):
        return True
    logger.info("connection %s is gone", connection_id)
    disconnected(services, connection_id)
    return False


def broadcast(services: Services, room_id: str, message: Message, exclude: str) -> None:
    """Send to every connection of a room that hears it (participants and SFU) but one."""
    for conn in services.store.list_connections(room_id):
        if conn.connection_id != exclude and conn.role in HEARING_ROLES:
            send(services, conn.connection_id, message)


def disconnected(services: Services, connection_id: str) -> None:
    """A socket closed without ``leave``: keep a participant ``away`` for the reconnect grace."""
    conn = services.store.get_connection(connection_id)
    if conn is not None and conn.role == "participant":
        conn.role, conn.away_since = "away", services.clock()
        services.store.put_connection(conn)
        logger.info("participant %s is away (socket closed)", conn.participant_id)
        return
    drop(services, connection_id, "disconnected")


def drop(services: Services, connection_id: str, reason: str, by: str | None = None) -> None:
    """Forget a connection and tell its room (``by``: who removed it, for ``removed``)."""
    store = services.store
    conn = store.delete_connection(connection_id)
    if conn is None or conn.room_id is None:
        return
    if conn.role in SEAT_ROLES and conn.participant_id:
        # the app hears of it before the room does, so what anyone does once told comes
        # after it; of several leaving at once, the one that empties the room (an atomic
        # step) reports ``room_ended``, once
        others = store.list_connections(conn.room_id)
        last = not any(c.role in SEAT_ROLES for c in others) and store.update_room(
            conn.room_id, expect_occupied=True, empty_since=services.clock(), waiting_since=None
        )
        notify.participant_left(services, conn.room_id, info_of(conn), reason, last=last)
        left = ParticipantLeft(participant_id=conn.participant_id, reason=reason, by=by)
        for other in others:
            if other.role in HEARING_ROLES:
                send(services, other.connection_id, left)
    elif conn.role == "waiting":
        announce_lobby(services, conn.room_id)
    elif conn.role == "sfu":
        room = store.get_room(conn.room_id)
        if room is not None and room.sfu_connection_id == connection_id:
            store.update_room(
                conn.room_id,
                expect_sfu_id=room.sfu_id,
                sfu_connection_id=None,
                sfu_state="starting" if room.sfu_state == "ready" else room.sfu_state,
                sfu_changed_at=services.clock(),
            )


def announce_lobby(services: Services, room_id: str, to: ConnectionRecord | None = None) -> None:
    """Tell the room's moderators (or only ``to``) who waits in its lobby now."""
    conns = services.store.list_connections(room_id)
    waiting = [info_of(c) for c in conns if c.role == "waiting"]
    message = Lobby(waiting=waiting)
    targets = [to] if to is not None else conns
    for conn in targets:
        if conn.role == "participant" and "moderator" in (conn.grants or "").split(","):
            send(services, conn.connection_id, message)
