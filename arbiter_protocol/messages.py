"""Every signaling message, as a typed dataclass with its ``action``.

Signaling messages travel as JSON text over the WebSocket (``identify``, ``resume``,
``refresh``, ``handshake``, events, ``error``); ``data`` messages travel over the producer
data channel between a client and its SFU. Each message carries the protocol version
``v``; :func:`parse_message` validates a raw message and :func:`encode_message` serialises
one. Sizes are UTF-8 bytes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

from ._codec import from_dict, to_dict
from ._json import decode_json
from .errors import ErrorCode, ProtocolError
from .roles import ALL_GRANTS, BY_APP, DEFAULT_GRANTS, MAX_METADATA, Grant, MediaKind
from .sdp import MAX_SDP, check_sdp, sdp_json_size

__all__ = [
    "ACTIONS",
    "ALL_GRANTS",
    "BY_APP",
    "CHAT_TOPIC",
    "DEFAULT_GRANTS",
    "MAX_FRAME_BYTES",
    "MAX_MESSAGE_BYTES",
    "MAX_METADATA",
    "PROTOCOL_VERSION",
    "TRACK_SOURCES",
    "DataMessage",
    "Error",
    "Grant",
    "MAX_SDP",
    "Handshake",
    "IceCandidate",
    "IceServer",
    "Identified",
    "Identify",
    "Keepalive",
    "KeepaliveAck",
    "Leave",
    "MediaKind",
    "Message",
    "ParticipantInfo",
    "ParticipantJoined",
    "ParticipantLeft",
    "Refresh",
    "Refreshed",
    "Resume",
    "SessionDescription",
    "SfuReady",
    "TrackInfo",
    "TrackSource",
    "TrackState",
    "check_sdp",
    "encode_message",
    "error_message",
    "is_valid_id",
    "message_from_dict",
    "parse_message",
    "peek_action",
    "register_messages",
    "sdp_json_size",
]

PROTOCOL_VERSION = 1
"Version of this protocol; a message with another ``v`` is refused with ``unsupported_version``."

MAX_MESSAGE_BYTES = 128 * 1024
"Largest signaling message (API Gateway's WebSocket message limit)."

MAX_FRAME_BYTES = 32 * 1024
"Largest WebSocket frame (API Gateway's frame limit)."

CHAT_TOPIC = "chat"
"Topic of chat messages: a text ``data`` message with this topic is a chat message."

MAX_CANDIDATE = 1024
MAX_NAME = 64
MAX_REFRESH_TOKEN = 256

_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CANDIDATE_RE = re.compile(
    r"^(a=)?candidate:[!-~]{1,32} \d{1,3} (udp|tcp|UDP|TCP) \d{1,10} [0-9A-Za-z.:_-]{1,253} "
    r"\d{1,5} typ (host|srflx|prflx|relay)( [\x21-\x7e]+)*$"
)


def is_valid_id(value: str) -> bool:
    """True if ``value`` is usable as a room or participant id (``[A-Za-z0-9_-]{1,64}``)."""
    return bool(_ID_RE.match(value))


_ID = {"max_len": 64, "min_len": 1}
ID_FIELD = _ID
"Field metadata of an id (1-64 bytes), for the other modules of this package."

TrackSource = Literal["camera", "microphone", "screen", "screen_audio", "unknown"]
"Where a published track comes from."
TRACK_SOURCES: tuple[TrackSource, ...] = (
    "camera",
    "microphone",
    "screen",
    "screen_audio",
    "unknown",
)
"Every track source."


M = TypeVar("M", bound="Message")


@dataclass
class Message:
    """Base of all messages; subclasses set ``action``."""

    action: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        """The message as a JSON-ready dict, with ``action`` and ``v``."""
        return {"action": self.action, "v": PROTOCOL_VERSION, **to_dict(self)}

    @classmethod
    def from_dict(cls: type[M], data: dict[str, Any]) -> M:
        """Validate ``data`` (already decoded JSON) as this message."""
        body = {k: v for k, v in data.items() if k not in ("action", "v")}
        try:
            return from_dict(cls, body)
        except ProtocolError as exc:
            exc.action = cls.action
            raise


@dataclass
class ParticipantInfo:
    """A participant as others see it."""

    id: str = field(metadata=_ID)
    "Participant id, unique within the room."
    name: str = field(metadata={"max_len": MAX_NAME})
    "Display name chosen at join."
    grants: list[Grant] | None = field(default=None, metadata={"max_items": 5})
    "What the participant may do (``None``: the default grants); the SFU enforces it."
    identity: str | None = field(default=None, metadata=_ID)
    "The app's own id for this user, from the grant the app minted (none for a plain join)."
    metadata: str | None = field(default=None, metadata={"max_len": MAX_METADATA})
    "The app's data about this participant (from its grant, or set by the server API)."
    locked: list[MediaKind] | None = field(default=None, metadata={"max_items": 2})
    """Kinds a moderator muted: the SFU forwards none of them and the participant cannot
    unmute them until a moderator lifts the lock."""
    hand_raised: bool | None = None
    "True while its hand is raised (``update_participant``); absent or false: not raised."


@dataclass
class SessionDescription:
    """An SDP offer or answer."""

    type: Literal["offer", "answer"]
    "Whether this is an offer or an answer."
    sdp: str = field(metadata={"max_len": MAX_MESSAGE_BYTES, "min_len": 1})
    "The SDP text (at most :data:`MAX_SDP` bytes JSON-encoded; :func:`check_sdp`)."

    def __post_init__(self) -> None:
        check_sdp(self.sdp)


@dataclass
class IceCandidate:
    """One trickled ICE candidate, as the browser's ``RTCIceCandidateInit``."""

    candidate: str = field(metadata={"max_len": MAX_CANDIDATE})
    "The ``candidate:`` attribute line (empty string for end-of-candidates)."
    sdpMid: str | None = field(default=None, metadata={"max_len": 32})
    "The media stream id the candidate belongs to."
    sdpMLineIndex: int | None = field(default=None, metadata={"min": 0, "max": 64})
    "The index of the media section the candidate belongs to."

    def __post_init__(self) -> None:
        if self.candidate and not _CANDIDATE_RE.match(self.candidate):
            raise ProtocolError(
                ErrorCode.INVALID_MESSAGE,
                "field 'candidate.candidate' is not an ICE candidate line "
                "('candidate:<foundation> <component> <transport> <priority> <address> "
                "<port> typ <type> ...')",
            )


