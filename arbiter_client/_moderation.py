"""Moderation as a client sees it: a moderator's actions and the room's lobby.

A moderator (its grant holds ``moderator``) sends ``moderate``; signaling answers a
refusal with ``error`` (``ref: moderate``) and otherwise the effect arrives as it does for
everyone: ``participant_left`` (reason ``removed``), a ``track_state`` with ``by``, the
``lobby`` list. :meth:`Moderation.run` sends one action and waits for its effect or its
refusal, one action at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from arbiter_protocol import Error, Lobby, Message, Moderate

from . import _events as ev
from ._events import Event
from ._exceptions import ArbiterError, ServerError, error_from_code
from ._participant import WaitingParticipant
from ._progress import Progress

__all__ = ["Moderation"]

ACTION_TIMEOUT = 10.0
"Seconds a moderation action may take to show its effect."


class Moderation:
    """The lobby (for moderators) and the moderation actions of one room."""

    def __init__(
        self,
        send: Callable[[Message], Awaitable[None]],
        emit: Callable[[Event], None],
        progress: Progress,
    ) -> None:
        self._send = send
        self._emit = emit
        self._progress = progress
        self._changed = asyncio.Event()
        self._refusal: Error | None = None
        self._lock = asyncio.Lock()
        self.waiting: dict[str, WaitingParticipant] = {}
        "Who waits in the lobby, by participant id (moderators are told)."

    def changed(self) -> None:
        """Something happened in the room: an action under way checks for its effect."""
        self._changed.set()

    def lobby(self, message: Lobby) -> None:
        """The lobby list (sent to moderators): newcomers are announced."""
        previous = self.waiting
        self.waiting = {
            p.id: WaitingParticipant(p.id, p.name, p.identity, p.metadata) for p in message.waiting
        }
        for pid, participant in self.waiting.items():
            if pid not in previous:
                self._emit(ev.ParticipantWaiting(participant))
        self.changed()

    def refused(self, message: Error) -> bool:
        """An ``error``: True if it answers a moderation action (which then raises it)."""
        if message.ref != Moderate.action:
            return False
        self._refusal = message
        self.changed()
        return True

    async def run(
        self, message: Moderate, done: Callable[[], bool], timeout: float = ACTION_TIMEOUT
    ) -> None:
        """Send ``message``; return once ``done()`` is true, raise the server's refusal."""
        async with self._lock:
            self._refusal = None
            self._changed.clear()
            await self._send(message)
            try:
                async with asyncio.timeout(timeout):
                    while not done():
                        if self._refusal is not None:
                            raise _refusal(self._refusal)
                        self._changed.clear()
                        waiter = asyncio.ensure_future(self._changed.wait())
                        try:
                            await self._progress.until(waiter)
                        finally:
                            waiter.cancel()
            except TimeoutError:
                raise ServerError(
                    f"'{message.op}' showed no effect within {timeout:g} s", code="timeout"
                ) from None


def _refusal(error: Error) -> ArbiterError:
    return error_from_code(error.code, error.message)
