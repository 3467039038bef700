"""Keepalive: what keeps one signaling socket open, and tells when it died unnoticed.

API Gateway closes a WebSocket after ``idle_timeout`` seconds without a message from its
client (WebSocket pings do not count), so every holder of a socket (the Python client and
the SFU here, the web SDK in TypeScript) sends ``keepalive`` every
:func:`~arbiter_protocol.keepalive_interval`. The answer (or any other message) also
proves the socket alive both ways: when nothing arrives within
:func:`~arbiter_protocol.keepalive_ack_wait` of a keepalive, the socket is half-open (a
network change, a sleeping laptop) and the holder replaces it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from arbiter_protocol import (
    DEFAULT_IDLE_TIMEOUT,
    Keepalive,
    Message,
    keepalive_ack_wait,
    keepalive_interval,
)

__all__ = ["SocketKeepalive"]

logger = logging.getLogger("arbiter_rtc")


class SocketKeepalive:
    """The keepalive of one signaling socket.

    :meth:`run` sends ``keepalive`` with ``send`` (on that socket only) every interval and
    calls ``dead`` (then returns) when nothing was :meth:`heard` within the wait after
    one; it returns quietly when ``send`` fails (the socket's reader sees the close). The
    owner runs it
    as a task for as long as the socket is its current one, calls :meth:`heard` for every
    message the socket delivers, and cancels it when the socket goes.
    """

    def __init__(
        self,
        idle_timeout: float | None,
        send: Callable[[Message], Awaitable[None]],
        dead: Callable[[str], None],
    ) -> None:
        idle = float(idle_timeout or DEFAULT_IDLE_TIMEOUT)
        self.interval = keepalive_interval(idle)
        "Seconds between two keepalives."
        self.ack_wait = keepalive_ack_wait(idle)
        "Seconds a keepalive may go unanswered before the socket counts as dead."
        self._send = send
        self._dead = dead
        self._heard = asyncio.Event()

    def heard(self) -> None:
        """A message arrived on the socket: it is alive."""
        self._heard.set()

    async def run(self) -> None:
        """Keep the socket busy until cancelled, or until it is found dead."""
        while True:
            await asyncio.sleep(self.interval)
            self._heard.clear()
            try:
                await self._send(Keepalive())
            except Exception as exc:  # the socket closed: its reader reports that
                logger.debug("keepalive not sent: %r", exc)
                return
            try:
                await asyncio.wait_for(self._heard.wait(), self.ack_wait)
            except TimeoutError:
                reason = f"no answer to keepalive within {self.ack_wait:g} s"
                logger.warning("signaling socket is dead: %s", reason)
                self._dead(reason)
                return
