"""Bodies of the server API (``/v1/...``), shared by the handlers and the server SDK.

Every route needs the deployment's API key in ``x-api-key``; ``docs/server-api.md``
lists them with examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .grants import MAX_GRANT_TTL
from .http import RoomInfo
from .messages import (
    DEFAULT_GRANTS,
    ID_FIELD,
    MAX_METADATA,
    MAX_NAME,
    Grant,
    MediaKind,
    ParticipantInfo,
)
from .moderation import MAX_REASON

__all__ = [
    "Done",
    "GrantRequest",
    "GrantResponse",
    "MAX_WEBHOOK_URL",
    "MuteRequest",
    "ParticipantList",
    "ReasonRequest",
    "RoomList",
    "UpdateParticipantRequest",
    "WebhookConfig",
]

MAX_WEBHOOK_URL = 2048
"Longest webhook URL, in bytes."


@dataclass
class GrantRequest:
    """``POST /v1/grants``: the server mints a grant (what :func:`mint_grant` does locally)."""

    room_id: str = field(metadata=ID_FIELD)
    "The room it opens."
    identity: str = field(metadata=ID_FIELD)
    "The app's id for the user."
    name: str | None = field(default=None, metadata={"max_len": MAX_NAME, "min_len": 1})
    "Display name (default: the identity)."
    grants: list[Grant] = field(default_factory=lambda: list(DEFAULT_GRANTS))
    "What the participant may do."
    ttl: int = field(default=3600, metadata={"min": 1, "max": MAX_GRANT_TTL})
    "Seconds the grant can be used to join."
    metadata: str | None = field(default=None, metadata={"max_len": MAX_METADATA})
    "The app's data about the participant."
    lobby: bool = False
    "Wait in the lobby of a lobby room even with this grant."


@dataclass
class GrantResponse:
    """The minted grant and where to use it."""

    grant: str
    "Pass it to ``Room.join(url, token=...)`` or ``<ArbiterRoom token>``."
    expires_at: int
    "Unix time after which it no longer admits anyone."
    url: str
    "The room URL to join."


@dataclass
class RoomList:
    """``GET /v1/rooms``."""

    rooms: list[RoomInfo]
    "Every room, oldest first (pooled rooms not yet handed out are left out)."


@dataclass
class ParticipantList:
    """``GET /v1/rooms/{room_id}/participants``."""

    participants: list[ParticipantInfo]
    "Who is in the room (not who waits in its lobby)."


@dataclass
class ReasonRequest:
    """Body of ``remove``, ``deny`` and ``close`` (all optional)."""

    reason: str | None = field(default=None, metadata={"max_len": MAX_REASON})
    "Shown to the participants concerned."


@dataclass
class MuteRequest:
    """``POST /v1/rooms/{room_id}/participants/{participant_id}/mute``."""

    kind: MediaKind
    "Which track."
    muted: bool = True
    "True holds it muted; false lifts the lock (the participant may unmute)."


@dataclass
class UpdateParticipantRequest:
    """``PATCH /v1/rooms/{room_id}/participants/{participant_id}``."""

    metadata: str | None = field(default=None, metadata={"max_len": MAX_METADATA})
    "The participant's new app data (none clears it); everyone in the room is told."


@dataclass
class WebhookConfig:
    """``GET`` / ``PUT /v1/webhook``: where events are posted (none: nowhere)."""

    url: str | None = field(default=None, metadata={"max_len": MAX_WEBHOOK_URL})
    "An ``http`` or ``https`` URL."


@dataclass
class Done:
    """The answer of an action that returns nothing else."""

    ok: bool = True
    "Always true (failures are error bodies)."
