"""What the HTTP handlers share: reading an API Gateway event, the API key, room bodies."""

from __future__ import annotations

import base64
import hmac
from typing import Any

from arbiter_protocol import ErrorCode, ProtocolError, RoomInfo, is_valid_id

from ..store import RoomRecord
from .rooms import info_of, participants_of
from .services import Services

__all__ = [
    "Event",
    "address",
    "body",
    "check_api_key",
    "path_id",
    "room_info",
    "room_url",
]

Event = dict[str, Any]


def body(event: Event) -> str | None:
    """The request body as text (API Gateway base64-encodes some)."""
    raw = event.get("body")
    if raw is not None and event.get("isBase64Encoded"):
        try:
            return base64.b64decode(raw).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError(ErrorCode.MALFORMED_JSON, "body is not UTF-8 JSON") from None
    return raw if isinstance(raw, str) else None


def path_id(event: Event, name: str = "room_id") -> str:
    """A room or participant id from the path, checked."""
    value = (event.get("pathParameters") or {}).get(name, "")
    if not is_valid_id(value):
        what = name.removesuffix("_id").replace("_", " ")
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE, f"{what} id must be 1-64 characters of A-Z a-z 0-9 _ -"
        )
    return str(value)


def address(event: Event) -> str:
    """The client's address as API Gateway saw it (``requestContext.http.sourceIp``)."""
    http = (event.get("requestContext") or {}).get("http") or {}
    return str(http.get("sourceIp") or "unknown")


def check_api_key(services: Services, event: Event, what: str) -> None:
    """``unauthorized`` unless ``x-api-key`` is the deployment's key (constant time)."""
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    given = str(headers.get("x-api-key", "")).encode("utf-8", "surrogatepass")
    key = services.settings.api_key
    if not key or not hmac.compare_digest(given, key.encode()):
        raise ProtocolError(
            ErrorCode.UNAUTHORIZED, f"{what} needs the deployment's API key in the x-api-key header"
        )


def room_url(services: Services, room_id: str) -> str:
    """The URL clients join the room at."""
    return f"{services.settings.public_url.rstrip('/')}/rooms/{room_id}"


def room_info(
    services: Services, room: RoomRecord, *, with_url: bool = False, full: bool = False
) -> RoomInfo:
    """The room's body. A private room shows nobody unless ``full`` (the server API), which
    also says who waits in its lobby."""
    waiting = None
    if full:
        conns = services.store.list_connections(room.room_id, "waiting")
        waiting = [info_of(c) for c in conns]
    return RoomInfo(
        room_id=room.room_id,
        participants=participants_of(services, room.room_id) if full or not room.private else [],
        sfu_state=room.sfu_state,
        url=room_url(services, room.room_id) if with_url else None,
        private=room.private,
        lobby=room.lobby,
        waiting=waiting,
    )
