"""The server API (``/v1/...``): what the app's backend does with the deployment's API key.

Mint join grants, create, list and close rooms, list participants, remove, mute and admit
them, change their app data, set the webhook URL. Every route needs ``x-api-key`` and is
counted per client address (``api_rate_limit``); the moderation goes through the same
code as a moderator's ``moderate`` message (:mod:`.moderation`), with ``by`` = ``app``.
``docs/server-api.md`` shows each route with a request and its answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from arbiter_protocol import (
    BY_APP,
    CreateRoomRequest,
    Done,
    ErrorCode,
    GrantRequest,
    GrantResponse,
    Moderate,
    MuteRequest,
    ParticipantList,
    ProtocolError,
    ReasonRequest,
    RoomList,
    UpdateParticipantRequest,
    WebhookConfig,
    decode_body,
    mint_grant,
)

from ..webhooks import WEBHOOK_URL_KEY, check_webhook_url
from . import limits, moderation
from ._http import Event, address, body, check_api_key, path_id, room_info, room_url
from ._responses import HttpResponse, json_response
from .rooms import create_room, participants_of
from .services import Services
from .signaling import admit_participant

__all__ = ["ROUTES"]

Route = Callable[[Services, Event], HttpResponse]


def _authorized(route: Route) -> Route:
    def guarded(services: Services, event: Event) -> HttpResponse:
        limits.check_address(services, "api", address(event), services.settings.api_rate_limit)
        check_api_key(services, event, "the server API")
        return route(services, event)

    guarded.__doc__ = route.__doc__
    return guarded


def _room(services: Services, event: Event) -> str:
    room_id = path_id(event)
    if services.store.get_room(room_id) is None:
        raise ProtocolError(ErrorCode.ROOM_NOT_FOUND, f"room '{room_id}' does not exist")
    return room_id


def _grant(services: Services, event: Event) -> HttpResponse:
    """``POST /v1/grants``: a join grant, signed here (the SDK signs its own)."""
    request = decode_body(GrantRequest, body(event))
    now = services.clock()
    try:
        grant = mint_grant(
            services.settings.api_key or "",
            request.room_id,
            request.identity,
            name=request.name,
            grants=request.grants,
            ttl=request.ttl,
            metadata=request.metadata,
            lobby=request.lobby,
            now=now,
        )
    except ValueError as exc:
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, str(exc)) from None
    return json_response(
        200,
        GrantResponse(
            grant=grant,
            expires_at=int(now) + request.ttl,
            url=room_url(services, request.room_id),
        ),
    )


def _list_rooms(services: Services, event: Event) -> HttpResponse:
    """``GET /v1/rooms``: every room handed out, with who is in it and who waits."""
    rooms = [
        room_info(services, r, with_url=True, full=True)
        for r in services.store.list_rooms()
        if not r.pooled
    ]
    return json_response(200, RoomList(rooms=rooms))


def _create(services: Services, event: Event) -> HttpResponse:
    """``POST /v1/rooms``: like ``POST /rooms``, whatever the deployment allows the public."""
    request = decode_body(CreateRoomRequest, body(event))
    room = create_room(services, request, None)
    return json_response(201, room_info(services, room, with_url=True, full=True))


def _get(services: Services, event: Event) -> HttpResponse:
    """``GET /v1/rooms/{room_id}``."""
    room_id = path_id(event)
    room = services.store.get_room(room_id)
    if room is None:
        raise ProtocolError(ErrorCode.ROOM_NOT_FOUND, f"room '{room_id}' does not exist")
    return json_response(200, room_info(services, room, with_url=True, full=True))


def _close(services: Services, event: Event) -> HttpResponse:
    """``POST /v1/rooms/{room_id}/close``: end it for everyone."""
    request = decode_body(ReasonRequest, body(event))
    _moderate(services, event, Moderate(op="end_room", reason=request.reason))
    return json_response(200, Done())


def _participants(services: Services, event: Event) -> HttpResponse:
    """``GET /v1/rooms/{room_id}/participants``."""
    return json_response(
        200, ParticipantList(participants=participants_of(services, _room(services, event)))
    )


def _update(services: Services, event: Event) -> HttpResponse:
    """``PATCH /v1/rooms/{room_id}/participants/{participant_id}``: its app data."""
    request = decode_body(UpdateParticipantRequest, body(event))
    info = moderation.update_metadata(
        services, _room(services, event), path_id(event, "participant_id"), request.metadata
    )
    return json_response(200, info)


def _participant_op(op: Literal["remove", "mute", "admit", "deny"]) -> Route:
    def handle(services: Services, event: Event) -> HttpResponse:
        pid = path_id(event, "participant_id")
        if op == "mute":
            mute = decode_body(MuteRequest, body(event))
            info = moderation.mute(
                services, _room(services, event), pid, mute.kind, mute.muted, BY_APP
            )
            return json_response(200, info)
        reason = decode_body(ReasonRequest, body(event)).reason
        message = Moderate(op=op, participant_id=pid, reason=reason)
        _moderate(services, event, message)
        return json_response(200, Done())

    handle.__doc__ = f"``POST /v1/rooms/{{room_id}}/participants/{{participant_id}}/{op}``."
    return handle


def _moderate(services: Services, event: Event, message: Moderate) -> None:
    moderation.apply(services, _room(services, event), message, BY_APP, admit_participant)


def _get_webhook(services: Services, event: Event) -> HttpResponse:
    """``GET /v1/webhook``: where events go now."""
    target = services.webhook_target
    return json_response(200, WebhookConfig(url=target.url() if target else None))


def _put_webhook(services: Services, event: Event) -> HttpResponse:
    """``PUT /v1/webhook``: post events to ``url`` from now on (none: the configured one)."""
    request = decode_body(WebhookConfig, body(event))
    url = check_webhook_url(request.url) if request.url else None
    services.store.put_config(WEBHOOK_URL_KEY, url)
    target = services.webhook_target
    if target is not None:
        target.forget()
    return json_response(200, WebhookConfig(url=target.url() if target else url))


ROUTES: dict[str, Route] = {
    key: _authorized(route)
    for key, route in {
        "POST /v1/grants": _grant,
        "GET /v1/rooms": _list_rooms,
        "POST /v1/rooms": _create,
        "GET /v1/rooms/{room_id}": _get,
        "POST /v1/rooms/{room_id}/close": _close,
        "GET /v1/rooms/{room_id}/participants": _participants,
        "PATCH /v1/rooms/{room_id}/participants/{participant_id}": _update,
        "POST /v1/rooms/{room_id}/participants/{participant_id}/remove": _participant_op("remove"),
        "POST /v1/rooms/{room_id}/participants/{participant_id}/mute": _participant_op("mute"),
        "POST /v1/rooms/{room_id}/participants/{participant_id}/admit": _participant_op("admit"),
        "POST /v1/rooms/{room_id}/participants/{participant_id}/deny": _participant_op("deny"),
        "GET /v1/webhook": _get_webhook,
        "PUT /v1/webhook": _put_webhook,
    }.items()
}
"Route key -> handler; every one checks ``x-api-key`` first."
