"""When a holder of a signaling socket speaks without being asked: keepalive and refresh.

Every holder (the Python client, the web SDK, the SFU) follows the same two rules, so they
live here, next to the messages they time (the web SDK mirrors them in ``limits.ts``).
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "KEEPALIVE_MAX_INTERVAL",
    "KEEPALIVE_MIN_ACK_WAIT",
    "keepalive_ack_wait",
    "keepalive_interval",
    "refresh_delay",
]

DEFAULT_IDLE_TIMEOUT = 600
"API Gateway's idle timeout (seconds): assumed when ``identified`` does not name one."

KEEPALIVE_MAX_INTERVAL = 60
"Longest wait between two keepalives (seconds), however long the idle timeout."

KEEPALIVE_MIN_ACK_WAIT = 5
"Shortest wait for ``keepalive_ack`` (seconds) before the socket counts as dead."


def keepalive_interval(idle_timeout: float) -> float:
    """Seconds between two ``keepalive`` for a server that closes a connection after
    ``idle_timeout`` seconds without a message from it: a third of that (two may go
    missing before the server gives up), at most :data:`KEEPALIVE_MAX_INTERVAL`."""
    return min(max(idle_timeout, 0.3) / 3, KEEPALIVE_MAX_INTERVAL)


def keepalive_ack_wait(idle_timeout: float) -> float:
    """Seconds to wait for ``keepalive_ack`` (or any message) after a ``keepalive``; then
    the socket is taken for dead (a half-open TCP connection) and replaced."""
    return max(keepalive_interval(idle_timeout), KEEPALIVE_MIN_ACK_WAIT)


def refresh_delay(expires_at: float, now: float) -> float:
    """Seconds until a refresh credential expiring at ``expires_at`` is renewed: when half
    of its remaining lifetime is gone (at least half a second)."""
    return max(0.5, (expires_at - now) / 2)
