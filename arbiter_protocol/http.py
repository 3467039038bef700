"""Bodies of the HTTP Room API (requests and responses), shared by server and clients."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ._codec import from_dict, to_dict
from ._json import decode_json
from .messages import MAX_NAME, Grant, IceServer, ParticipantInfo

__all__ = [
    "CreateRoomRequest",
    "ErrorBody",
    "IceServer",
    "JoinRequest",
    "JoinResponse",
    "RoomInfo",
    "decode_body",
    "encode_body",
]

MAX_BODY_BYTES = 16 * 1024
"Largest HTTP request or response body, in bytes."

B = TypeVar("B")


@dataclass
class JoinRequest:
    """``POST /rooms/{room_id}/join``."""

    name: str = field(default="guest", metadata={"max_len": MAX_NAME, "min_len": 1})
    "Display name."
    grants: list[Grant] | None = field(default=None, metadata={"max_items": 5})
    """Ask for fewer permissions than the default ones (e.g. only 'subscribe' for a viewer);
    never more. With a ``grant``, fewer than the grant's."""
    grant: str | None = field(default=None, metadata={"max_len": 4096, "min_len": 1})
    """A join grant minted by the app's backend (:func:`~arbiter_protocol.mint_grant`):
    needed for a private room; its identity, name, grants and metadata win over ``name``."""


@dataclass
class JoinResponse:
    """What a client needs to enter a room."""

    room_id: str
    "The room."
    participant_id: str
    "The joiner's id."
    token: str
    "Short-lived, single-use, room-scoped token for ``identify``."
    signaling_url: str
    "The WebSocket URL."
    ice_servers: list[IceServer]
    "STUN/TURN servers with short-lived credentials."
    expires_at: int
    "Unix time when the token expires (identify before then)."
    refresh_token: str
    "The session's refresh credential: ``resume`` and ``refresh`` need it; it rotates."
    refresh_expires_at: int
    "Unix time after which ``refresh_token`` no longer works (refresh before then)."
    session_expires_at: int
    "Unix time the session ends: the participant then gets ``session_expired``."
    grants: list[Grant] | None = field(default=None, metadata={"max_items": 5})
    "What this participant may do (from its grant, or the default grants)."
    name: str | None = field(default=None, metadata={"max_len": MAX_NAME})
    "The display name everyone sees (a grant's wins over the name asked for)."


@dataclass
class CreateRoomRequest:
    """``POST /rooms``: with ``room_id`` a named room; without, a ready room from the pool."""

    room_id: str | None = field(default=None, metadata={"max_len": 64, "min_len": 1})
    "The wanted id, or none for a ready room."
    private: bool | None = None
    "Joining needs a grant from the app (default: the deployment's; ``deploy``: private)."
    lobby: bool | None = None
    "Joiners wait until a moderator admits them (those without a grant, or told to)."


@dataclass
class RoomInfo:
    """``GET /rooms/{room_id}`` and the reply to ``POST /rooms``."""

    room_id: str
    "The room."
    participants: list[ParticipantInfo]
    "Who is connected."
    sfu_state: str
    "``none``, ``starting``, ``ready`` or ``stopping``."
    url: str | None = None
    "The room URL to join (on create)."
    private: bool | None = None
    "Whether joining needs a grant (the server API and ``POST /rooms`` say)."
    lobby: bool | None = None
    "Whether joiners wait for admission (the server API and ``POST /rooms`` say)."
    waiting: list[ParticipantInfo] | None = field(default=None, metadata={"max_items": 64})
    "Who waits in the lobby (the server API says)."


@dataclass
class ErrorBody:
    """Body of every HTTP error response: ``{"error": {"code", "message"}}``."""

    code: str
    "An :class:`~arbiter_protocol.ErrorCode` value."
    message: str
    "What was wrong."


def encode_body(body: Any) -> str:
    """Serialise a response body dataclass (errors go under an ``error`` key)."""
    if isinstance(body, ErrorBody):
        return json.dumps({"error": to_dict(body)})
    return json.dumps(to_dict(body))


def decode_body(cls: type[B], raw: str | bytes | None) -> B:
    """Parse and validate a JSON request/response body; an empty body means ``{}``."""
    if raw is None or raw in ("", b""):
        data: Any = {}
    else:
        data = decode_json(raw, max_bytes=MAX_BODY_BYTES, what="body")
    return from_dict(cls, data)
