"""The signaling WebSocket: sends and receives protocol messages as JSON text."""

from __future__ import annotations

import asyncio
import logging

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from arbiter_protocol import MAX_MESSAGE_BYTES, Message, encode_message

from ._exceptions import ConnectionLost

__all__ = ["Signaling"]

logger = logging.getLogger("arbiter_client")


class Signaling:
    """One WebSocket connection to the signaling server.

    :meth:`receive` returns raw message text (the room parses it, so that one bad message
    does not end the connection) and raises :class:`ConnectionLost` once the connection
    is closed. :meth:`close` is idempotent.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._ws: ClientConnection | None = None

    @property
    def url(self) -> str:
        """The WebSocket URL."""
        return self._url

    async def connect(self) -> None:
        """Open the WebSocket; raises :class:`ConnectionLost` if that fails."""
        try:
            self._ws = await connect(
                self._url,
                max_size=MAX_MESSAGE_BYTES,
                open_timeout=None,  # Room.join's timeout bounds the whole join
                close_timeout=0.5,  # a leave does not wait longer on a silent server
            )
        except (OSError, InvalidHandshake, InvalidURI) as exc:
            raise ConnectionLost(f"cannot open the signaling WebSocket {self._url}: {exc}") from exc

    async def send(self, message: Message) -> None:
        """Send one message; raises :class:`ConnectionLost` if the connection is closed."""
        ws = self._connection()
        text = encode_message(message)
        logger.debug("signaling > %s", message.action)
        try:
            await ws.send(text)
        except ConnectionClosed as exc:
            raise ConnectionLost(f"signaling connection closed: {_reason(exc)}") from exc

    async def receive(self) -> str | bytes:
        """The next raw message; raises :class:`ConnectionLost` when the connection closes."""
        ws = self._connection()
        try:
            return await ws.recv()
        except ConnectionClosed as exc:
            raise ConnectionLost(f"signaling connection closed: {_reason(exc)}") from exc

    async def ping(self, timeout: float = 1.0) -> float | None:
        """Round trip of a WebSocket ping in milliseconds, or ``None`` if it got no pong."""
        ws = self._ws
        if ws is None:
            return None
        try:
            async with asyncio.timeout(timeout):
                pong = await ws.ping()
                latency = await pong
        except (ConnectionClosed, TimeoutError, RuntimeError):
            return None
        return round(float(latency) * 1000, 2)

    async def close(self) -> None:
        """Close the WebSocket (a no-op if it is closed already)."""
        if self._ws is not None:
            await self._ws.close()

    def _connection(self) -> ClientConnection:
        if self._ws is None:
            raise ConnectionLost("signaling is not connected")
        return self._ws


def _reason(exc: ConnectionClosed) -> str:
    if exc.rcvd is None:
        return "no close frame"
    if exc.rcvd.reason:
        return f"code {exc.rcvd.code} ({exc.rcvd.reason})"
    return f"code {exc.rcvd.code}"
