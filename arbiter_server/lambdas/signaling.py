"""Signaling handler (API Gateway WebSocket API; route selection ``$request.body.action``).

Routes: ``$connect``, ``$disconnect``, ``identify``, ``resume``, ``refresh``,
``handshake``, ``leave``, ``update_participant``, ``error`` and ``$default``. Replies go
through the poster, never the integration response, so the code is the same on API
Gateway and on the local gateway.
Every invalid message is answered with an ``error`` and changes nothing. Sessions (who may
identify, resume and refresh) are :mod:`.sessions`; rate limits are :mod:`.limits`.
"""

from __future__ import annotations

import base64
import binascii
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
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    ProtocolError,
    Refresh,
    Refreshed,
    Resume,
    SfuReady,
    UpdateParticipant,
    error_message,
    parse_message,
)

from ..auth import new_refresh_credential, split_refresh_credential
from ..store import SEAT_ROLES, Admission, ConnectionRecord, SessionRecord, StoreUnavailable
from . import limits, lobby, notify
from ._responses import error_response
from .moderation import moderate
from .presence import broadcast as _broadcast
from .presence import disconnected as _disconnected
from .presence import drop as _drop
from .presence import send as _send
from .rooms import info_of, participants_of
from .routes import CLIENT_ROUTES
from .services import Services, get_services
from .sessions import Credentials, admit_token, end_session, rotate_refresh

__all__ = ["CLIENT_ACTIONS", "admit_participant", "expire_connections", "handler"]

logger = logging.getLogger(__name__)

Event = dict[str, Any]
OK: dict[str, Any] = {"statusCode": 200}

CLIENT_ACTIONS = frozenset(CLIENT_ROUTES)
"Actions a connection may send (:data:`~.routes.CLIENT_ROUTES`); the rest is ``unknown_action``."


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
        conn = services.store.get_connection(connection_id)
        if conn is None or conn.role != "sfu":  # SFUs: their offers grow with the room
            limits.check_connection(services, connection_id)
        if conn is not None and _session_over(services, conn):
            _end_session(services, conn)
            return OK
        message = parse_message(_body(event), CLIENT_ACTIONS)
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


