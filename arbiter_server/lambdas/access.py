"""Who may join a room, and as what: the join grant the app minted, or a plain join.

A private room admits only joins carrying a grant for that room (``POST /rooms/{id}/join``
with ``{"grant": ...}``), signed with the deployment's API key and not expired; the grant
decides the participant's identity, name, grants and metadata. An open room also takes
plain joins, which get the default grants (never ``moderator``). In a room with a lobby,
plain joins (even of a private room) and grants that say ``lobby`` wait for a moderator.
"""

from __future__ import annotations

from dataclasses import dataclass

from arbiter_protocol import (
    DEFAULT_GRANTS,
    ErrorCode,
    Grant,
    JoinRequest,
    ProtocolError,
    read_grant,
)

from ..store import RoomRecord
from .services import Services

__all__ = ["Entry", "entry_for"]


@dataclass(frozen=True)
class Entry:
    """What a join makes of the participant."""

    name: str
    "Display name."
    grants: tuple[Grant, ...]
    "What it may do."
    identity: str | None = None
    "The app's id for the user (grant joins)."
    metadata: str | None = None
    "The app's data about it (grant joins)."
    lobby: bool = False
    "It waits in the lobby until a moderator admits it."


def entry_for(services: Services, room: RoomRecord, request: JoinRequest) -> Entry:
    """Check a join request against the room; raise ``unauthorized``/``forbidden`` if refused.

    ``request.grants`` can only narrow what the join gets.
    """
    wanted = set(request.grants) if request.grants is not None else None
    if request.grant is not None:
        grant = read_grant(request.grant, services.settings.api_key or "", now=services.clock())
        if grant.room_id != room.room_id:
            raise ProtocolError(
                ErrorCode.UNAUTHORIZED,
                f"this grant is for room '{grant.room_id}', not '{room.room_id}'",
            )
        grants = tuple(g for g in grant.grants if wanted is None or g in wanted)
        return Entry(
            name=grant.name,
            grants=grants,
            identity=grant.identity,
            metadata=grant.metadata,
            lobby=room.lobby and grant.lobby and "moderator" not in grants,
        )
    if wanted is not None and "moderator" in wanted:
        raise ProtocolError(
            ErrorCode.FORBIDDEN, "only a grant minted by the app's backend can hold 'moderator'"
        )
    if room.private and not room.lobby:
        raise ProtocolError(
            ErrorCode.FORBIDDEN,
            f"room '{room.room_id}' is private: join with a grant minted by the app's backend "
            '({"grant": ...}; see docs/embedding.md)',
        )
    grants = tuple(g for g in DEFAULT_GRANTS if wanted is None or g in wanted)
    return Entry(name=request.name, grants=grants, lobby=room.lobby)
