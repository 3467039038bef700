"""Signaling handler (API Gateway WebSocket API; route selection ``$request.body.action``).

Routes: ``$connect``, ``$disconnect``, ``identify``, ``handshake``, ``leave`` and
``$default``. Replies go through the poster, never the integration response, so the code
is the same on API Gateway and on the local gateway. Every invalid message is answered
with an ``error`` and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from arbiter_protocol import (
    Error,
    ErrorCode,
    Handshake,
    Identified,
    Identify,
    Message,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLeft,
    ProtocolError,
    SfuReady,
    error_message,
    parse_message,
)

from ..auth import TokenError, verify_token
from ..store import ConnectionRecord, StoreUnavailable
from ._responses import error_response
from .rooms import grants_of, participants_of
from .services import Services, get_services

__all__ = ["CLIENT_ACTIONS", "expire_away", "handler"]

logger = logging.getLogger(__name__)

Event = dict[str, Any]
OK: dict[str, Any] = {"statusCode": 200}

CLIENT_ACTIONS = frozenset({"identify", "handshake", "leave", "error"})
"Actions a connection may send; everything else is ``unknown_action`` (``error`` only SFUs)."


def handler(event: Event, context: object) -> dict[str, Any]:
    """Entry point for every WebSocket route."""
    ctx = event.get("requestContext") or {}
    connection_id = str(ctx.get("connectionId", ""))
    route = str(ctx.get("routeKey", "$default"))
    services = get_services()
    if route in ("$connect", "$disconnect"):
        try:
            if route == "$connect":
                services.store.put_connection(
                    ConnectionRecord(connection_id=connection_id, connected_at=services.clock())
                )
            else:
                _disconnected(services, connection_id)
        except StoreUnavailable as exc:
            # $connect: the socket is refused; $disconnect: the record stays until a send to
            # the gone connection fails, which cleans it up as a disconnect
            logger.error("signaling %s for %s: %s", route, connection_id, exc)
            return error_response(503, ErrorCode.STORE_UNAVAILABLE, str(exc))
        return OK
    try:
        _check_rate(services, connection_id)
        message = parse_message(event.get("body") or "", CLIENT_ACTIONS)
        _HANDLERS[message.action](services, connection_id, message)
    except ProtocolError as exc:
        logger.info("signaling error for %s: %s %s", connection_id, exc.code.value, exc.message)
        _send(services, connection_id, error_message(exc))
    except StoreUnavailable as exc:
        logger.error("signaling %s failed for %s: %s", route, connection_id, exc)
        _send(
            services,
            connection_id,
            error_message(ProtocolError(ErrorCode.STORE_UNAVAILABLE, str(exc), _action(event))),
        )
    except Exception:
        logger.exception("signaling %s failed for %s", route, connection_id)
        _send(
            services,
            connection_id,
            error_message(ProtocolError(ErrorCode.INTERNAL_ERROR, "internal error")),
        )
    return OK


def _action(event: Event) -> str | None:
    """The route's action, for the ``ref`` of an error reply (None for ``$default``)."""
    route = str((event.get("requestContext") or {}).get("routeKey", ""))
    return route if route in CLIENT_ACTIONS else None


def _check_rate(services: Services, connection_id: str) -> None:
    settings = services.settings
    count = services.store.count_message(connection_id, services.clock(), settings.rate_window)
    if count > settings.rate_limit and not _is_sfu(services, connection_id):
        raise ProtocolError(
            ErrorCode.RATE_LIMITED,
            f"more than {settings.rate_limit} messages in {settings.rate_window:g} s; "
            "this message was dropped",
        )


def _is_sfu(services: Services, connection_id: str) -> bool:
    """SFUs are infrastructure: their offers grow with the square of the room size."""
    conn = services.store.get_connection(connection_id)
    return conn is not None and conn.role == "sfu"


def _send(services: Services, connection_id: str, message: Message) -> bool:
    """Post to a connection; a gone connection is cleaned up as a disconnect."""
    if services.poster.post(connection_id, message):
        return True
    logger.info("connection %s is gone", connection_id)
    _disconnected(services, connection_id)
    return False