@dataclass
class IceServer:
    """One STUN/TURN server, as ``RTCIceServer``."""

    urls: list[str] = field(metadata={"max_items": 8})
    "``stun:`` / ``turn:`` URLs."
    username: str | None = None
    "TURN username (``<expiry>:<participant>``)."
    credential: str | None = None
    "TURN password."


@dataclass
class TrackInfo:
    """One published media track, as its publisher describes it and subscribers see it.

    In a producer offer the client names each of its sendonly media sections (``mid``);
    in a consumer offer the SFU names the track each media section carries, with the
    ``participant_id`` that publishes it.
    """

    id: str = field(metadata=_ID)
    "Track id chosen by its publisher, unique among that participant's tracks (e.g. ``camera``)."
    kind: Literal["audio", "video"]
    "Audio or video."
    source: TrackSource = "unknown"
    "What it shows or plays: ``camera``, ``microphone``, ``screen``, ``screen_audio``."
    mid: str | None = field(default=None, metadata={"max_len": 32})
    "The SDP media section (``a=mid``) carrying it in this connection's offer."
    participant_id: str | None = field(default=None, metadata=_ID)
    "Who publishes it (set by the SFU in consumer offers)."


@dataclass
class Identify(Message):
    """First message on a signaling connection: admit this participant (or SFU), once.

    ``token`` is a join token from ``POST /rooms/{id}/join`` (participants) or the
    launcher's bootstrap code (SFUs). Each is single-use: it admits one connection and
    never takes over a participant that is connected already (that needs ``resume``).
    """

    action: ClassVar[str] = "identify"
    token: str = field(metadata={"max_len": 4096, "min_len": 1})
    "The join token (clients) or bootstrap code (SFUs)."


