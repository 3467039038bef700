"""In-process poster for the local gateway: sends on the gateway's own WebSockets."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from arbiter_protocol import Message, encode_message

from .base import Poster

__all__ = ["LocalPoster"]

logger = logging.getLogger(__name__)

SendText = Callable[[str], Coroutine[Any, Any, None]]
Close = Callable[[], Coroutine[Any, Any, object]]


class LocalPoster(Poster):
    """Delivers to sockets registered by the gateway; callable from handler threads."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float = 5.0) -> None:
        self._loop = loop
        self._timeout = timeout
        self._sockets: dict[str, tuple[SendText, Close]] = {}
        self._lock = threading.Lock()

    def register(self, connection_id: str, send: SendText, close: Close) -> None:
        """Make ``connection_id`` reachable."""
        with self._lock:
            self._sockets[connection_id] = (send, close)

    def unregister(self, connection_id: str) -> None:
        """Forget ``connection_id``; later posts to it return False."""
        with self._lock:
            self._sockets.pop(connection_id, None)

    def post(self, connection_id: str, message: Message) -> bool:
        with self._lock:
            entry = self._sockets.get(connection_id)
        if entry is None:
            return False
        future = asyncio.run_coroutine_threadsafe(entry[0](encode_message(message)), self._loop)
        try:
            future.result(self._timeout)
        except Exception as exc:  # a closing socket: report it as gone
            logger.info("post to %s failed: %r", connection_id, exc)
            return False
        return True

    def close_connection(self, connection_id: str) -> None:
        with self._lock:
            entry = self._sockets.get(connection_id)
        if entry is not None:
            asyncio.run_coroutine_threadsafe(entry[1](), self._loop)