def _broadcast(services: Services, room_id: str, message: Message, exclude: str) -> None:
    """Send to every identified connection of a room (participants and SFU) but one."""
    for conn in services.store.list_connections(room_id):
        if conn.connection_id != exclude and conn.role != "away":
            _send(services, conn.connection_id, message)


def _identified(services: Services, connection_id: str) -> ConnectionRecord:
    conn = services.store.get_connection(connection_id)
    if conn is None or conn.role == "pending" or conn.room_id is None:
        raise ProtocolError(ErrorCode.NOT_IDENTIFIED, "send 'identify' with your token first")
    return conn


def _identify(services: Services, connection_id: str, message: Message) -> None:
    assert isinstance(message, Identify)
    store = services.store
    conn = store.get_connection(connection_id)
    if conn is None:
        conn = ConnectionRecord(connection_id=connection_id, connected_at=services.clock())
    if conn.role != "pending":
        raise ProtocolError(
            ErrorCode.ALREADY_IDENTIFIED, "this connection has identified already", "identify"
        )
    try:
        claims = verify_token(services.settings.secret, message.token)
    except TokenError as exc:
        raise ProtocolError(ErrorCode.UNAUTHORIZED, str(exc), "identify") from None
    room = store.get_room(claims.room_id)
    if room is None:
        raise ProtocolError(
            ErrorCode.ROOM_NOT_FOUND, f"room '{claims.room_id}' does not exist", "identify"
        )
    if claims.role == "sfu":
        if room.sfu_id != claims.subject or room.sfu_state not in ("starting", "ready"):
            raise ProtocolError(
                ErrorCode.UNAUTHORIZED,
                "this SFU credential is not the room's current SFU",
                "identify",
            )
        conn.role, conn.room_id = "sfu", room.room_id
        store.put_connection(conn)
        store.update_room(
            room.room_id,
            expect_sfu_id=claims.subject,
            sfu_state="ready",
            sfu_connection_id=connection_id,
            sfu_changed_at=services.clock(),
        )
        _send(
            services,
            connection_id,
            Identified(
                room_id=room.room_id,
                role="sfu",
                sfu_ready=True,
                participants=participants_of(services, room.room_id),
            ),
        )
        for other in store.list_connections(room.room_id, "participant"):
            _send(services, other.connection_id, SfuReady(room_id=room.room_id))
        return
    # a participant; the same participant identifying again takes over its old record: after
    # a dropped socket (``away``) nobody was told it left, so nobody is told it is back
    resumed = False
    away_since: float | None = None
    for old in store.list_connections(room.room_id):
        if old.participant_id == claims.subject and old.role in ("participant", "away"):
            resumed = True
            away_since = old.away_since if old.role == "away" else None
            store.delete_connection(old.connection_id)
            if old.role == "participant":
                services.poster.close_connection(old.connection_id)
    others = participants_of(services, room.room_id)
    conn.role, conn.room_id = "participant", room.room_id
    conn.participant_id, conn.name = claims.subject, claims.name
    conn.grants = ",".join(claims.grants)
    store.put_connection(conn)
    store.update_room(room.room_id, empty_since=None)
    info = ParticipantInfo(id=claims.subject, name=claims.name, grants=grants_of(conn))
    if resumed:
        # the other participants never heard of the blip; the SFU is told again so it can
        # re-send consumer offers that could not be delivered while the socket was down
        logger.info("participant %s resumed on %s", claims.subject, connection_id)
        room_now = store.get_room(room.room_id)
        if room_now is not None and room_now.sfu_connection_id:
            _send(services, room_now.sfu_connection_id, ParticipantJoined(participant=info))
    else:
        # the SFU must know the participant before the participant can send it anything,
        # so the room hears of the newcomer before the newcomer hears ``identified``
        _broadcast(
            services,
            room.room_id,
            ParticipantJoined(participant=info),
            exclude=connection_id,
        )
    fresh = store.get_room(room.room_id) or room
    _send(
        services,
        connection_id,
        Identified(
            room_id=room.room_id,
            role="participant",
            participant_id=claims.subject,
            sfu_ready=fresh.sfu_state == "ready",
            participants=others,
            resumed=resumed,
        ),
    )
    if (
        away_since is not None
        and fresh.sfu_state == "ready"
        and (fresh.sfu_changed_at or 0.0) >= away_since
    ):
        # the room got a new SFU while this participant was away (an SFU or server restart):
        # the ``sfu_ready`` it missed tells it to set its media up again
        _send(services, connection_id, SfuReady(room_id=room.room_id))