@dataclass
class Resume(Message):
    """First message on a new signaling connection of someone who was connected before.

    The current refresh credential takes over the participant (or SFU) it belongs to:
    its old connection, if still open, is closed, nobody is told it left, and the reply
    ``identified`` has ``resumed`` true and the next refresh credential. This is the only
    way to take over a participant.
    """

    action: ClassVar[str] = "resume"
    refresh_token: str = field(metadata={"max_len": MAX_REFRESH_TOKEN, "min_len": 1})
    "The current refresh credential (from the join response, ``identified`` or ``refreshed``)."


@dataclass
class Refresh(Message):
    """Renew an identified connection's credential ahead of its expiry (reply ``refreshed``).

    The refresh credential rotates: the one sent is spent, the reply carries the next.
    """

    action: ClassVar[str] = "refresh"
    refresh_token: str = field(metadata={"max_len": MAX_REFRESH_TOKEN, "min_len": 1})
    "The current refresh credential."


@dataclass
class Refreshed(Message):
    """Reply to ``refresh``: the next refresh credential and fresh ICE servers."""

    action: ClassVar[str] = "refreshed"
    refresh_token: str = field(metadata={"max_len": MAX_REFRESH_TOKEN, "min_len": 1})
    "The next refresh credential (the one sent is spent)."
    refresh_expires_at: int
    "Unix time after which this credential no longer resumes or refreshes."
    session_expires_at: int | None = None
    "Unix time the session ends (``session_expired``); none for an SFU."
    ice_servers: list[IceServer] | None = field(default=None, metadata={"max_items": 8})
    "STUN/TURN servers with fresh credentials, for peer connections made from now on."


@dataclass
class Identified(Message):
    """Reply to a successful ``identify`` or ``resume``."""

    action: ClassVar[str] = "identified"
    room_id: str = field(metadata=_ID)
    "The room this connection now belongs to."
    role: Literal["participant", "sfu"]
    "What the connection identified as."
    sfu_ready: bool
    "True if the room's SFU is connected; otherwise wait for ``sfu_ready``."
    participants: list[ParticipantInfo] = field(default_factory=list)
    "Participants already connected (not including the receiver)."
    participant_id: str | None = field(default=None, metadata=_ID)
    "The receiver's own participant id (participants only)."
    resumed: bool = False
    "True when this connection took over a briefly disconnected participant (nobody was told)."
    refresh_token: str | None = field(
        default=None, metadata={"max_len": MAX_REFRESH_TOKEN, "min_len": 1}
    )
    "A new refresh credential, when this identify or resume issued one (it replaces the old)."
    refresh_expires_at: int | None = None
    "Unix time after which ``refresh_token`` no longer resumes or refreshes."
    session_expires_at: int | None = None
    "Unix time the session ends (``session_expired``); none for an SFU."
    ice_servers: list[IceServer] | None = field(default=None, metadata={"max_items": 8})
    "STUN/TURN servers with fresh credentials (on resume)."
    waiting: bool | None = None
    """True: the participant waits in the room's lobby (``participants`` is empty, nobody
    was told). A second ``identified`` (``waiting`` false) admits it; ``removed`` with
    reason ``denied`` refuses it."""
    idle_timeout: int | None = field(default=None, metadata={"min": 1})
    """Seconds without a message from this connection after which the server closes it
    (API Gateway: 600); send ``keepalive`` every :func:`~arbiter_protocol.keepalive_interval`."""


