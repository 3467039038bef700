"""Arbiter's SFU: forwards each participant's audio, video and data to the others.

One process per room (``python -m arbiter_server.sfu --room ROOM --signaling URL``,
single-use bootstrap code in ``ARBITER_SFU_TOKEN``, ICE servers in ``ARBITER_ICE_SERVERS``;
it then holds a refresh credential of its own). Media is
forwarded without decoding or encoding (see :mod:`.forwarder`).

Embedding: build a :class:`Room` with a send callback and feed it signaling messages
(:meth:`Room.handle`), or run :class:`SfuService` / :func:`serve` against signaling.
"""

from .cli import main, serve
from .room import Room, RoomStats, SendCallback
from .service import SfuConfig, SfuService
from .signaling import SignalingConnection, SignalingError, SignalingRefused

__all__ = [
    "Room",
    "RoomStats",
    "SendCallback",
    "SfuConfig",
    "SfuService",
    "SignalingConnection",
    "SignalingError",
    "SignalingRefused",
    "main",
    "serve",
]
