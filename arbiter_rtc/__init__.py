"""Arbiter's RTC layer, shared by the Python client and the SFU.

What both ends of a peer connection need, written once: owned background tasks
(:class:`TaskSet`), the RTC configuration and trickled ICE candidates (one rule for both
ends), the :class:`PeerConnection` base with its failure report and idempotent close,
the watch on its network path (:class:`PathWatch`), and the :class:`SocketKeepalive` of a
signaling socket (both hold one).
It depends on aiortc and :mod:`arbiter_protocol`, never on the client or the server.
"""

import logging

from .connection import CLOSE_TIMEOUT, PeerConnection, close_peer_connection
from .ice import (
    IceTransportPolicy,
    candidate_from_message,
    ice_servers,
    parse_ice_servers,
    rtc_configuration,
)
from .keepalive import SocketKeepalive
from .path import PATH_TIMEOUT, PathWatch
from .tasks import TaskSet

# Set default logging handler to avoid "No handler found" warnings.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "CLOSE_TIMEOUT",
    "IceTransportPolicy",
    "PATH_TIMEOUT",
    "PathWatch",
    "PeerConnection",
    "SocketKeepalive",
    "TaskSet",
    "candidate_from_message",
    "close_peer_connection",
    "ice_servers",
    "parse_ice_servers",
    "rtc_configuration",
]