def _body(event: Event) -> str | bytes:
    """The message as API Gateway delivers it (base64 for a binary frame)."""
    body = event.get("body")
    if body is None:
        return ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(str(body), validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError(ErrorCode.MALFORMED_JSON, "message is not valid base64") from None
    return str(body)


def _identified(services: Services, connection_id: str) -> ConnectionRecord:
    conn = services.store.get_connection(connection_id)
    if conn is None or conn.role == "pending" or conn.room_id is None:
        raise ProtocolError(ErrorCode.NOT_IDENTIFIED, "send 'identify' with your token first")
    return conn


def _pending(services: Services, connection_id: str, action: str) -> ConnectionRecord:
    conn = services.store.get_connection(connection_id)
    if conn is None:
        conn = ConnectionRecord(connection_id=connection_id, connected_at=services.clock())
    if conn.role != "pending":
        raise ProtocolError(
            ErrorCode.ALREADY_IDENTIFIED, "this connection has identified already", action
        )
    return conn


# ------------------------------------------------------------------ identify, resume, refresh


def _identify(services: Services, connection_id: str, message: Message) -> None:
    assert isinstance(message, Identify)
    conn = _pending(services, connection_id, "identify")
    claims, session = admit_token(services, message.token)
    if claims.role == "sfu":
        _admit_sfu(services, conn, session, None)
    elif session.lobby:
        lobby.wait(services, conn, session, None)
    else:
        _admit_participant(services, conn, session, None, None)


def _resume(services: Services, connection_id: str, message: Message) -> None:
    assert isinstance(message, Resume)
    conn = _pending(services, connection_id, "resume")
    parts = split_refresh_credential(message.refresh_token)
    if parts is not None:
        limits.check_session(services, parts[0], "resume")
    session, credentials = rotate_refresh(services, message.refresh_token, "resume")
    if session.role == "sfu":
        _admit_sfu(services, conn, session, credentials)
        return
    if session.lobby:
        lobby.wait(services, conn, session, credentials)
        return
    previous = next(
        (
            c
            for c in services.store.list_connections(session.room_id)
            if c.participant_id == session.session_id and c.role in SEAT_ROLES
        ),
        None,
    )
    _admit_participant(services, conn, session, previous, credentials)


def _refresh(services: Services, connection_id: str, message: Message) -> None:
    assert isinstance(message, Refresh)
    conn = _identified(services, connection_id)
    _, credentials = rotate_refresh(
        services, message.refresh_token, "refresh", session_id=conn.session_id or ""
    )
    ice = services.ice_servers(conn.participant_id or "") if conn.role == "participant" else None
    _send(
        services,
        connection_id,
        Refreshed(
            refresh_token=credentials.refresh_token,
            refresh_expires_at=credentials.refresh_expires_at,
            session_expires_at=credentials.session_expires_at,
            ice_servers=ice,
        ),
    )


def _admit_participant(
    services: Services,
    conn: ConnectionRecord,
    session: SessionRecord,
    previous: ConnectionRecord | None,
    credentials: Credentials | None,
) -> None:
    """Give the participant a seat (or its previous connection's seat) and tell the room.

    A connection that replaces the participant's previous one (a ``resume``) is a resume:
    the room was never told it left, so it is not told it is back; the old socket, if still
    open, is closed. Anything else is a newcomer whom everyone hears of.
    """
    store, settings = services.store, services.settings
    action = "resume" if credentials is not None else "identify"
    room = store.get_room(session.room_id)
    if room is None:
        raise ProtocolError(
            ErrorCode.ROOM_NOT_FOUND, f"room '{session.room_id}' does not exist", action
        )
    pid = session.session_id
    conn.role, conn.room_id = "participant", room.room_id
    conn.participant_id, conn.name, conn.grants = pid, session.name, session.grants
    conn.hand_raised = session.hand_raised
    conn.identity, conn.metadata, conn.locked = session.identity, session.metadata, session.locked
    conn.session_id, conn.session_ends_at = pid, session.ends_at
    others = [p for p in participants_of(services, room.room_id) if p.id != pid]
    admission = store.admit_participant(
        conn, settings.max_participants, previous.connection_id if previous else None
    )
    if admission is Admission.FULL:
        raise ProtocolError(
            ErrorCode.ROOM_FULL,
            f"room '{room.room_id}' has all its {settings.max_participants} seats taken",
            action,
        )
    store.update_room(room.room_id, empty_since=None, waiting_since=None)
    info = info_of(conn)
    resumed = admission is Admission.TOOK_OVER
    if resumed:
        assert previous is not None
        if previous.role == "participant":  # a socket that still looked alive
            services.poster.close_connection(previous.connection_id)
        # the other participants never heard of the blip; the SFU is told again so it can
        # re-send consumer offers that could not be delivered while the socket was down
        logger.info("participant %s resumed on %s", pid, conn.connection_id)
        fresh = store.get_room(room.room_id)
        if fresh is not None and fresh.sfu_connection_id:
            _send(services, fresh.sfu_connection_id, ParticipantJoined(participant=info))
    else:
        # the SFU must know the participant before the participant can send it anything,
        # so the room hears of the newcomer before the newcomer hears ``identified``
        _broadcast(services, room.room_id, ParticipantJoined(participant=info), conn.connection_id)
        notify.participant_joined(services, room.room_id, info, first=not others)
    fresh = store.get_room(room.room_id) or room
    _send(
        services,
        conn.connection_id,
        Identified(
            room_id=room.room_id,
            role="participant",
            participant_id=pid,
            sfu_ready=fresh.sfu_state == "ready",
            participants=others,
            resumed=resumed,
            refresh_token=credentials.refresh_token if credentials else None,
            refresh_expires_at=credentials.refresh_expires_at if credentials else None,
            session_expires_at=int(session.ends_at) if session.ends_at is not None else None,
            ice_servers=services.ice_servers(pid) if credentials else None,
            idle_timeout=settings.idle_timeout,
        ),
    )
    if fresh.lobby:
        lobby.show_to_moderator(services, conn)
    ready = fresh.sfu_state == "ready"
    owed = resumed and previous is not None and previous.awaits_sfu
    away_since = previous.away_since if resumed and previous and previous.role == "away" else None
    if ready and (owed or (away_since is not None and (fresh.sfu_since or 0.0) >= away_since)):
        # the room got a new SFU while this participant was away (an SFU or server restart),
        # or the one it waited for came back: the ``sfu_ready`` it missed sets its media up
        _send(services, conn.connection_id, SfuReady(room_id=room.room_id))
    elif not ready and (owed or not resumed):
        # a newcomer (or one still waiting) hears ``sfu_ready`` when the SFU is back; one
        # that resumed keeps its media meanwhile (the SFU's socket is only away, or a new
        # SFU's ``sfu_ready`` will reach everyone)
        conn.awaits_sfu = True
        store.put_connection(conn)


def _admit_sfu(
    services: Services,
    conn: ConnectionRecord,
    session: SessionRecord,
    credentials: Credentials | None,
) -> None:
    """Make ``conn`` the room's SFU connection, if its session is the room's current SFU.

    A fresh identify (the bootstrap code) is a new SFU: the participants are told
    ``sfu_ready`` and publish to it. A resume is the same SFU on a new socket: its peer
    connections are intact, so nobody is told anything.
    """
    store = services.store
    action = "resume" if credentials is not None else "identify"
    room = store.get_room(session.room_id)
    if (
        room is None
        or room.sfu_id != session.session_id
        or room.sfu_state not in ("starting", "ready")
    ):
        raise ProtocolError(
            ErrorCode.UNAUTHORIZED, "this SFU credential is not the room's current SFU", action
        )
    if credentials is None:
        credentials = _first_sfu_credential(services, session)
    old_connection = room.sfu_connection_id
    was_away = room.sfu_state == "starting" and action == "resume"
    conn.role, conn.room_id, conn.session_id = "sfu", room.room_id, session.session_id
    store.put_connection(conn)
    now = services.clock()
    store.update_room(
        room.room_id,
        expect_sfu_id=session.session_id,
        sfu_state="ready",
        sfu_connection_id=conn.connection_id,
        sfu_changed_at=now,
        # a new SFU instance starts here; a resume is the same one on a new socket
        sfu_since=now if action == "identify" else room.sfu_since,
    )
    if old_connection and old_connection != conn.connection_id:
        # its socket still looked alive: forget it first, so its $disconnect changes nothing
        store.delete_connection(old_connection)
        services.poster.close_connection(old_connection)
    _send(
        services,
        conn.connection_id,
        Identified(
            room_id=room.room_id,
            role="sfu",
            sfu_ready=True,
            participants=participants_of(services, room.room_id),
            resumed=action == "resume",
            refresh_token=credentials.refresh_token,
            refresh_expires_at=credentials.refresh_expires_at,
            idle_timeout=services.settings.idle_timeout,
        ),
    )
    for other in store.list_connections(room.room_id, "participant"):
        if action == "identify" or other.awaits_sfu:
            # a new SFU: everyone publishes to it; the same one back: those who waited
            _send(services, other.connection_id, SfuReady(room_id=room.room_id))
            if other.awaits_sfu:
                other.awaits_sfu = False
                store.put_connection(other)
        elif was_away:
            # the SFU's socket was away: what it sent a participant meanwhile (one that
            # resumed then) and what a participant answered it were lost, so it hears of
            # each again, as after a participant's resume, and offers again what waits
            _send(services, conn.connection_id, ParticipantJoined(participant=info_of(other)))


def _first_sfu_credential(services: Services, session: SessionRecord) -> Credentials:
    credential, digest = new_refresh_credential(session.session_id)
    expires = services.clock() + services.settings.refresh_ttl
    if not services.store.update_session(
        session.session_id,
        {"refresh_digest": None},
        refresh_digest=digest,
        refresh_expires_at=expires,
    ):
        raise ProtocolError(ErrorCode.UNAUTHORIZED, "this SFU has a credential already")
    return Credentials(credential, int(expires), None)


# ------------------------------------------------------------------ handshakes and errors


def _handshake(services: Services, connection_id: str, message: Message) -> None:
    assert isinstance(message, Handshake)
    conn = _identified(services, connection_id)
    room_id = conn.room_id or ""
    if conn.role == "participant":
        room = services.store.get_room(room_id)
        if room is None or room.sfu_state != "ready" or not room.sfu_connection_id:
            _sfu_away(services, conn, message, "the room's SFU is not connected yet")
            return
        message.participant_id = conn.participant_id
        if not _send(services, room.sfu_connection_id, message):
            _sfu_away(services, conn, message, "the room's SFU went away")
        return
    if conn.role != "sfu":
        # one waiting in the lobby has nothing to negotiate (and must not reach anyone)
        raise ProtocolError(
            ErrorCode.FORBIDDEN, "wait until a moderator admits you to the room", "handshake"
        )
    # from the SFU: address a participant of the same room
    if message.participant_id is None:
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE, "an SFU handshake needs 'participant_id'", "handshake"
        )
    for target in services.store.list_connections(room_id, "participant"):
        if target.participant_id == message.participant_id:
            _send(services, target.connection_id, message)
            if message.connection == "producer":
                notify.track_published(services, room_id, info_of(target), message)
            return
    raise ProtocolError(
        ErrorCode.PARTICIPANT_NOT_FOUND,
        f"participant '{message.participant_id}' is not in this room",
        "handshake",
    )


