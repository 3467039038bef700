"""PeerConnection: what the SFU's producer and consumer connections have in common."""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiortc import RTCConfiguration, RTCIceCandidate, RTCPeerConnection

__all__ = ["PeerConnection"]

logger = logging.getLogger(__name__)


class PeerConnection(abc.ABC):
    """Owns one ``RTCPeerConnection``: reports its failure once, closes idempotently.

    Subclasses release what they feed or are fed by in :meth:`_release`, before the
    connection itself closes.
    """

    def __init__(self, configuration: RTCConfiguration, on_failed: Callable[[Any], None]) -> None:
        self.pc = RTCPeerConnection(configuration)
        self._on_failed = on_failed
        self._closed: asyncio.Future[None] | None = None
        self.pc.on("connectionstatechange", self._handle_connection_state)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed is not None

    @property
    def connection_state(self) -> str:
        """The peer connection's ``connectionState``."""
        return str(self.pc.connectionState)

    async def add_candidate(self, candidate: RTCIceCandidate | None) -> None:
        """Add a trickled remote ICE candidate (``None``: end of candidates)."""
        await self.pc.addIceCandidate(candidate)

    def _handle_connection_state(self) -> None:
        state = self.pc.connectionState
        logger.info("%r: connection %s", self, state)
        if state == "failed" and not self.closed:
            self._on_failed(self)

    @abc.abstractmethod
    async def _release(self) -> None:
        """Stop the media this connection carries (called once, from :meth:`close`)."""

    async def close(self) -> None:
        """Release the media and close the connection. Idempotent."""
        if self._closed is not None:
            await self._closed
            return
        self._closed = asyncio.get_running_loop().create_future()
        try:
            await self._release()
            await self.pc.close()
        finally:
            self._closed.set_result(None)
        logger.debug("%r closed", self)
