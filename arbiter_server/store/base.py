"""The store interface: rooms and signaling connections, whatever holds them."""

from __future__ import annotations

import abc
from dataclasses import dataclass, fields
from typing import Literal

__all__ = [
    "ConnectionRecord",
    "Role",
    "RoomRecord",
    "SfuState",
    "Store",
    "StoreUnavailable",
    "check_room_changes",
]

SfuState = Literal["none", "starting", "ready", "stopping"]
Role = Literal["pending", "participant", "away", "sfu"]
"""``pending`` until identified; ``away``: a participant whose socket dropped, kept for the
reconnect grace period."""


@dataclass
class RoomRecord:
    """One room and the state of its SFU."""

    room_id: str
    created_at: float
    pooled: bool = False
    "Waiting in the ready pool, not yet handed out."
    sfu_state: SfuState = "none"
    sfu_id: str | None = None
    "The SFU instance allowed to identify for this room."
    sfu_handle: str | None = None
    "The launcher's handle (process id, task ARN)."
    sfu_connection_id: str | None = None
    sfu_changed_at: float | None = None
    "When ``sfu_state`` last changed."
    empty_since: float | None = None
    "When the last participant left (or the room was made); None while occupied."


@dataclass
class ConnectionRecord:
    """One signaling WebSocket connection."""

    connection_id: str
    connected_at: float
    role: Role = "pending"
    room_id: str | None = None
    participant_id: str | None = None
    name: str | None = None
    rate_window: float = 0.0
    "Start of the current rate-limit window (see :meth:`Store.count_message`)."
    rate_count: int = 0
    "Messages counted in the current window."
    away_since: float | None = None
    "When an ``away`` participant's socket dropped."
    grants: str | None = None
    "A participant's grants, comma-separated (from its join token)."


class StoreUnavailable(RuntimeError):
    """The store cannot serve the request now; nothing was changed by it.

    ``reason`` is ``busy`` (another writer held the lock past the store's timeout) or
    ``full`` (no room left to write). Handlers answer it with HTTP 503 /
    ``store_unavailable``.
    """

    def __init__(self, reason: Literal["busy", "full"], message: str) -> None:
        super().__init__(message)
        self.reason = reason
        "``busy`` or ``full``."


_ROOM_FIELDS = frozenset(f.name for f in fields(RoomRecord)) - {"room_id"}


def check_room_changes(changes: dict[str, object]) -> None:
    """Refuse an ``update_room`` that names a field rooms do not have (or the key)."""
    for key in changes:
        if key not in _ROOM_FIELDS:
            raise KeyError(f"no room field {key!r}")


class Store(abc.ABC):
    """Rooms and connections. Implementations must be safe for concurrent callers."""

    # rooms
    @abc.abstractmethod
    def create_room(self, room: RoomRecord) -> bool:
        """Insert ``room``; False (and no change) if a room with that id exists."""

    @abc.abstractmethod
    def get_room(self, room_id: str) -> RoomRecord | None:
        """The room, or None."""

    @abc.abstractmethod
    def list_rooms(self) -> list[RoomRecord]:
        """Every room."""

    @abc.abstractmethod
    def update_room(
        self,
        room_id: str,
        expect_sfu_state: tuple[SfuState, ...] | None = None,
        expect_sfu_id: str | None = None,
        **changes: object,
    ) -> bool:
        """Apply ``changes`` if the room exists and (when given) its SFU state is one of
        ``expect_sfu_state`` and its ``sfu_id`` is ``expect_sfu_id``. True if applied."""

    @abc.abstractmethod
    def take_pooled_room(self) -> RoomRecord | None:
        """Atomically hand out one pooled room whose SFU is ready (or starting)."""

    @abc.abstractmethod
    def delete_room(self, room_id: str) -> None:
        """Forget a room."""

    # connections
    @abc.abstractmethod
    def put_connection(self, conn: ConnectionRecord) -> None:
        """Insert or replace a connection."""

    @abc.abstractmethod
    def get_connection(self, connection_id: str) -> ConnectionRecord | None:
        """The connection, or None."""

    @abc.abstractmethod
    def delete_connection(self, connection_id: str) -> ConnectionRecord | None:
        """Remove a connection and return what it was (None if unknown)."""

    @abc.abstractmethod
    def list_connections(self, room_id: str, role: Role | None = None) -> list[ConnectionRecord]:
        """Connections identified in ``room_id`` (optionally only one role)."""

    @abc.abstractmethod
    def count_message(self, connection_id: str, now: float, window: float) -> int:
        """Count one message from ``connection_id`` in a fixed window of ``window`` seconds
        (a new window starts when the current one is older than ``window``) and return the
        count so far in this window, atomically. 0 if the connection is unknown."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""
