"""Room lifecycle shared by the Room API, signaling and maintenance handlers."""

from __future__ import annotations

import logging
import secrets

from arbiter_protocol import (
    ALL_GRANTS,
    CreateRoomRequest,
    ErrorCode,
    Grant,
    MediaKind,
    ParticipantInfo,
    ProtocolError,
    is_valid_id,
)

from ..launcher import LaunchError
from ..store import SEAT_ROLES, ConnectionRecord, RoomRecord, SfuClaim, StoreUnavailable
from .services import Services
from .sessions import end_session, start_sfu_session

__all__ = [
    "create_room",
    "ensure_sfu",
    "expire_rooms",
    "grants_of",
    "info_of",
    "locked_of",
    "new_id",
    "participants_of",
    "refill_pool",
    "reset_sfu",
    "restart_lost_sfus",
    "stop_idle_sfus",
]

logger = logging.getLogger(__name__)


def new_id(prefix: str = "") -> str:
    """A random URL-safe id."""
    return prefix + secrets.token_urlsafe(9).replace("-", "x").replace("_", "y")


def participants_of(services: Services, room_id: str) -> list[ParticipantInfo]:
    """Participants currently identified in a room (not those waiting in its lobby)."""
    return [info_of(c) for c in services.store.list_connections(room_id) if c.role in SEAT_ROLES]


def info_of(conn: ConnectionRecord) -> ParticipantInfo:
    """A participant's connection as the protocol shows it to others."""
    return ParticipantInfo(
        id=conn.participant_id or "",
        name=conn.name or "",
        grants=grants_of(conn),
        identity=conn.identity,
        metadata=conn.metadata,
        locked=locked_of(conn.locked) or None,
        hand_raised=conn.hand_raised or None,
    )


def locked_of(locked: str | None) -> list[MediaKind]:
    """The kinds in a comma-separated ``locked`` field, in a fixed order."""
    kinds = (locked or "").split(",")
    return [k for k in ("audio", "video") if k in kinds]


def grants_of(conn: ConnectionRecord) -> list[Grant] | None:
    """A connection's grants as the protocol lists them (None: all)."""
    if conn.grants is None:
        return None
    return [g for g in ALL_GRANTS if g in conn.grants.split(",")]


def ensure_sfu(services: Services, room: RoomRecord, address: str | None = None) -> RoomRecord:
    """Make sure ``room`` has an SFU starting or ready; start one if it has none.

    ``address`` is the client address whose request needs it (None: the service itself).
    The state moves ``none -> starting`` with the caps checked in the same atomic step
    (:meth:`~arbiter_server.store.Store.claim_sfu`), so two concurrent callers cannot both
    start one and no burst of requests gets past ``max_sfus`` or ``max_sfus_per_address``.
    The SFU gets a single-use bootstrap code, valid ``sfu_bootstrap_ttl`` seconds.
    """
    if room.sfu_state in ("starting", "ready"):
        return room
    store, settings = services.store, services.settings
    sfu_id = new_id("sfu-")
    claim = store.claim_sfu(
        room.room_id,
        sfu_id,
        services.clock(),
        address,
        settings.max_sfus,
        settings.max_sfus_per_address,
    )
    if claim is SfuClaim.NO_ROOM:
        raise ProtocolError(ErrorCode.ROOM_NOT_FOUND, f"room '{room.room_id}' does not exist")
    if claim is SfuClaim.DEPLOYMENT_FULL:
        raise ProtocolError(
            ErrorCode.SFU_UNAVAILABLE,
            f"this deployment runs as many rooms as it may ({settings.max_sfus}); try again later",
        )
    if claim is SfuClaim.ADDRESS_FULL:
        raise ProtocolError(
            ErrorCode.RATE_LIMITED,
            f"requests from your address have started {settings.max_sfus_per_address} rooms "
            "that are still running; try again when one has ended",
        )
    if claim is SfuClaim.BUSY:
        fresh = store.get_room(room.room_id)
        if fresh is None:
            raise ProtocolError(ErrorCode.ROOM_NOT_FOUND, f"room '{room.room_id}' does not exist")
        if fresh.sfu_state in ("starting", "ready"):
            return fresh
        raise ProtocolError(
            ErrorCode.SFU_UNAVAILABLE,
            f"room '{room.room_id}' is stopping its SFU; try again in a moment",
        )
    bootstrap = start_sfu_session(services, room.room_id, sfu_id)
    try:
        handle = services.launcher.start(room.room_id, bootstrap)
    except LaunchError as exc:
        logger.error("%s", exc)
        store.release_sfu(room.room_id, sfu_id, services.clock())
        end_session(services, sfu_id)
        raise ProtocolError(
            ErrorCode.SFU_UNAVAILABLE, "the room's SFU could not be started"
        ) from exc
    store.update_room(room.room_id, expect_sfu_id=sfu_id, sfu_handle=handle)
    return store.get_room(room.room_id) or room


def reset_sfu(services: Services, room: RoomRecord, reason: str) -> None:
    """Stop the room's SFU (if any), end its session and mark the room as having none."""
    logger.info("stopping SFU of room %s: %s", room.room_id, reason)
    if not services.store.update_room(
        room.room_id,
        expect_sfu_id=room.sfu_id,
        sfu_state="stopping",
        sfu_changed_at=services.clock(),
    ):
        return
    end_session(services, room.sfu_id)
    if room.sfu_handle:
        services.launcher.stop(room.sfu_handle)
    if room.sfu_connection_id:
        services.poster.close_connection(room.sfu_connection_id)
    services.store.release_sfu(room.room_id, room.sfu_id, services.clock())


