"""Typed messages the room bridge posts to the app: the UI reacts to these, never to the SDK."""

from __future__ import annotations

from textual.message import Message

from .render import VideoRows

__all__ = [
    "AudioLevel",
    "ChatReceived",
    "ConnectionChanged",
    "JoinFailed",
    "MuteChanged",
    "ParticipantAdded",
    "ParticipantRemoved",
    "RoomJoined",
    "RttMeasured",
    "VideoEnded",
    "VideoFrame",
]


class RoomJoined(Message):
    """This client is in the room."""

    def __init__(self, participant_id: str, name: str, has_audio: bool, has_video: bool) -> None:
        super().__init__()
        self.participant_id = participant_id
        self.name = name
        self.has_audio = has_audio
        self.has_video = has_video


class JoinFailed(Message):
    """``Room.join`` raised: ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class ConnectionChanged(Message):
    """The connection moved to ``state`` (``connected``, ``disconnected`` ...)."""

    def __init__(self, state: str, reason: str | None = None) -> None:
        super().__init__()
        self.state = state
        self.reason = reason


class RttMeasured(Message):
    """The latest round-trip time to the SFU, in milliseconds (``None`` if unknown)."""

    def __init__(self, rtt_ms: float | None) -> None:
        super().__init__()
        self.rtt_ms = rtt_ms


class ParticipantAdded(Message):
    """Someone is in the room: give them a tile."""

    def __init__(self, participant_id: str, name: str) -> None:
        super().__init__()
        self.participant_id = participant_id
        self.name = name


class ParticipantRemoved(Message):
    """Someone left: remove their tile."""

    def __init__(self, participant_id: str) -> None:
        super().__init__()
        self.participant_id = participant_id


class VideoFrame(Message):
    """A frame of someone's video, already rendered to cells for their tile."""

    def __init__(self, participant_id: str, rows: VideoRows) -> None:
        super().__init__()
        self.participant_id = participant_id
        self.rows = rows


class VideoEnded(Message):
    """Someone's video track ended."""

    def __init__(self, participant_id: str) -> None:
        super().__init__()
        self.participant_id = participant_id


class AudioLevel(Message):
    """Someone's audio level (``0..1``) and whether they are speaking."""

    def __init__(self, participant_id: str, level: float, speaking: bool) -> None:
        super().__init__()
        self.participant_id = participant_id
        self.level = level
        self.speaking = speaking


class MuteChanged(Message):
    """Someone muted or unmuted their microphone (``audio``) or camera (``video``)."""

    def __init__(self, participant_id: str, kind: str, muted: bool) -> None:
        super().__init__()
        self.participant_id = participant_id
        self.kind = kind
        self.muted = muted


class ChatReceived(Message):
    """A chat line, from someone else or echoed from this client."""

    def __init__(self, name: str, text: str, own: bool = False) -> None:
        super().__init__()
        self.name = name
        self.text = text
        self.own = own