@dataclass
class Handshake(Message):
    """SDP and ICE between a client and its room's SFU, routed by signaling.

    ``connection`` says which peer connection: the client's ``producer`` (the client
    offers) or its ``consumer``, the one connection on which the SFU sends it every other
    participant's tracks (the SFU offers, again whenever tracks come or go). Signaling
    fills ``participant_id`` with the sending client when forwarding to the SFU; the SFU
    sets it to address a client. A client cannot choose it.
    """

    action: ClassVar[str] = "handshake"
    connection: Literal["producer", "consumer"]
    "Which peer connection this is about."
    participant_id: str | None = field(default=None, metadata=_ID)
    "The client this handshake is from (to the SFU) or for (from the SFU)."
    sdp: SessionDescription | None = None
    "An offer or answer."
    candidate: IceCandidate | None = None
    "A trickled ICE candidate."
    tracks: list[TrackInfo] | None = field(default=None, metadata={"max_items": 64})
    """With an offer: the tracks it carries, by media section (producer: the client's own;
    consumer: the published tracks the SFU sends, with their ``participant_id``)."""

    def __post_init__(self) -> None:
        if self.sdp is None and self.candidate is None:
            raise ProtocolError(
                ErrorCode.INVALID_MESSAGE,
                "a handshake needs 'sdp' or 'candidate'",
                self.action,
            )


@dataclass
class Keepalive(Message):
    """Keeps a quiet signaling connection open; the server answers ``keepalive_ack``.

    API Gateway closes a WebSocket after 10 minutes without a message from its client
    (WebSocket pings do not count), so every holder of a socket sends one every
    :func:`~arbiter_protocol.keepalive_interval` seconds. It is answered without touching
    the server's state (on AWS by a mock integration; locally by the gateway itself) and
    rate limited there.
    """

    action: ClassVar[str] = "keepalive"


@dataclass
class KeepaliveAck(Message):
    """Reply to ``keepalive``: the connection is alive both ways."""

    action: ClassVar[str] = "keepalive_ack"


@dataclass
class Leave(Message):
    """A client leaves the room (closing the WebSocket does the same)."""

    action: ClassVar[str] = "leave"


@dataclass
class SfuReady(Message):
    """Sent to a room's participants when its SFU has identified: start the producer."""

    action: ClassVar[str] = "sfu_ready"
    room_id: str = field(metadata=_ID)
    "The room whose SFU is ready."


@dataclass
class ParticipantJoined(Message):
    """A participant identified in the room (sent to everyone else and to the SFU)."""

    action: ClassVar[str] = "participant_joined"
    participant: ParticipantInfo
    "Who joined."


@dataclass
class ParticipantLeft(Message):
    """A participant left or was disconnected (sent to everyone else and to the SFU)."""

    action: ClassVar[str] = "participant_left"
    participant_id: str = field(metadata=_ID)
    "Who left."
    reason: str = field(default="left", metadata={"max_len": 64})
    "Why: ``left``, ``disconnected``, ``session_expired``, ``removed``, ``room_ended`` ..."
    by: str | None = field(default=None, metadata=_ID)
    "Who removed it (reason ``removed``): a moderator's participant id, or ``app``."


@dataclass
class Error(Message):
    """Reply to a message that could not be handled."""

    action: ClassVar[str] = "error"
    code: str = field(metadata={"max_len": 64})
    "An :class:`~arbiter_protocol.ErrorCode` value."
    message: str = field(metadata={"max_len": 1024})
    "What was wrong, for people."
    ref: str | None = field(default=None, metadata={"max_len": 64})
    "The action of the message this error answers, when known."
    participant_id: str | None = field(default=None, metadata=_ID)
    "Set by an SFU to report an error to one participant through signaling."


@dataclass
class DataMessage(Message):
    """Application data over the data channel: client -> SFU -> other clients.

    The client sets ``to`` (``None`` for everyone) and ``id``; the SFU stamps ``sender``.
    Bytes travel base64-encoded with ``kind="bytes"``.
    """

    action: ClassVar[str] = "data"
    kind: Literal["text", "bytes"]
    "How to read ``data``."
    data: str = field(metadata={"max_len": 64 * 1024})
    "The payload (text, or base64 of bytes)."
    id: str = field(metadata=_ID)
    "Sender-chosen message id, for de-duplication."
    to: list[str] | None = field(default=None, metadata={"max_items": 256})
    "Recipients' participant ids; ``None`` for everyone."
    sender: str | None = field(default=None, metadata=_ID)
    "The sending participant (stamped by the SFU)."
    topic: str | None = field(default=None, metadata={"max_len": 64})
    "Optional application topic, e.g. ``chat``."


