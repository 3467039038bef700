"""The store interface: rooms, signaling connections, sessions and rate limits.

Seats: a room's seats are held by its connections whose role is ``participant`` or
``away``; :meth:`Store.admit_participant` is the one place a participant takes a seat, and it
checks the cap atomically. SFU slots: a room holds one from the moment its SFU starts
(``sfu_state`` leaves ``none``) until :meth:`Store.release_sfu`; :meth:`Store.claim_sfu`
checks the deployment's and the starting address's caps atomically.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Literal

__all__ = [
    "SEAT_ROLES",
    "Admission",
    "ConnectionRecord",
    "Role",
    "RoomRecord",
    "SessionRecord",
    "SfuClaim",
    "SfuState",
    "Store",
    "StoreUnavailable",
    "check_changes",
    "check_room_changes",
    "check_session_changes",
    "gcra",
]

SfuState = Literal["none", "starting", "ready", "stopping"]
Role = Literal["pending", "participant", "away", "sfu", "waiting"]
"""``pending`` until identified; ``away``: a participant whose socket dropped, kept for the
reconnect grace period; ``waiting``: identified, in the room's lobby (no seat, hears
nothing of the room) until a moderator admits it."""

SEAT_ROLES: tuple[Role, ...] = ("participant", "away")
"Roles that hold one of the room's seats."


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
    sfu_started_by: str | None = None
    "The client address whose request started the current SFU (None: the service itself)."
    waiting_since: float | None = None
    "When an SFU was started for joiners none of whom has identified yet."
    private: bool = False
    "Joining needs a grant minted by the app's backend."
    lobby: bool = False
    "Joiners without a grant (or whose grant says so) wait for a moderator to admit them."
    sfu_since: float | None = None
    """When the room's current SFU instance first identified (a resume on a new socket does
    not change it): participants away since before then missed its ``sfu_ready``."""


@dataclass
class ConnectionRecord:
    """One signaling WebSocket connection."""

    connection_id: str
    connected_at: float
    role: Role = "pending"
    room_id: str | None = None
    participant_id: str | None = None
    name: str | None = None
    away_since: float | None = None
    "When an ``away`` participant's socket dropped."
    grants: str | None = None
    "A participant's grants, comma-separated (from its join token)."
    session_id: str | None = None
    "The session this connection belongs to (participant id, or SFU id)."
    session_ends_at: float | None = None
    "When that session ends (participants); the connection is then closed."
    hand_raised: bool = False
    "True while the participant's hand is raised (``update_participant``)."
    identity: str | None = None
    "The app's id for the user (from its grant)."
    metadata: str | None = None
    "The app's data about the participant."
    locked: str | None = None
    "Kinds a moderator holds muted, comma-separated (``audio``, ``video``)."
    awaits_sfu: bool = False
    """A participant told that the room's SFU is not ready (or whose handshake found it
    gone): it is owed ``sfu_ready`` when the SFU is back."""


@dataclass
class SessionRecord:
    """Who holds a participant (or an SFU instance): what admits it and what resumes it."""

    session_id: str
    "The participant id, or the SFU id."
    room_id: str
    role: Literal["participant", "sfu"]
    created_at: float
    refresh_expires_at: float
    "When the current refresh credential stops working (or, before any, the token)."
    name: str = ""
    grants: str | None = None
    "Comma-separated grants (participants)."
    ends_at: float | None = None
    "When the session ends for good (participants); None: when its SFU is replaced."
    refresh_digest: str | None = None
    "SHA-256 of the current refresh credential's secret part; None before it has one."
    token_id: str | None = None
    "The ``jti`` of the one unused token that may still ``identify``; None once used."
    hand_raised: bool = False
    "True while the participant's hand is raised (kept across resumes, as ``name``)."
    identity: str | None = None
    "The app's id for the user (from its grant)."
    metadata: str | None = None
    "The app's data about the participant (its grant's, or set by the server API)."
    locked: str | None = None
    "Kinds a moderator holds muted, comma-separated; kept across resumes."
    lobby: bool = False
    "It waits in the lobby at identify until a moderator admits it (then false)."


class Admission(enum.Enum):
    """The answer of :meth:`Store.admit_participant`."""

    SEATED = "seated"
    "The connection took a free seat."
    TOOK_OVER = "took_over"
    "The connection replaced the participant's previous one and took over its seat."
    FULL = "full"
    "Every seat is held: nothing changed."


class SfuClaim(enum.Enum):
    """The answer of :meth:`Store.claim_sfu`."""

    CLAIMED = "claimed"
    "The room's SFU state moved from ``none`` to ``starting``: start it."
    BUSY = "busy"
    "The room has an SFU (or another caller just claimed it)."
    DEPLOYMENT_FULL = "deployment_full"
    "The deployment runs as many SFUs as it may."
    ADDRESS_FULL = "address_full"
    "The requesting address has started as many running SFUs as it may."
    NO_ROOM = "no_room"
    "The room does not exist."


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
_SESSION_FIELDS = frozenset(f.name for f in fields(SessionRecord)) - {"session_id"}


def check_room_changes(changes: Mapping[str, object]) -> None:
    """Refuse an ``update_room`` that names a field rooms do not have (or the key)."""
    check_changes(changes, _ROOM_FIELDS, "room")


def check_changes(changes: Mapping[str, object], allowed: frozenset[str], what: str) -> None:
    """Refuse a change that names a field the record does not have (or its key)."""
    for key in changes:
        if key not in allowed:
            raise KeyError(f"no {what} field {key!r}")


def check_session_changes(changes: Mapping[str, object]) -> None:
    """Refuse an ``update_session`` naming a field sessions do not have (or the key)."""
    check_changes(changes, _SESSION_FIELDS, "session")


def gcra(tat: float | None, now: float, capacity: int, window: float) -> tuple[bool, float | None]:
    """One step of the generic cell rate algorithm (a token bucket in one number).

    ``capacity`` requests per ``window`` seconds, in bursts of up to ``capacity``. ``tat``
    is the stored theoretical arrival time (None: never used). Returns whether this request
    is allowed and the new ``tat`` to store (None: leave it).
    """
    interval = window / capacity
    tolerance = window - interval
    start = now if tat is None or tat < now else tat
    if start - now > tolerance:
        return False, None
    return True, start + interval


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
        expect_occupied: bool = False,
        **changes: object,
    ) -> bool:
        """Apply ``changes`` if the room exists and (when given) its SFU state is one of
        ``expect_sfu_state`` and its ``sfu_id`` is ``expect_sfu_id`` (and, with
        ``expect_occupied``, its ``empty_since`` is unset). True if applied."""

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
    def admit_participant(
        self, conn: ConnectionRecord, max_seats: int, replace: str | None = None
    ) -> Admission:
        """Make ``conn`` (role ``participant``) present in its room, atomically.

        If ``replace`` names a connection that still exists, it is removed and its seat
        passes to ``conn`` (a resume); otherwise ``conn`` takes a new seat, and nothing
        changes (``FULL``) when the room's ``max_seats`` seats are all held.
        """

    # rate limits
    @abc.abstractmethod
    def allow(self, key: str, now: float, capacity: int, window: float) -> bool:
        """Count one request of ``key`` against ``capacity`` per ``window`` seconds.

        A token bucket (see :func:`gcra`), atomic, kept in its own item with a TTL, so no
        other write resets it. False (and nothing counted) when the bucket is empty.
        """

    # sessions
    @abc.abstractmethod
    def create_session(self, session: SessionRecord) -> bool:
        """Insert ``session``; False (and no change) if one with that id exists."""

    @abc.abstractmethod
    def get_session(self, session_id: str) -> SessionRecord | None:
        """The session, or None."""

    @abc.abstractmethod
    def update_session(
        self, session_id: str, expect: Mapping[str, object], **changes: object
    ) -> bool:
        """Apply ``changes`` if the session exists and each field in ``expect`` has that
        value (None: the field is unset). True if applied."""

    @abc.abstractmethod
    def delete_session(self, session_id: str) -> None:
        """Forget a session (its credentials stop working)."""

    # SFU slots
    @abc.abstractmethod
    def claim_sfu(
        self,
        room_id: str,
        sfu_id: str,
        now: float,
        address: str | None,
        max_total: int,
        max_per_address: int,
    ) -> SfuClaim:
        """Move the room's SFU state from ``none`` to ``starting`` for ``sfu_id``, atomically
        with the caps: at most ``max_total`` rooms with an SFU, and at most
        ``max_per_address`` whose SFU ``address`` started (no per-address cap for None).

        Sets ``sfu_id``, ``sfu_changed_at`` and ``sfu_started_by`` and clears the handle and
        connection; ``empty_since`` and ``waiting_since`` become ``now``.
        """

    @abc.abstractmethod
    def release_sfu(self, room_id: str, sfu_id: str | None, now: float) -> bool:
        """Move the room's SFU state to ``none`` if its SFU is still ``sfu_id``, freeing its
        slot. True if released."""

    @abc.abstractmethod
    def expire_room(self, room_id: str, empty_since: float) -> bool:
        """Delete the room if it has no SFU and is still empty since ``empty_since``."""

    # deployment configuration set at run time (the webhook URL)
    @abc.abstractmethod
    def get_config(self, key: str) -> str | None:
        """A configuration value set with :meth:`put_config`, or None."""

    @abc.abstractmethod
    def put_config(self, key: str, value: str | None) -> None:
        """Set (or, with None, forget) a configuration value."""

    def sweep(self, now: float) -> None:  # noqa: B027 - optional hook
        """Forget expired items and repair derived counts (maintenance calls it)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""
