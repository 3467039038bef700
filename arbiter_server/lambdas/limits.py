"""Rate limits of the handlers: token buckets kept in the store, one item per key.

Buckets are keyed by what cannot be renewed at will: the connection id (every signaling
message but the SFU's), the session (``identify``, ``resume``, ``leave``: one participant or
SFU however many sockets it opens; ``refresh`` needs the current credential and is counted
with the connection's messages) and the client address (``POST /rooms/{id}/join`` and
``POST /rooms``). They live in their own store items, so no identify,
leave or reconnect resets them.
"""

from __future__ import annotations

from arbiter_protocol import ErrorCode, ProtocolError

from .services import Services

__all__ = ["check_address", "check_connection", "check_session"]


def check_connection(services: Services, connection_id: str) -> None:
    """Count one signaling message of a connection; ``rate_limited`` past the limit."""
    s = services.settings
    if not services.store.allow(
        f"conn:{connection_id}", services.clock(), s.rate_limit, s.rate_window
    ):
        raise ProtocolError(
            ErrorCode.RATE_LIMITED,
            f"more than {s.rate_limit} messages in {s.rate_window:g} s on this connection; "
            "this message was dropped",
        )


def check_session(services: Services, session_id: str, action: str) -> None:
    """Count one ``identify``/``resume``/``leave`` of a participant or SFU."""
    s = services.settings
    if not services.store.allow(
        f"session:{session_id}", services.clock(), s.session_rate_limit, s.session_rate_window
    ):
        raise ProtocolError(
            ErrorCode.RATE_LIMITED,
            f"more than {s.session_rate_limit} identify, resume or leave in "
            f"{s.session_rate_window:g} s for this participant; try again later",
            action,
        )


def check_address(services: Services, route: str, address: str, limit: int) -> None:
    """Count one request of ``route`` from a client address; ``rate_limited`` past ``limit``."""
    window = services.settings.http_rate_window
    if not services.store.allow(f"{route}:{address}", services.clock(), limit, window):
        raise ProtocolError(
            ErrorCode.RATE_LIMITED,
            f"more than {limit} such requests in {window:g} s from your address; try again later",
        )
