"""Rate limits of the handlers: token buckets kept in the store, one item per key.

Buckets are keyed by what cannot be renewed at will: the connection id (every signaling
message but the SFU's), the session (``identify``, ``resume``, ``leave``: one participant or
SFU however many sockets it opens; ``refresh`` needs the current credential and is counted
with the connection's messages; ``update_participant``, which the whole room hears, has a
bucket of its own) and the client address (``POST /rooms/{id}/join`` and
``POST /rooms``). They live in their own store items, so no identify,
leave or reconnect resets them.
"""

from __future__ import annotations

from arbiter_protocol import ErrorCode, ProtocolError

from .services import Services

__all__ = ["check_address", "check_connection", "check_session", "check_update"]


def _take(
    services: Services, key: str, limit: int, window: float, problem: str, ref: str | None = None
) -> None:
    """Take one token from the bucket ``key``; ``rate_limited`` saying ``problem`` if empty."""
    if not services.store.allow(key, services.clock(), limit, window):
        raise ProtocolError(ErrorCode.RATE_LIMITED, problem, ref)


def check_connection(services: Services, connection_id: str) -> None:
    """Count one signaling message of a connection; ``rate_limited`` past the limit."""
    s = services.settings
    _take(
        services,
        f"conn:{connection_id}",
        s.rate_limit,
        s.rate_window,
        f"more than {s.rate_limit} messages in {s.rate_window:g} s on this connection; "
        "this message was dropped",
    )


def check_session(services: Services, session_id: str, action: str) -> None:
    """Count one ``identify``/``resume``/``leave`` of a participant or SFU."""
    s = services.settings
    _take(
        services,
        f"session:{session_id}",
        s.session_rate_limit,
        s.session_rate_window,
        f"more than {s.session_rate_limit} identify, resume or leave in "
        f"{s.session_rate_window:g} s for this participant; try again later",
        action,
    )


def check_update(services: Services, session_id: str) -> None:
    """Count one ``update_participant`` of a participant (each one is told to the room)."""
    s = services.settings
    _take(
        services,
        f"update:{session_id}",
        s.update_rate_limit,
        s.session_rate_window,
        f"more than {s.update_rate_limit} updates in {s.session_rate_window:g} s "
        "for this participant; try again later",
        "update_participant",
    )


def check_address(services: Services, route: str, address: str, limit: int) -> None:
    """Count one request of ``route`` from a client address; ``rate_limited`` past ``limit``."""
    window = services.settings.http_rate_window
    _take(
        services,
        f"{route}:{address}",
        limit,
        window,
        f"more than {limit} such requests in {window:g} s from your address; try again later",
    )
