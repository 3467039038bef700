"""The participant's session: its refresh credential, renewed ahead of expiry.

The join response carries a refresh credential. ``resume`` (on a new socket, after a drop)
and ``refresh`` (on the live socket, when half of the credential's lifetime is gone) each
spend it and return the next one; nothing else can take over the participant. The session
ends at ``session_expires_at``: the server then sends ``session_expired``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from arbiter_protocol import (
    IceServer,
    Identified,
    JoinResponse,
    Message,
    Refresh,
    Refreshed,
    Resume,
    refresh_delay,
)

__all__ = ["RefreshCredential"]

logger = logging.getLogger("arbiter_client")

_REPLY_TIMEOUT = 10.0
"Seconds to wait for ``refreshed`` before sending ``refresh`` again."


class RefreshCredential:
    """The refresh credential a room's :class:`~._session.Session` keeps between sockets."""

    def __init__(self, response: JoinResponse, clock: Callable[[], float] = time.time) -> None:
        self.refresh_token = response.refresh_token
        "The current refresh credential (spent by the next resume or refresh)."
        self.refresh_expires_at = float(response.refresh_expires_at)
        "When it stops working."
        self.session_expires_at = float(response.session_expires_at)
        "When the session ends."
        self._clock = clock
        self._renewed = asyncio.Event()

    def resume_message(self) -> Resume:
        """What to send first on a new socket to take the participant back."""
        return Resume(refresh_token=self.refresh_token)

    def update(self, message: Identified | Refreshed) -> list[IceServer] | None:
        """Keep the next credential a reply carries; return its fresh ICE servers, if any."""
        if message.refresh_token is not None:
            self.refresh_token = message.refresh_token
            self.refresh_expires_at = float(message.refresh_expires_at or 0)
            self._renewed.set()
        if message.session_expires_at is not None:
            self.session_expires_at = float(message.session_expires_at)
        return message.ice_servers

    def refresh_delay(self) -> float:
        """Seconds until half of the current credential's remaining lifetime is gone."""
        return refresh_delay(self.refresh_expires_at, self._clock())

    async def keep_fresh(self, send: Callable[[Message], Awaitable[None]]) -> None:
        """Send ``refresh`` whenever half of the credential's lifetime is gone (forever).

        ``send`` waits while the room reconnects; a resume renews the credential too.
        """
        while True:
            self._renewed.clear()
            try:
                await asyncio.wait_for(self._renewed.wait(), self.refresh_delay())
                continue  # renewed meanwhile (a resume): wait for the new one's half-life
            except TimeoutError:
                pass
            self._renewed.clear()
            await send(Refresh(refresh_token=self.refresh_token))
            try:
                await asyncio.wait_for(self._renewed.wait(), _REPLY_TIMEOUT)
            except TimeoutError:
                logger.warning("no 'refreshed' within %g s; trying again", _REPLY_TIMEOUT)
