"""Arbiter's Python client: join a room, publish, receive tracks, exchange data.

```python
from arbiter_client import Room

async with Room.join("http://127.0.0.1:8080/rooms/demo", name="bot") as room:
    async for event in room.events():
        ...
```
"""

import logging

from ._events import (
    DataReceived,
    Disconnected,
    ErrorReceived,
    Event,
    EventStream,
    EventType,
    ParticipantJoined,
    ParticipantLeft,
    TrackSubscribed,
    TrackUnsubscribed,
)
from ._exceptions import (
    ArbiterError,
    ConnectionLost,
    JoinTimeout,
    ProtocolMismatch,
    RoomClosed,
    RoomFull,
    RoomNotFound,
    ServerError,
    Unauthorized,
)
from ._media import (
    FileSource,
    MediaSource,
    TestPatternSource,
    TestPatternVideoTrack,
    ToneAudioTrack,
    TrackSource,
    color_for_name,
)
from ._participant import LocalParticipant, RemoteParticipant, TrackKind
from ._room import JoinContext, Publish, Room, RoomState

__version__ = "0.1.0"

# Set default logging handler to avoid "No handler found" warnings.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ArbiterError",
    "ConnectionLost",
    "DataReceived",
    "Disconnected",
    "ErrorReceived",
    "Event",
    "EventStream",
    "EventType",
    "FileSource",
    "JoinContext",
    "JoinTimeout",
    "LocalParticipant",
    "MediaSource",
    "ParticipantJoined",
    "ParticipantLeft",
    "ProtocolMismatch",
    "Publish",
    "RemoteParticipant",
    "Room",
    "RoomClosed",
    "RoomFull",
    "RoomNotFound",
    "RoomState",
    "ServerError",
    "TestPatternSource",
    "TestPatternVideoTrack",
    "ToneAudioTrack",
    "TrackKind",
    "TrackSource",
    "TrackSubscribed",
    "TrackUnsubscribed",
    "Unauthorized",
    "__version__",
    "color_for_name",
]
