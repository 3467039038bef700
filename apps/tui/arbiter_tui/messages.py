"""Typed messages the room bridge posts to the app: the UI reacts to these, never to the SDK."""

from __future__ import annotations

from textual.message import Message

from .render import VideoRows

__all__ = [
    "AudioLevel",
    "ChatReceived",
    "ConnectionChanged",
    "HandChanged",
    "JoinFailed",
    "MuteChanged",
    "ParticipantAdded",
    "ParticipantChanged",
    "ParticipantRemoved",
    "RoomJoined",
    "RttMeasured",
    "ScreenEnded",
    "ScreenStarted",
    "SpeakersChanged",
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

    def __init__(self, participant_id: str, name: str, hand_raised: bool = False) -> None:
        super().__init__()
        self.participant_id = participant_id
        self.name = name
        self.hand_raised = hand_raised


class ParticipantChanged(Message):
    """Someone renamed itself or raised or lowered its hand (``ParticipantUpdated``)."""

    def __init__(self, participant_id: str, name: str, hand_raised: bool) -> None:
        super().__init__()
        self.participant_id = participant_id
        self.name = name
        self.hand_raised = hand_raised


class HandChanged(Message):
    """This client's own hand is now raised (``True``) or lowered, as the server has it."""

    def __init__(self, raised: bool) -> None:
        super().__init__()
        self.raised = raised


class SpeakersChanged(Message):
    """The SFU's active speakers (participant ids, loudest first) changed."""

    def __init__(self, speakers: tuple[str, ...]) -> None:
        super().__init__()
        self.speakers = speakers


class ScreenStarted(Message):
    """Someone shares a screen: it takes the large tile."""

    def __init__(self, participant_id: str) -> None:
        super().__init__()
        self.participant_id = participant_id


class ScreenEnded(Message):
    """Someone's shared screen ended."""

    def __init__(self, participant_id: str) -> None:
        super().__init__()
        self.participant_id = participant_id


class ParticipantRemoved(Message):
    """Someone left: remove their tile."""

    def __init__(self, participant_id: str) -> None:
        super().__init__()
        self.participant_id = participant_id


class VideoFrame(Message):
    """A frame of someone's camera (``screen`` False) or shared screen, already rendered
    to cells for the view that shows it."""

    def __init__(self, participant_id: str, rows: VideoRows, screen: bool = False) -> None:
        super().__init__()
        self.participant_id = participant_id
        self.rows = rows
        self.screen = screen


class VideoEnded(Message):
    """Someone's camera track ended."""

    def __init__(self, participant_id: str) -> None:
        super().__init__()
        self.participant_id = participant_id


class AudioLevel(Message):
    """Someone's audio level (``0..1``), for the level meter."""

    def __init__(self, participant_id: str, level: float) -> None:
        super().__init__()
        self.participant_id = participant_id
        self.level = level


class MuteChanged(Message):
    """Someone muted or unmuted their microphone (``audio``), camera (``video``) or
    shared screen (``screen``)."""

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