def _sfu_away(services: Services, conn: ConnectionRecord, message: Handshake, why: str) -> None:
    """A participant's handshake found no SFU (its socket away, or none yet).

    A producer handshake is refused with ``sfu_unavailable`` and its sender is owed
    ``sfu_ready``: it offers again when the SFU is back. A consumer handshake (an answer)
    is dropped: the SFU, told of everyone again when its socket is back, sends the offer
    still waiting for an answer again, and the client answers that.
    """
    if message.connection == "consumer":
        logger.info("consumer handshake of %s dropped: %s", conn.participant_id, why)
        return
    if not conn.awaits_sfu:
        conn.awaits_sfu = True
        services.store.put_connection(conn)
    raise ProtocolError(
        ErrorCode.SFU_UNAVAILABLE, f"{why}; offer again after 'sfu_ready'", "handshake"
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


# ------------------------------------------------------------------ room state


def _update_participant(services: Services, connection_id: str, message: Message) -> None:
    """A participant renames itself or raises/lowers its hand: keep it with the connection
    and the session (late joiners and resumes see it) and tell the whole room."""
    assert isinstance(message, UpdateParticipant)
    conn = _identified(services, connection_id)
    if conn.role != "participant":
        raise ProtocolError(
            ErrorCode.FORBIDDEN, "only participants update themselves", message.action
        )
    limits.check_update(services, conn.session_id or connection_id)
    changes: dict[str, object] = {}
    if message.name is not None:
        conn.name = changes["name"] = message.name
    if message.hand_raised is not None:
        conn.hand_raised = changes["hand_raised"] = message.hand_raised
    services.store.put_connection(conn)
    if conn.session_id:
        services.store.update_session(conn.session_id, {}, **changes)
    _broadcast(
        services, conn.room_id or "", ParticipantUpdated(participant=info_of(conn)), exclude=""
    )


def _media_lost(services: Services, connection_id: str, message: Message) -> None:
    """An SFU reports a participant whose media connections died and did not come back.

    Its socket may still look alive (a frozen process keeps its TCP connection), so it is
    closed: the participant is then ``away`` like any dropped socket, and the room hears it
    left after the reconnect grace unless it resumes (a live client on a broken network)."""
    assert isinstance(message, ParticipantLeft)
    conn = _identified(services, connection_id)
    if conn.role != "sfu":
        raise ProtocolError(
            ErrorCode.FORBIDDEN,
            "only an SFU reports a participant's media lost",
            "participant_left",
        )
    for target in services.store.list_connections(conn.room_id or "", "participant"):
        if target.participant_id == message.participant_id:
            logger.info(
                "SFU reports %s's media lost (%s): closing its socket",
                message.participant_id,
                message.reason,
            )
            services.poster.close_connection(target.connection_id)
            return


# ------------------------------------------------------------------ leaving


def _leave(services: Services, connection_id: str, message: Message) -> None:
    conn = _identified(services, connection_id)
    if conn.role != "participant":
        raise ProtocolError(ErrorCode.FORBIDDEN, "only participants leave", "leave")
    limits.check_session(services, conn.session_id or connection_id, "leave")
    _drop(services, connection_id, "left")
    end_session(services, conn.session_id)
    # the socket stays open but is no longer identified
    services.store.put_connection(
        ConnectionRecord(connection_id=connection_id, connected_at=conn.connected_at)
    )


def _session_over(services: Services, conn: ConnectionRecord) -> bool:
    ends = conn.session_ends_at
    return ends is not None and ends <= services.clock() and conn.role in SEAT_ROLES


def _end_session(services: Services, conn: ConnectionRecord) -> None:
    """The participant's session reached its lifetime: tell it, drop it, close its socket."""
    logger.info("session of participant %s has ended", conn.participant_id)
    if conn.role == "participant":
        services.poster.post(
            conn.connection_id,
            Error(
                code=ErrorCode.SESSION_EXPIRED.value,
                message="the session has reached its lifetime; join again for a new one",
            ),
        )
    _drop(services, conn.connection_id, "session_expired")
    end_session(services, conn.session_id)
    if conn.role == "participant":
        services.poster.close_connection(conn.connection_id)


def expire_connections(services: Services) -> tuple[list[str], list[str]]:
    """End participants whose session is over, and drop ``away`` ones past the grace.

    Returns ``(left, ended)``: ids of participants the room heard left (``disconnected``)
    and of those whose session ended (``session_expired``).
    """
    now = services.clock()
    gone: list[str] = []
    ended: list[str] = []
    for room in services.store.list_rooms():
        for conn in services.store.list_connections(room.room_id):
            if _session_over(services, conn):
                _end_session(services, conn)
                ended.append(conn.participant_id or "")
            elif (
                conn.role == "away"
                and now - (conn.away_since or now) > services.settings.reconnect_grace
            ):
                _drop(services, conn.connection_id, "disconnected")
                gone.append(conn.participant_id or "")
    return gone, ended


admit_participant = _admit_participant
"""Seat a participant and tell its room (the lobby's ``admit`` of the server API)."""

_HANDLERS: dict[str, Callable[[Services, str, Message], None]] = {
    "identify": _identify,
    "resume": _resume,
    "refresh": _refresh,
    "handshake": _handshake,
    "leave": _leave,
    "update_participant": _update_participant,
    "error": _error,
    "moderate": lambda services, connection_id, message: moderate(
        services, _identified(services, connection_id), message, _admit_participant
    ),
    "participant_left": _media_lost,
}
