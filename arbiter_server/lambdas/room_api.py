"""HTTP Room API handler (API Gateway HTTP API, payload format 2.0).

Routes (see :mod:`.routes`): ``GET /health``, ``POST /rooms`` (create a named room, or
hand out a ready room from the pool), ``GET /rooms/{room_id}`` (does it exist, who is in
it; a browser asking for ``text/html`` gets the room page instead, see :mod:`.page`),
``GET /assets/{file}`` (the page's bundle), ``POST /rooms/{room_id}/join`` (token,
refresh credential, signaling URL, ICE servers, participant id; who may join is
:mod:`.access`). ``POST /rooms`` and the join are throttled per client address. The server
API's routes (``/v1/...``, :mod:`.server_api`) are dispatched here too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from arbiter_protocol import (
    CreateRoomRequest,
    ErrorCode,
    JoinRequest,
    JoinResponse,
    ProtocolError,
    decode_body,
)

from ..store import StoreUnavailable
from . import limits, server_api
from ._http import Event, address, body, check_api_key, path_id, room_info
from ._responses import STATUS_FOR_CODE, HttpResponse, error_response, json_response
from .access import entry_for
from .page import asset_response, page_response, wants_page
from .rooms import create_room, ensure_sfu, new_id, participants_of
from .services import Services, get_services
from .sessions import start_participant_session

__all__ = ["handler"]

logger = logging.getLogger(__name__)


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


def _health(services: Services, event: Event) -> HttpResponse:
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": '{"ok": true}',
    }


def _get_room(services: Services, event: Event) -> HttpResponse:
    room_id = path_id(event)
    if wants_page(event.get("headers")):
        return page_response(services.settings.web_dir)
    room = services.store.get_room(room_id)
    if room is None:
        raise ProtocolError(ErrorCode.ROOM_NOT_FOUND, f"room '{room_id}' does not exist")
    return json_response(200, room_info(services, room))


def _asset(services: Services, event: Event) -> HttpResponse:
    name = str((event.get("pathParameters") or {}).get("file", ""))
    return asset_response(services.settings.web_dir, name)


def _create_room(services: Services, event: Event) -> HttpResponse:
    client = address(event)
    limits.check_address(services, "create", client, services.settings.create_rate_limit)
    if not services.settings.open_room_creation:
        check_api_key(services, event, "creating rooms")
    request = decode_body(CreateRoomRequest, body(event))
    room = create_room(services, request, client)
    return json_response(201, room_info(services, room, with_url=True))


def _join_room(services: Services, event: Event) -> HttpResponse:
    room_id = path_id(event)
    client = address(event)
    limits.check_address(services, "join", client, services.settings.join_rate_limit)
    request = decode_body(JoinRequest, body(event))
    store, settings = services.store, services.settings
    room = store.get_room(room_id)
    if room is None:
        raise ProtocolError(ErrorCode.ROOM_NOT_FOUND, f"room '{room_id}' does not exist")
    entry = entry_for(services, room, request)
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
    ensure_sfu(services, room, client)
    participant_id = new_id("p-")
    token, expires, credentials = start_participant_session(
        services,
        room_id,
        participant_id,
        entry.name,
        entry.grants,
        identity=entry.identity,
        metadata=entry.metadata,
        lobby=entry.lobby,
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
            grants=list(entry.grants),
            name=entry.name,
        ),
    )


_ROUTES: dict[str, Callable[[Services, Event], HttpResponse]] = {
    "GET /health": _health,
    "GET /rooms/{room_id}": _get_room,
    "GET /assets/{file}": _asset,
    "POST /rooms": _create_room,
    "POST /rooms/{room_id}/join": _join_room,
    **server_api.ROUTES,
}
