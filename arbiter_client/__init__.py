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
from ._devices import DeviceKind, MediaDevice, list_devices
from ._events import (
    EVENTS,
    ActiveSpeakersChanged,
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
    ParticipantRemoved,
    ParticipantUpdated,
    ParticipantWaiting,
    TrackMuted,
    TrackSubscribed,
    TrackUnsubscribed,
)
from ._exceptions import (
    AdmissionDenied,
    ArbiterError,
    ConnectionLost,
    DeviceNotFound,
    JoinTimeout,
    MediaSourceError,
    MutedByModerator,
    NotPublishing,
    ProtocolMismatch,
    RoomClosed,
    RoomFull,
    RoomNotFound,
    ServerError,
    Unauthorized,
)
from ._follow import SpeakerFollower
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
from ._participant import LocalParticipant, RemoteParticipant, TrackKind, WaitingParticipant
from ._player import AudioPlayer
from ._recorder import Recorder
from ._room import JoinContext, Publish, Room, RoomState
from ._screen import ScreenInput
from ._stats import ConnectionStats, RoomStats
from ._track import RemoteTrack

# Set default logging handler to avoid "No handler found" warnings.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ActiveSpeakersChanged",
    "AdmissionDenied",
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
    "DeviceKind",
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
    "MediaDevice",
    "MediaSource",
    "MediaSourceError",
    "MutedByModerator",
    "NotPublishing",
    "NumpyVideoTrack",
    "ParticipantJoined",
    "ParticipantLeft",
    "ParticipantRemoved",
    "ParticipantUpdated",
    "ParticipantWaiting",
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
    "ScreenInput",
    "ServerError",
    "SpeakerFollower",
    "TestPatternSource",
    "TestPatternVideoTrack",
    "ToneAudioTrack",
    "TrackKind",
    "TrackMuted",
    "TrackSource",
    "TrackSubscribed",
    "TrackUnsubscribed",
    "Unauthorized",
    "WaitingParticipant",
    "__version__",
    "color_for_name",
    "list_devices",
]