def refill_pool(services: Services) -> list[str]:
    """Create ready rooms until the pool holds ``settings.pool_size``; return the new ids."""
    pooled = [r for r in services.store.list_rooms() if r.pooled]
    made: list[str] = []
    for _ in range(services.settings.pool_size - len(pooled)):
        room = RoomRecord(
            room_id=new_id(),
            created_at=services.clock(),
            pooled=True,
            private=services.settings.private_rooms,
        )
        if services.store.create_room(room):
            try:
                ensure_sfu(services, room)
            except ProtocolError:
                services.store.delete_room(room.room_id)
                break
            made.append(room.room_id)
    return made


def restart_lost_sfus(services: Services) -> list[str]:
    """Start a new SFU for every room that has participants but no SFU (it died).

    When the new SFU identifies, every participant gets ``sfu_ready`` and publishes again.
    """
    restarted: list[str] = []
    for room in services.store.list_rooms():
        if room.sfu_state == "none" and participants_of(services, room.room_id):
            try:
                ensure_sfu(services, room)
            except ProtocolError as exc:
                logger.error("room %s: cannot restart its SFU: %s", room.room_id, exc.message)
                continue
            # its participants are in the room already: nobody is waiting to identify
            services.store.update_room(room.room_id, empty_since=None, waiting_since=None)
            restarted.append(room.room_id)
    return restarted


def stop_idle_sfus(services: Services) -> list[str]:
    """Stop SFUs of rooms nobody uses, and SFUs that died or never came.

    Stopped: an SFU whose process is gone; one that did not identify within
    ``sfu_start_timeout``; one started for joiners none of whom identified within
    ``identify_timeout``; one whose room has been empty for ``empty_room_grace``. Pooled
    rooms keep their SFUs. Returns the ids of rooms whose SFU was stopped.
    """
    now = services.clock()
    settings = services.settings
    stopped: list[str] = []
    for room in services.store.list_rooms():
        if room.sfu_state not in ("starting", "ready"):
            continue
        reason = None
        if room.sfu_handle and not services.launcher.is_alive(room.sfu_handle):
            reason = "the SFU process is gone"
        elif (
            room.sfu_state == "starting"
            and now - (room.sfu_changed_at or now) > settings.sfu_start_timeout
        ):
            reason = "the SFU did not identify in time"
        elif room.pooled or participants_of(services, room.room_id):
            continue
        elif (
            room.waiting_since is not None and now - room.waiting_since > settings.identify_timeout
        ):
            reason = f"none of its joiners identified within {settings.identify_timeout:g} s"
        elif room.empty_since is not None and now - room.empty_since > settings.empty_room_grace:
            reason = "the room has been empty"
        if reason is not None:
            reset_sfu(services, room, reason)
            stopped.append(room.room_id)
    return stopped


def expire_rooms(services: Services) -> list[str]:
    """Delete rooms that have had neither participants nor an SFU for ``room_idle_ttl``.

    Named rooms and the dev demo room included; pooled rooms are the pool's. Returns the
    ids of the rooms deleted.
    """
    now = services.clock()
    expired: list[str] = []
    for room in services.store.list_rooms():
        since = room.empty_since
        if (
            room.pooled
            or room.sfu_state != "none"
            or since is None
            or now - since <= services.settings.room_idle_ttl
        ):
            continue
        if services.store.expire_room(room.room_id, since):
            logger.info("room %s expired after %.0f s without anyone", room.room_id, now - since)
            expired.append(room.room_id)
    return expired


def create_room(services: Services, request: CreateRoomRequest, client: str | None) -> RoomRecord:
    """Create the named room (or hand out a pooled one), its SFU started; private as
    ``request`` says, else as the deployment's ``private_rooms``."""
    store = services.store
    private = request.private if request.private is not None else services.settings.private_rooms
    lobby = bool(request.lobby)
    if request.room_id is not None:
        if not is_valid_id(request.room_id):
            raise ProtocolError(
                ErrorCode.INVALID_MESSAGE, "room_id must be 1-64 characters of A-Z a-z 0-9 _ -"
            )
        room = RoomRecord(
            room_id=request.room_id,
            created_at=services.clock(),
            empty_since=services.clock(),
            private=private,
            lobby=lobby,
        )
        if not store.create_room(room):
            raise ProtocolError(ErrorCode.ROOM_EXISTS, f"room '{request.room_id}' exists already")
        return _ensure_sfu_or_forget(services, room, client)
    taken = store.take_pooled_room()
    if taken is None:
        room = RoomRecord(
            room_id=new_id(),
            created_at=services.clock(),
            empty_since=services.clock(),
            private=private,
            lobby=lobby,
        )
        store.create_room(room)
        room = _ensure_sfu_or_forget(services, room, client)
    else:
        now = services.clock()
        store.update_room(
            taken.room_id, empty_since=now, waiting_since=now, private=private, lobby=lobby
        )
        taken.private, taken.lobby = private, lobby
        room = taken
    refill_pool(services)
    return room


def _ensure_sfu_or_forget(services: Services, room: RoomRecord, address: str | None) -> RoomRecord:
    """Start a new room's SFU; if the store fails meanwhile, the room is not kept either
    (the caller gets 503 and may simply try again)."""
    try:
        return ensure_sfu(services, room, address)
    except StoreUnavailable:
        try:
            services.store.delete_room(room.room_id)
        except StoreUnavailable:
            logger.error("room %s is left without an SFU: the store fails", room.room_id)
        raise
