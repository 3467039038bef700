"""HTTP Room API handler (API Gateway HTTP API, payload format 2.0).

Routes (see :mod:`.routes`): ``GET /health``, ``POST /rooms`` (create a named room, or
hand out a ready room from the pool), ``GET /rooms/{room_id}`` (does it exist, who is in
it; a browser asking for ``text/html`` gets the room page instead, see :mod:`.page`),
``GET /assets/{file}`` (the page's bundle), ``POST /rooms/{room_id}/join`` (token,
refresh credential, signaling URL, ICE servers, participant id). ``POST /rooms`` and the
join are throttled per client address.
"""

from __future__ import annotations

import base64
import hmac
import logging
from collections.abc import Callable
from typing import Any

from arbiter_protocol import (
    ALL_GRANTS,
    CreateRoomRequest,
    ErrorCode,
    JoinRequest,
    JoinResponse,
    ProtocolError,
    RoomInfo,
    decode_body,
    is_valid_id,
)

from ..store import RoomRecord, StoreUnavailable
from . import limits
from ._responses import STATUS_FOR_CODE, HttpResponse, error_response, json_response
from .page import asset_response, page_response, wants_page
from .rooms import ensure_sfu, new_id, participants_of, refill_pool
from .services import Services, get_services
from .sessions import start_participant_session

__all__ = ["handler"]

logger = logging.getLogger(__name__)

Event = dict[str, Any]


def handler(event: Event, context: object) -> HttpResponse:
    """Entry point: dispatch on ``routeKey``; every failure becomes a JSON error."""
    route = event.get("routeKey", "")
    route_handler = _ROUTES.get(route)
    if route_handler is None:
        return error_response(404, ErrorCode.NOT_FOUND, f"no route {route!r}")
    try:
        return route_handler(get_services(), event)
    except ProtocolError as exc:
        return error_response(STATUS_FOR_CODE.get(exc.code, 400), exc.code, exc.message)
    except StoreUnavailable as exc:
        logger.error("room API %s: %s", route, exc)
        return error_response(503, ErrorCode.STORE_UNAVAILABLE, str(exc))
    except Exception:
        logger.exception("room API %s failed", route)
        return error_response(500, ErrorCode.INTERNAL_ERROR, "internal error")


def _body(event: Event) -> str | None:
    body = event.get("body")
    if body is not None and event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError(ErrorCode.MALFORMED_JSON, "body is not UTF-8 JSON") from None
    return body if isinstance(body, str) else None


def _room_id(event: Event) -> str:
    room_id = (event.get("pathParameters") or {}).get("room_id", "")
    if not is_valid_id(room_id):
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE, "room id must be 1-64 characters of A-Z a-z 0-9 _ -"
        )
    return str(room_id)


def _address(event: Event) -> str:
    """The client's address as API Gateway saw it (``requestContext.http.sourceIp``)."""
    http = (event.get("requestContext") or {}).get("http") or {}
    return str(http.get("sourceIp") or "unknown")


def _room_url(services: Services, room_id: str) -> str:
    return f"{services.settings.public_url.rstrip('/')}/rooms/{room_id}"


def _info(services: Services, room: RoomRecord, with_url: bool = False) -> RoomInfo:
    return RoomInfo(
        room_id=room.room_id,
        participants=participants_of(services, room.room_id),
        sfu_state=room.sfu_state,
        url=_room_url(services, room.room_id) if with_url else None,
    )


def _health(services: Services, event: Event) -> HttpResponse:
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": '{"ok": true}',
    }


def _get_room(services: Services, event: Event) -> HttpResponse:
    room_id = _room_id(event)
    if wants_page(event.get("headers")):
        return page_response(services.settings.web_dir)
    room = services.store.get_room(room_id)
    if room is None:
        raise ProtocolError(ErrorCode.ROOM_NOT_FOUND, f"room '{room_id}' does not exist")
    return json_response(200, _info(services, room))


def _asset(services: Services, event: Event) -> HttpResponse:
    name = str((event.get("pathParameters") or {}).get("file", ""))
    return asset_response(services.settings.web_dir, name)


