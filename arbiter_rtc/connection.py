"""PeerConnection: what every peer connection of Arbiter has in common, at either end.

The SFU's producer and consumer connections and the client's own producer and consumer
connections are subclasses: each owns one ``RTCPeerConnection``, reports its failure once
(``failed``, or a path whose consent checks stop being answered: :mod:`.path`), applies
trickled candidates by one rule (:func:`~arbiter_rtc.ice.candidate_from_message`) and
closes idempotently and within :data:`CLOSE_TIMEOUT`, without leaving aiortc's connect
task unread nor waiting on a gone TURN server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection

from arbiter_protocol import IceCandidate

from .ice import candidate_from_message
from .path import PathWatch, abandon_turn, turn_transports

__all__ = ["CLOSE_TIMEOUT", "PeerConnection", "close_peer_connection"]

logger = logging.getLogger("arbiter_rtc")

CLOSE_TIMEOUT = 1.0
"""Seconds :func:`close_peer_connection` waits before it lets go of TURN allocations whose
deletion is not answered (the server is gone); closing then ends at once."""


class PeerConnection:
    """Owns one ``RTCPeerConnection``: reports its failure once, closes idempotently.

    ``on_failed(self)`` is called once when the connection's state becomes ``failed``, or
    its path stops answering consent checks for :data:`~arbiter_rtc.path.PATH_TIMEOUT`
    seconds while ``connected`` (``path_lost`` is then True), before :meth:`close`.
    Subclasses react to other states in :meth:`_state_changed` and
    release what they feed or are fed by in :meth:`_release`, which :meth:`close` calls
    once, before the connection itself closes.
    """

    state_log_level = logging.DEBUG
    "Level at which state changes are logged (the SFU logs them at INFO)."

    def __init__(
        self,
        configuration: RTCConfiguration,
        on_failed: Callable[[Any], None] | None = None,
    ) -> None:
        self.pc = RTCPeerConnection(configuration)
        self._on_failed = on_failed
        self._failure_reported = False
        self._closed: asyncio.Future[None] | None = None
        self._watch = PathWatch(self.pc, self._path_dead)
        self.path_lost = False
        "True once the path stopped answering consent checks (the connection is reported failed)."
        self.pc.on("connectionstatechange", self._handle_connection_state)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed is not None

    @property
    def connection_state(self) -> str:
        """The peer connection's ``connectionState``."""
        return str(self.pc.connectionState)

    async def add_candidate(self, candidate: IceCandidate) -> None:
        """Apply a trickled remote candidate (an empty line: end of candidates).

        Raises ``ValueError`` for a candidate that cannot be read or names no media
        section; what to do about it (answer with an error, log it) is the caller's call.
        """
        await self.pc.addIceCandidate(candidate_from_message(candidate))

    def _handle_connection_state(self) -> None:
        state = str(self.pc.connectionState)
        logger.log(self.state_log_level, "%r: connection %s", self, state)
        if state == "connected" and not self.closed:
            self._watch.start()
        self._state_changed(state)

    def _path_dead(self) -> None:
        if self.closed or self.path_lost:
            return
        self.path_lost = True
        logger.log(self.state_log_level, "%r: path lost (consent checks unanswered)", self)
        self._state_changed("failed")

    def _state_changed(self, state: str) -> None:
        """React to a new ``connectionState`` (subclasses extend; call the base)."""
        if state == "failed" and not self.closed and not self._failure_reported:
            self._failure_reported = True
            if self._on_failed is not None:
                self._on_failed(self)

    async def _release(self) -> None:
        """Stop the media this connection carries (called once, from :meth:`close`)."""

    async def close(self) -> None:
        """Release the media and close the connection. Idempotent."""
        if self._closed is not None:
            await self._closed
            return
        self._closed = asyncio.get_running_loop().create_future()
        try:
            await self._watch.stop()
            await self._release()
            await close_peer_connection(self.pc)
        finally:
            self._closed.set_result(None)
        logger.debug("%r closed", self)


async def close_peer_connection(pc: RTCPeerConnection, timeout: float = CLOSE_TIMEOUT) -> None:
    """Close ``pc``, first adopting aiortc's unowned connect task if one is still running.

    aiortc starts ``RTCPeerConnection.__connect`` with a bare ``ensure_future``; closing
    the connection while it runs makes that task fail with nobody to read the error
    ("Task exception was never retrieved"). We read it instead.

    Closing waits for each TURN allocation's deletion, which a gone TURN server never
    answers (aioice retries for about a minute): after ``timeout`` seconds those
    deletions are abandoned. Whatever still waits after another ``timeout`` finishes in
    the background: this returns within ``2 * timeout`` seconds.
    """
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        frame = getattr(coro, "cr_frame", None)
        if (
            not task.done()
            and getattr(coro, "__qualname__", "").endswith("__connect")
            and frame is not None
            and frame.f_locals.get("self") is pc
        ):
            task.add_done_callback(_read_result)
    allocations = turn_transports(pc)
    closing = asyncio.ensure_future(pc.close())
    done, _ = await asyncio.wait((closing,), timeout=timeout)
    if not done and abandon_turn(allocations):
        logger.info("TURN server silent: %d allocation(s) left to expire", len(allocations))
        done, _ = await asyncio.wait((closing,), timeout=timeout)
    if not done:  # something else waits on a gone peer: let it finish on its own
        logger.warning("closing %r takes longer than expected; not waiting for it", pc)
        closing.add_done_callback(_read_result)
        return
    await closing


def _read_result(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.debug("connect task ended with %r", task.exception())