@dataclass
class TrackState(Message):
    """A participant muted or unmuted one of its tracks (data channel, like ``data``).

    The client sends it on its producer data channel; the SFU stamps ``sender``, relays
    it to every other participant and repeats the latest state to late joiners.
    """

    action: ClassVar[str] = "track_state"
    kind: MediaKind
    "Which track."
    muted: bool
    "True when the track is muted (no media flows, or only black/silence)."
    sender: str | None = field(default=None, metadata=_ID)
    "The participant whose track it is (stamped by the SFU)."
    track_id: str | None = field(default=None, metadata=_ID)
    "The track (``TrackInfo.id``, e.g. ``screen``); absent: its ``microphone`` / ``camera``."
    by: str | None = field(default=None, metadata=_ID)
    """Set while a moderator holds the track muted (a moderator's participant id, or
    ``app``); none when the state is the participant's own. Only signaling sets it."""


_MESSAGES: tuple[type[Message], ...] = (
    Identify,
    Resume,
    Refresh,
    Refreshed,
    Identified,
    Handshake,
    Keepalive,
    KeepaliveAck,
    Leave,
    SfuReady,
    ParticipantJoined,
    ParticipantLeft,
    Error,
    DataMessage,
    TrackState,
)

ACTIONS: dict[str, type[Message]] = {m.action: m for m in _MESSAGES}
"Every known action and its message class (:func:`register_messages` adds more)."


def register_messages(*classes: type[Message]) -> None:
    """Add message classes defined in other modules of this package to :data:`ACTIONS`."""
    for cls in classes:
        if ACTIONS.setdefault(cls.action, cls) is not cls:
            raise ValueError(f"action {cls.action!r} is defined twice")


def parse_message(raw: str | bytes, allowed: frozenset[str] | None = None) -> Message:
    """Decode and validate one message (text or UTF-8 bytes).

    ``allowed`` restricts which actions are acceptable (e.g. what a client may send);
    others raise ``unknown_action``. Raises :class:`ProtocolError` with the error code,
    and nothing else, whatever ``raw`` holds (see :func:`~arbiter_protocol.decode_json`).
    """
    return message_from_dict(decode_json(raw, max_bytes=MAX_MESSAGE_BYTES), allowed)


def peek_action(raw: str | bytes) -> str | None:
    """The ``action`` of a message if it decodes to an object with a string action.

    For route selection (API Gateway's ``$request.body.action``): never raises.
    """
    try:
        data = decode_json(raw, max_bytes=MAX_MESSAGE_BYTES)
    except ProtocolError:
        return None
    action = data.get("action") if isinstance(data, dict) else None
    return action if isinstance(action, str) else None


def message_from_dict(data: Any, allowed: frozenset[str] | None = None) -> Message:
    """Validate already-decoded JSON as a message (see :func:`parse_message`)."""
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.MALFORMED_JSON, "message must be a JSON object")
    action = data.get("action")
    if not isinstance(action, str):
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "field 'action' must be a string")
    cls = ACTIONS.get(action)
    if cls is None or (allowed is not None and action not in allowed):
        shown = action if len(action) <= 64 else action[:61] + "..."
        raise ProtocolError(ErrorCode.UNKNOWN_ACTION, f"unknown action '{shown}'")
    version = data.get("v")
    if type(version) is not int or version != PROTOCOL_VERSION:  # not True, not 1.0
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_VERSION,
            f"protocol version {version!r} is not supported; "
            f"this server speaks v{PROTOCOL_VERSION}",
            action,
        )
    return cls.from_dict(data)


def encode_message(message: Message) -> str:
    """Serialise a message to compact JSON text."""
    return json.dumps(message.to_dict(), separators=(",", ":"))


def error_message(exc: ProtocolError) -> Error:
    """The ``error`` reply for a :class:`ProtocolError`."""
    return Error(code=exc.code.value, message=exc.message, ref=exc.action)