def _check_create_allowed(services: Services, event: Event) -> None:
    settings = services.settings
    if settings.open_room_creation:
        return
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    given = str(headers.get("x-api-key", "")).encode("utf-8", "surrogatepass")
    if not settings.api_key or not hmac.compare_digest(given, settings.api_key.encode()):
        raise ProtocolError(
            ErrorCode.UNAUTHORIZED, "creating rooms needs a valid API key in the x-api-key header"
        )


def _create_room(services: Services, event: Event) -> HttpResponse:
    address = _address(event)
    limits.check_address(services, "create", address, services.settings.create_rate_limit)
    _check_create_allowed(services, event)
    request = decode_body(CreateRoomRequest, _body(event))
    store = services.store
    if request.room_id is not None:
        if not is_valid_id(request.room_id):
            raise ProtocolError(
                ErrorCode.INVALID_MESSAGE, "room_id must be 1-64 characters of A-Z a-z 0-9 _ -"
            )
        room = RoomRecord(
            room_id=request.room_id, created_at=services.clock(), empty_since=services.clock()
        )
        if not store.create_room(room):
            raise ProtocolError(ErrorCode.ROOM_EXISTS, f"room '{request.room_id}' exists already")
        room = _ensure_sfu_or_forget(services, room, address)
    else:
        taken = store.take_pooled_room()
        if taken is None:
            room = RoomRecord(
                room_id=new_id(), created_at=services.clock(), empty_since=services.clock()
            )
            store.create_room(room)
            room = _ensure_sfu_or_forget(services, room, address)
        else:
            now = services.clock()
            store.update_room(taken.room_id, empty_since=now, waiting_since=now)
            room = taken
        refill_pool(services)
    return json_response(201, _info(services, room, with_url=True))


def _ensure_sfu_or_forget(services: Services, room: RoomRecord, address: str) -> RoomRecord:
    """Start a new room's SFU; if the store fails meanwhile, the room is not kept either
    (the caller gets 503 and may simply try again)."""
    try:
        return ensure_sfu(services, room, address)
    except StoreUnavailable:
        try:
            services.store.delete_room(room.room_id)
        except StoreUnavailable:
            logger.error("room %s is left without an SFU: the store fails", room.room_id)
        raise


def _join_room(services: Services, event: Event) -> HttpResponse:
    room_id = _room_id(event)
    address = _address(event)
    limits.check_address(services, "join", address, services.settings.join_rate_limit)
    request = decode_body(JoinRequest, _body(event))
    store, settings = services.store, services.settings
    room = store.get_room(room_id)
    if room is None:
        raise ProtocolError(ErrorCode.ROOM_NOT_FOUND, f"room '{room_id}' does not exist")
    if room.pooled:
        # someone joined a pooled room by its id: it is no longer free to hand out
        now = services.clock()
        store.update_room(room_id, pooled=False, empty_since=now, waiting_since=now)
    # an early answer; the seat itself is taken atomically at identify
    if len(participants_of(services, room_id)) >= settings.max_participants:
        raise ProtocolError(
            ErrorCode.ROOM_FULL,
            f"room '{room_id}' has all its {settings.max_participants} seats taken",
        )
    ensure_sfu(services, room, address)
    participant_id = new_id("p-")
    # a joiner may ask for fewer grants, never for more
    grants = tuple(g for g in ALL_GRANTS if request.grants is None or g in request.grants)
    token, expires, credentials = start_participant_session(
        services, room_id, participant_id, request.name, grants
    )
    return json_response(
        200,
        JoinResponse(
            room_id=room_id,
            participant_id=participant_id,
            token=token,
            signaling_url=settings.signaling_url,
            ice_servers=services.ice_servers(participant_id),
            expires_at=expires,
            refresh_token=credentials.refresh_token,
            refresh_expires_at=credentials.refresh_expires_at,
            session_expires_at=credentials.session_expires_at or 0,
        ),
    )


_ROUTES: dict[str, Callable[[Services, Event], HttpResponse]] = {
    "GET /health": _health,
    "GET /rooms/{room_id}": _get_room,
    "GET /assets/{file}": _asset,
    "POST /rooms": _create_room,
    "POST /rooms/{room_id}/join": _join_room,
}
