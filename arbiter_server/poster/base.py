"""The poster interface: deliver a message to one signaling connection."""

from __future__ import annotations

import abc

from arbiter_protocol import Message

__all__ = ["Poster"]


class Poster(abc.ABC):
    """Sends messages to WebSocket connections by id."""

    @abc.abstractmethod
    def post(self, connection_id: str, message: Message) -> bool:
        """Send ``message``; False if the connection is gone (the caller cleans up)."""

    def close_connection(self, connection_id: str) -> None:  # noqa: B027 - optional
        """Close a connection from the server side, if the transport allows."""
