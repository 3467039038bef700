"""The network path under a peer connection: found dead in seconds, let go of at once.

aiortc 1.16 (aioice 0.13) checks consent (RFC 7675) every 5 s and gives a path up after
six failed checks in a row, about 30 s; with TURN it then waits for each allocation's
deletion (up to a minute when the TURN server is gone) before it says ``failed``. Arbiter
wants a dead path replaced within 10 s, and closing must not wait on a gone server:

* :class:`PathWatch` replaces aioice's consent task of a connected peer connection with
  our own: a consent check on each nominated pair every :data:`CHECK_INTERVAL` seconds,
  and a report (once) when none has succeeded for :data:`PATH_TIMEOUT` seconds. The peer's
  own checks are answered by aioice as before.
* :func:`turn_transports` lists a peer connection's TURN allocations, and
  :func:`abandon_turn` stops waiting for their deletion (the server frees them when they
  expire, RFC 8656 section 6): :func:`~arbiter_rtc.close_peer_connection` uses both.

This module and :mod:`.connection` are the only ones of ``arbiter_rtc`` that know aiortc's
and aioice's internals (pinned to aiortc 1.16 and aioice 0.13).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from aioice import stun
from aioice.turn import TurnTransport
from aiortc import RTCPeerConnection

__all__ = ["CHECK_INTERVAL", "PATH_TIMEOUT", "PathWatch", "abandon_turn", "turn_transports"]

logger = logging.getLogger("arbiter_rtc")

CHECK_INTERVAL = 1.0
"Seconds between two consent checks of a connected path (randomised by +-20 %)."
CHECK_TIMEOUT = 1.0
"Seconds one check may wait for its answer (the request is sent twice, 0.5 s apart)."
PATH_TIMEOUT = 4.0
"A path with no successful consent check for this many seconds is reported dead."
TICK = 0.25
"Seconds between two looks at the time since the last successful check."


def _ice_connections(pc: RTCPeerConnection) -> list[Any]:
    """The aioice ``Connection`` of each ICE transport of ``pc`` (one with BUNDLE)."""
    found: dict[int, Any] = {}
    dtls_transports = [t.sender.transport for t in pc.getTransceivers()]
    if pc.sctp is not None:
        dtls_transports.append(pc.sctp.transport)
    for dtls in dtls_transports:
        ice = getattr(dtls, "transport", None)
        connection = getattr(ice, "_connection", None)
        if connection is not None:
            found[id(connection)] = connection
    return list(found.values())


def turn_transports(pc: RTCPeerConnection) -> list[TurnTransport]:
    """The TURN allocations ``pc`` gathered (read them before closing: closing forgets them)."""
    return [
        protocol.transport
        for connection in _ice_connections(pc)
        for protocol in getattr(connection, "_protocols", ())
        if isinstance(getattr(protocol, "transport", None), TurnTransport)
    ]


def abandon_turn(transports: list[TurnTransport]) -> int:
    """Stop waiting for the deletion of these allocations (their sockets close at once).

    Returns how many deletions were still waiting for an answer.
    """
    abandoned = 0
    for transport in transports:
        task: asyncio.Task[None] | None = getattr(transport, "_TurnTransport__close_task", None)
        if task is not None and not task.done():
            task.cancel()
            abandoned += 1
    return abandoned


class PathWatch:
    """Consent checks on a connected peer connection's path; ``on_dead()`` once it is gone.

    :meth:`start` takes over from aioice's consent task (call it when the connection is
    ``connected``); :meth:`stop` ends the checks. ``silent_for`` is how long no check has
    succeeded.
    """

    def __init__(self, pc: RTCPeerConnection, on_dead: Callable[[], None]) -> None:
        self._pc = pc
        self._on_dead = on_dead
        self._task: asyncio.Task[None] | None = None
        self._last_ok = 0.0

    @property
    def silent_for(self) -> float:
        """Seconds since the last successful consent check (0 before :meth:`start`)."""
        if self._task is None:
            return 0.0
        return asyncio.get_running_loop().time() - self._last_ok

    def start(self) -> None:
        """Take over consent checks from aioice (idempotent)."""
        if self._task is not None:
            return
        connections = _ice_connections(self._pc)
        for connection in connections:
            own = getattr(connection, "_query_consent_task", None)
            if own is not None:
                own.cancel()
                connection._query_consent_task = None
        self._last_ok = asyncio.get_running_loop().time()
        self._task = asyncio.get_running_loop().create_task(
            self._run(connections), name="arbiter-rtc:path-watch"
        )

    async def stop(self) -> None:
        """End the checks (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self, connections: list[Any]) -> None:
        loop = asyncio.get_running_loop()
        checking: asyncio.Task[None] | None = None
        next_check = loop.time()
        try:
            while True:
                now = loop.time()
                if now - self._last_ok >= PATH_TIMEOUT:
                    logger.info("path silent for %.1f s: reporting it dead", now - self._last_ok)
                    self._on_dead()
                    return
                if now >= next_check and (checking is None or checking.done()):
                    checking = loop.create_task(self._check_all(connections))
                    next_check = now + CHECK_INTERVAL * (0.8 + 0.4 * random.random())
                await asyncio.sleep(TICK)
        finally:
            if checking is not None:
                checking.cancel()
                await asyncio.gather(checking, return_exceptions=True)

    async def _check_all(self, connections: list[Any]) -> None:
        results = await asyncio.gather(*(_check(c) for c in connections))
        if results and all(results):
            self._last_ok = asyncio.get_running_loop().time()


async def _check(connection: Any) -> bool:
    """One consent check on each nominated pair of ``connection``; True if all answered."""
    password = getattr(connection, "remote_password", None)
    pairs = list(getattr(connection, "_nominated", {}).values())
    if password is None or not pairs:
        return False
    for pair in pairs:
        request = connection.build_request(pair, nominate=False)
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                await pair.protocol.request(
                    request,
                    pair.remote_addr,
                    integrity_key=password.encode("utf8"),
                    retransmissions=1,
                )
        except (stun.TransactionError, TimeoutError, ConnectionError, OSError):
            return False
    return True
