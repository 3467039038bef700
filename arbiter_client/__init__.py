"""Arbiter's Python client: join a room, publish, receive tracks, exchange data.

```python
from arbiter_client import Room

async with Room.join("http://127.0.0.1:8080/rooms/demo", name="bot") as room:
    async for event in room.events():
        ...
```

``arbiter_client.sync`` has a blocking facade for plain scripts; in Jupyter a ``room``
displays as a live view (``pip install 'arbiter-video[notebook]'``). Guide: ``docs/python-sdk.md``.
"""

import logging

from arbiter_protocol import __version__

from ._attachment import Attachment
from ._events import (
    EVENTS,
    ChatMessage,
    ConnectionState,
    ConnectionStateChanged,
    DataReceived,
    Disconnected,
    ErrorReceived,
    Event,
    EventStream,
    EventType,
    ParticipantJoined,
    ParticipantLeft,
    TrackMuted,
    TrackSubscribed,
    TrackUnsubscribed,
)
from ._exceptions import (
    ArbiterError,
    ConnectionLost,
    DeviceNotFound,
    JoinTimeout,
    MediaSourceError,
    NotPublishing,
    ProtocolMismatch,
    RoomClosed,
    RoomFull,
    RoomNotFound,
    ServerError,
    Unauthorized,
)
from ._media import (
    CameraSource,
    FileSource,
    LocalTrack,
    MediaSource,
    NumpyVideoTrack,
    TestPatternSource,
    TestPatternVideoTrack,
    ToneAudioTrack,
    TrackSource,
    color_for_name,
)
from ._notebook import RoomView
from ._participant import LocalParticipant, RemoteParticipant, TrackKind
from ._player import AudioPlayer
from ._recorder import Recorder
from ._room import JoinContext, Publish, Room, RoomState
from ._stats import ConnectionStats, RoomStats
from ._track import RemoteTrack

# Set default logging handler to avoid "No handler found" warnings.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ArbiterError",
    "Attachment",
    "AudioPlayer",
    "CameraSource",
    "ChatMessage",
    "ConnectionLost",
    "ConnectionState",
    "ConnectionStateChanged",
    "ConnectionStats",
    "DataReceived",
    "DeviceNotFound",
    "Disconnected",
    "EVENTS",
    "ErrorReceived",
    "Event",
    "EventStream",
    "EventType",
    "FileSource",
    "JoinContext",
    "JoinTimeout",
    "LocalParticipant",
    "LocalTrack",
    "MediaSource",
    "MediaSourceError",
    "NotPublishing",
    "NumpyVideoTrack",
    "ParticipantJoined",
    "ParticipantLeft",
    "ProtocolMismatch",
    "Publish",
    "Recorder",
    "RemoteParticipant",
    "RemoteTrack",
    "Room",
    "RoomClosed",
    "RoomFull",
    "RoomNotFound",
    "RoomState",
    "RoomStats",
    "RoomView",
    "ServerError",
    "TestPatternSource",
    "TestPatternVideoTrack",
    "ToneAudioTrack",
    "TrackKind",
    "TrackMuted",
    "TrackSource",
    "TrackSubscribed",
    "TrackUnsubscribed",
    "Unauthorized",
    "__version__",
    "color_for_name",
]
