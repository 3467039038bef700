"""The route tables of the HTTP Room API and the WebSocket API (used by gateway and deployer)."""

from __future__ import annotations

import re

__all__ = ["HTTP_ROUTES", "WS_ROUTES", "match_http_route"]

HTTP_ROUTES: tuple[str, ...] = (
    "GET /health",
    "POST /rooms",
    "GET /rooms/{room_id}",
    "POST /rooms/{room_id}/join",
    "GET /assets/{file}",
)
"Route keys of the HTTP API (API Gateway HTTP API syntax)."

WS_ROUTES: tuple[str, ...] = (
    "$connect",
    "$disconnect",
    "identify",
    "resume",
    "refresh",
    "handshake",
    "leave",
    "error",
    "participant_left",
    "$default",
)
"Route keys of the WebSocket API; selection expression ``$request.body.action``."

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
