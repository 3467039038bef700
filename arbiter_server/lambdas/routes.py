"""The route tables of the HTTP Room API and the WebSocket API (used by gateway and deployer)."""

from __future__ import annotations

import re
from typing import Any

from arbiter_protocol import KeepaliveAck, encode_message

__all__ = [
    "HTTP_CORS",
    "HTTP_ROUTES",
    "KEEPALIVE_REPLY",
    "MOCK_WS_ROUTES",
    "CLIENT_ROUTES",
    "WS_ROUTES",
    "cors_headers",
    "match_http_route",
]

HTTP_ROUTES: tuple[str, ...] = (
    "GET /health",
    "POST /rooms",
    "GET /rooms/{room_id}",
    "POST /rooms/{room_id}/join",
    "GET /assets/{file}",
    # the server API (lambdas/server_api.py; x-api-key)
    "POST /v1/grants",
    "GET /v1/rooms",
    "POST /v1/rooms",
    "GET /v1/rooms/{room_id}",
    "POST /v1/rooms/{room_id}/close",
    "GET /v1/rooms/{room_id}/participants",
    "PATCH /v1/rooms/{room_id}/participants/{participant_id}",
    "POST /v1/rooms/{room_id}/participants/{participant_id}/remove",
    "POST /v1/rooms/{room_id}/participants/{participant_id}/mute",
    "POST /v1/rooms/{room_id}/participants/{participant_id}/admit",
    "POST /v1/rooms/{room_id}/participants/{participant_id}/deny",
    "GET /v1/webhook",
    "PUT /v1/webhook",
)
"Route keys of the HTTP API (API Gateway HTTP API syntax)."

HTTP_CORS: dict[str, Any] = {
    "AllowOrigins": ["*"],
    "AllowMethods": ["GET", "POST"],
    "AllowHeaders": ["content-type", "x-api-key"],
    "MaxAge": 3600,
}
"""CORS of the HTTP API: the deployer sets it as the API's ``CorsConfiguration``, and the
local gateway answers the same way (:func:`cors_headers`), so a web page on another origin
(a Vite dev server, the app's own site) can call the Room API in both places."""

CLIENT_ROUTES: tuple[str, ...] = (
    "identify",
    "resume",
    "refresh",
    "handshake",
    "leave",
    "update_participant",
    "error",
    "moderate",
    "participant_left",
)
"""Actions a connection may send, each a route of its own; everything else is
``unknown_action`` (``error`` and ``participant_left`` only from SFUs)."""

WS_ROUTES: tuple[str, ...] = ("$connect", "$disconnect", *CLIENT_ROUTES, "$default")
"Route keys of the WebSocket API; selection expression ``$request.body.action``."

MOCK_WS_ROUTES: tuple[str, ...] = ("keepalive",)
"""Route keys of the WebSocket API answered without a handler (no Lambda, no store): on AWS
by a mock integration with route throttling, locally by the gateway itself."""

KEEPALIVE_REPLY = encode_message(KeepaliveAck())
"What ``keepalive`` is answered: the mock integration's response template, the gateway's reply."

_compiled: list[tuple[str, str, re.Pattern[str]]] = []
for _key in HTTP_ROUTES:
    _method, _path = _key.split(" ", 1)
    _pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(_path))
    _compiled.append((_key, _method, re.compile(f"^{_pattern}$")))


def match_http_route(method: str, path: str) -> tuple[str | None, dict[str, str], bool]:
    """Find the route for a request: ``(route_key, path_parameters, path_known)``.

    ``route_key`` is None when nothing matches; ``path_known`` then tells whether the path
    exists with another method (405) or not at all (404).
    """
    known = False
    for key, route_method, pattern in _compiled:
        m = pattern.match(path)
        if m:
            known = True
            if route_method == method.upper():
                return key, m.groupdict(), True
    return None, {}, known


def cors_headers(origin: str | None, preflight: bool) -> dict[str, str]:
    """The CORS headers API Gateway adds for :data:`HTTP_CORS` (none without an ``Origin``).

    ``preflight``: the request is ``OPTIONS`` with ``Access-Control-Request-Method``, which
    API Gateway answers itself (before any route) with the methods, headers and max age.
    """
    allowed = HTTP_CORS["AllowOrigins"]
    if not origin or ("*" not in allowed and origin not in allowed):
        return {}
    headers = {"access-control-allow-origin": "*" if "*" in allowed else origin}
    if preflight:
        headers["access-control-allow-methods"] = ",".join(HTTP_CORS["AllowMethods"])
        headers["access-control-allow-headers"] = ",".join(HTTP_CORS["AllowHeaders"])
        headers["access-control-max-age"] = str(HTTP_CORS["MaxAge"])
    return headers
