"""API Gateway's limits on one WebSocket, as the local gateway enforces them.

API Gateway closes a WebSocket that has carried no message from its client for 10 minutes
(WebSocket pings do not count) and every WebSocket 2 hours after it opened; a frame over
32 KB or a message over 128 KB closes it with code 1009. The local gateway does the same
by default; ``arbiter-server dev --idle-timeout --max-connection-age`` compress time.
``keepalive`` is answered by the gateway itself (API Gateway: a mock integration), within
an in-memory rate per connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from arbiter_protocol import MAX_FRAME_BYTES, MAX_MESSAGE_BYTES

from ..store.base import gcra

__all__ = ["CloseReason", "SocketClock", "SocketLimits", "oversized"]

CloseReason = Literal["idle", "age"]
"Why the gateway closes a socket on its own clock."

GOING_AWAY = 1001
"Close code for a socket closed for idleness or age (API Gateway's ``Going away``)."
MESSAGE_TOO_BIG = 1009
"Close code for a frame over 32 KB or a message over 128 KB."


@dataclass(frozen=True)
class SocketLimits:
    """The limits of every WebSocket (seconds; API Gateway's by default)."""

    idle_timeout: float = 600.0
    "Close a socket after this long without a message from its client."
    max_connection_age: float = 7200.0
    "Close every socket this long after it opened."
    keepalive_limit: int = 20
    "``keepalive`` messages one connection may send per ``keepalive_window``."
    keepalive_window: float = 10.0
    "Window of ``keepalive_limit``."


class SocketClock:
    """One socket's deadlines: idle (moved by each client message) and age (fixed)."""

    def __init__(self, limits: SocketLimits, now: float) -> None:
        self._limits = limits
        self.opened = now
        "When the socket opened."
        self.last_message = now
        "When its client last sent a message."
        self._keepalive_tat: float | None = None

    def message(self, now: float) -> None:
        """The client sent a message: the idle deadline moves."""
        self.last_message = now

    def deadline(self) -> tuple[float, CloseReason]:
        """When the socket is to be closed, and why (the earlier of idle and age)."""
        idle = self.last_message + self._limits.idle_timeout
        age = self.opened + self._limits.max_connection_age
        return (idle, "idle") if idle < age else (age, "age")

    def allow_keepalive(self, now: float) -> bool:
        """Count one ``keepalive``; False past the per-connection rate."""
        ok, tat = gcra(
            self._keepalive_tat, now, self._limits.keepalive_limit, self._limits.keepalive_window
        )
        if tat is not None:
            self._keepalive_tat = tat
        return ok


def oversized(data: str | bytes) -> bool:
    """Whether a message is over one API Gateway frame (32 KB, in UTF-8 bytes).

    Clients send each message as one frame, so a message over 32 KB is a frame over the
    limit. (Messages over 128 KB are refused by the WebSocket reader before they are read
    whole, with the same close code.)
    """
    if len(data) <= MAX_FRAME_BYTES // 4:  # at most 4 bytes per character
        return False
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    return size > MAX_FRAME_BYTES


READ_LIMIT = MAX_MESSAGE_BYTES
"The WebSocket reader's own limit: a longer message closes the socket with 1009 unread."
