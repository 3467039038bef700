"""SignalingConnection: the SFU's WebSocket client to the signaling gateway."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from arbiter_protocol import (
    MAX_MESSAGE_BYTES,
    Error,
    Identified,
    Identify,
    Message,
    ProtocolError,
    Resume,
    encode_message,
    parse_message,
)

from .room import Handler

__all__ = ["SignalingConnection", "SignalingError", "SignalingRefused"]

logger = logging.getLogger(__name__)


class SignalingError(Exception):
    """Signaling could not be reached, or the connection was lost."""


class SignalingRefused(SignalingError):
    """Signaling answered ``identify`` with an ``error`` (e.g. a bad SFU credential).

    ``error`` is the server's message. Retrying with the same credential will not help.
    """

    def __init__(self, error: Error) -> None:
        super().__init__(f"signaling refused the SFU: {error.code}: {error.message}")
        self.error = error


class SignalingConnection:
    """One WebSocket connection to signaling, identified as the room's SFU.

    Incoming messages are validated with the protocol and dispatched by ``action``
    through ``handlers``, one at a time and in order; ``error`` messages from the server
    are logged. Handlers reply with :meth:`send`.

    **Parameters:**

    * **url** - the signaling WebSocket URL (``ws://host:port/ws``).
    * **hello** - the first message: ``identify`` with the bootstrap code (a new SFU) or
      ``resume`` with the refresh credential (the same SFU on a new socket).
    * **handlers** - action -> coroutine, e.g. :meth:`.Room.handlers`.
    * **open_timeout** - seconds to open the connection and get ``identified``.
    * **heard** - called for every message that arrives (the socket is alive).
    """

    def __init__(
        self,
        url: str,
        hello: Identify | Resume,
        handlers: Mapping[str, Handler],
        *,
        open_timeout: float = 10.0,
        heard: Callable[[], None] | None = None,
    ) -> None:
        self.url = url
        self._hello = hello
        self._handlers: dict[str, Handler] = {Error.action: self._log_error, **handlers}
        self._open_timeout = open_timeout
        self._heard = heard
        self._ws: ClientConnection | None = None

    @property
    def connected(self) -> bool:
        """True between a successful :meth:`connect` and the connection's end."""
        return self._ws is not None

    async def connect(self) -> Identified:
        """Open the connection, send the hello and return the ``identified`` reply.

        Raises :class:`SignalingRefused` if the server answers with an error and
        :class:`SignalingError` if it cannot be reached or answers nonsense.
        """
        try:
            ws = await connect(
                self.url,
                open_timeout=self._open_timeout,
                max_size=2 * MAX_MESSAGE_BYTES,
                compression=None,
                close_timeout=2,  # a half-open socket must not hold up its replacement
            )
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            raise SignalingError(f"cannot connect to {self.url}: {exc}") from exc
        try:
            await ws.send(encode_message(self._hello))
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
            # that arrives as the reply does.
            async with asyncio.timeout(self._open_timeout):
                raw = await ws.recv()
            reply = parse_message(raw)
        except (ConnectionClosed, OSError, TimeoutError, ProtocolError) as exc:
            await ws.close()
            raise SignalingError(f"identify failed: {exc!r}") from exc
        if isinstance(reply, Error):
            await ws.close()
            raise SignalingRefused(reply)
        if not isinstance(reply, Identified):
            await ws.close()
            raise SignalingError(f"expected 'identified', got {reply.action!r}")
        self._ws = ws
        logger.info("signaling: identified at %s for room %s", self.url, reply.room_id)
        return reply

    async def send(self, message: Message) -> None:
        """Send one message; raises :class:`SignalingError` if not connected."""
        ws = self._ws
        if ws is None:
            raise SignalingError("not connected to signaling")
        try:
            await ws.send(encode_message(message))
        except ConnectionClosed as exc:
            raise SignalingError(f"signaling connection closed: {exc}") from exc

    async def run(self) -> None:
        """Receive and dispatch messages until the connection closes."""
        ws = self._ws
        if ws is None:
            raise SignalingError("not connected to signaling")
        try:
            async for raw in ws:
                if self._heard is not None:
                    self._heard()
                await self._dispatch(raw)
        except ConnectionClosed as exc:
            logger.warning("signaling: connection lost: %s", exc)
        finally:
            self._ws = None
        if ws.close_code is not None:
            logger.info("signaling: connection closed (%s)", ws.close_code)

    async def _dispatch(self, raw: str | bytes) -> None:
        try:
            message = parse_message(raw)
        except ProtocolError as exc:
            logger.warning("signaling: invalid message (%s): %s", exc.code.value, exc.message)
            return
        handler = self._handlers.get(message.action)
        if handler is None:
            logger.debug("signaling: no handler for %r", message.action)
            return
        try:
            await handler(message)
        except Exception:
            logger.exception("signaling: handling %r failed", message.action)

    async def _log_error(self, message: Message) -> None:
        if isinstance(message, Error):
            logger.warning(
                "signaling: error %s (ref %s): %s", message.code, message.ref, message.message
            )

    async def close(self) -> None:
        """Close the connection. Idempotent."""
        ws = self._ws
        self._ws = None
        if ws is not None:
            await ws.close()
