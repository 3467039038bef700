"""Undecodable text on a data channel reaches the room as bytes, not as an aiortc crash.

aiortc decodes a WebRTC string message with ``bytes.decode("utf8")`` inside its SCTP
receive loop; bytes that are not UTF-8 raise there and end the sender's whole DTLS
transport, media included. :func:`install` makes such a message arrive as its raw bytes,
which the room answers with ``malformed_json`` like any other bad message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import rtcsctptransport

__all__ = ["install", "is_installed"]

logger = logging.getLogger(__name__)

_Receive = Callable[[Any, int, int, bytes], Awaitable[None]]
_original: _Receive = rtcsctptransport.RTCSctpTransport._data_channel_receive


async def _receive(transport: Any, stream_id: int, pp_id: int, data: bytes) -> None:
    if pp_id == rtcsctptransport.WEBRTC_STRING:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            channel = transport._data_channels.get(stream_id)
            if channel is not None:
                channel.emit("message", bytes(data))
            return
    await _original(transport, stream_id, pp_id, data)


def install() -> None:
    """Route aiortc's data channel delivery through the guard. Idempotent."""
    rtcsctptransport.RTCSctpTransport._data_channel_receive = _receive  # type: ignore[method-assign,assignment]


def is_installed() -> bool:
    """True if :func:`install` is in effect."""
    return rtcsctptransport.RTCSctpTransport._data_channel_receive is _receive