def _handshake(services: Services, connection_id: str, message: Message) -> None:
    assert isinstance(message, Handshake)
    conn = _identified(services, connection_id)
    room_id = conn.room_id or ""
    if conn.role == "participant":
        room = services.store.get_room(room_id)
        if room is None or room.sfu_state != "ready" or not room.sfu_connection_id:
            raise ProtocolError(
                ErrorCode.SFU_UNAVAILABLE,
                "the room's SFU is not connected yet; wait for 'sfu_ready'",
                "handshake",
            )
        message.participant_id = conn.participant_id
        if not _send(services, room.sfu_connection_id, message):
            raise ProtocolError(ErrorCode.SFU_UNAVAILABLE, "the room's SFU went away", "handshake")
        return
    # from the SFU: address a participant of the same room
    if message.participant_id is None:
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE, "an SFU handshake needs 'participant_id'", "handshake"
        )
    for target in services.store.list_connections(room_id, "participant"):
        if target.participant_id == message.participant_id:
            _send(services, target.connection_id, message)
            return
    raise ProtocolError(
        ErrorCode.PARTICIPANT_NOT_FOUND,
        f"participant '{message.participant_id}' is not in this room",
        "handshake",
    )


def _error(services: Services, connection_id: str, message: Message) -> None:
    """An SFU reports an error about something a participant sent it."""
    assert isinstance(message, Error)
    conn = _identified(services, connection_id)
    if conn.role != "sfu":
        raise ProtocolError(ErrorCode.FORBIDDEN, "only an SFU reports errors", "error")
    if message.participant_id is None:
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE, "an SFU error needs 'participant_id'", "error"
        )
    for target in services.store.list_connections(conn.room_id or "", "participant"):
        if target.participant_id == message.participant_id:
            _send(services, target.connection_id, message)
            return
    logger.info("SFU error for %s who has left: %s", message.participant_id, message.message)


def _leave(services: Services, connection_id: str, message: Message) -> None:
    conn = _identified(services, connection_id)
    if conn.role != "participant":
        raise ProtocolError(ErrorCode.FORBIDDEN, "only participants leave", "leave")
    _drop(services, connection_id, "left")
    # the socket stays open but is no longer identified
    services.store.put_connection(
        ConnectionRecord(connection_id=connection_id, connected_at=conn.connected_at)
    )


def _disconnected(services: Services, connection_id: str) -> None:
    """A socket closed without ``leave``: keep a participant ``away`` for the reconnect grace."""
    conn = services.store.get_connection(connection_id)
    if conn is not None and conn.role == "participant":
        conn.role, conn.away_since = "away", services.clock()
        services.store.put_connection(conn)
        logger.info("participant %s is away (socket closed)", conn.participant_id)
        return
    _drop(services, connection_id, "disconnected")


def expire_away(services: Services) -> list[str]:
    """Tell rooms about ``away`` participants past the reconnect grace; return their ids."""
    now = services.clock()
    gone: list[str] = []
    for room in services.store.list_rooms():
        for conn in services.store.list_connections(room.room_id, "away"):
            if now - (conn.away_since or now) > services.settings.reconnect_grace:
                _drop(services, conn.connection_id, "disconnected")
                gone.append(conn.participant_id or "")
    return gone


def _drop(services: Services, connection_id: str, reason: str) -> None:
    """Forget a connection and tell its room."""
    store = services.store
    conn = store.delete_connection(connection_id)
    if conn is None or conn.room_id is None:
        return
    if conn.role in ("participant", "away") and conn.participant_id:
        left = ParticipantLeft(participant_id=conn.participant_id, reason=reason)
        for other in store.list_connections(conn.room_id):
            if other.role != "away":
                _send(services, other.connection_id, left)
        if not participants_of(services, conn.room_id):
            store.update_room(conn.room_id, empty_since=services.clock())
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


_HANDLERS: dict[str, Callable[[Services, str, Message], None]] = {
    "identify": _identify,
    "handshake": _handshake,
    "leave": _leave,
    "error": _error,
}
