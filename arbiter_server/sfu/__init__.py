"""Arbiter's SFU: forwards each participant's audio, video and data to the others.

One process per room (``python -m arbiter_server.sfu --room ROOM --signaling URL``,
single-use bootstrap code in ``ARBITER_SFU_TOKEN``, ICE servers in ``ARBITER_ICE_SERVERS``;
it then holds a refresh credential of its own). Media is forwarded as RTP packets, never
decoded: aiortc does ICE, DTLS and SDP; each producer's packets are taken from its DTLS
transport (:mod:`.aiortc_hooks`, the module that knows aiortc's media internals), fanned
out by :mod:`.forwarder`, rewritten per consumer media section by :mod:`.downtrack` and
protected and sent directly. Simulcast layers are chosen per subscriber (:mod:`.bandwidth`).

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
