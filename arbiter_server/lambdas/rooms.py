"""Room lifecycle shared by the Room API, signaling and maintenance handlers."""

from __future__ import annotations

import logging
import secrets

from arbiter_protocol import ALL_GRANTS, ErrorCode, Grant, ParticipantInfo, ProtocolError

from ..auth import issue_sfu_token
from ..launcher import LaunchError
from ..store import ConnectionRecord, RoomRecord
from .services import Services

__all__ = [
    "ensure_sfu",
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
    """Participants currently identified in a room."""
    return [
        ParticipantInfo(id=c.participant_id or "", name=c.name or "", grants=grants_of(c))
        for c in services.store.list_connections(room_id)
        if c.role in ("participant", "away")
    ]


def grants_of(conn: ConnectionRecord) -> list[Grant] | None:
    """A connection's grants as the protocol lists them (None: all)."""
    if conn.grants is None:
        return None
    return [g for g in ALL_GRANTS if g in conn.grants.split(",")]


def ensure_sfu(services: Services, room: RoomRecord) -> RoomRecord:
    """Make sure ``room`` has an SFU starting or ready; start one if it has none.

    Two concurrent callers cannot both start one: the state moves ``none -> starting``
    with a conditional write, and only the winner launches.
    """
    if room.sfu_state in ("starting", "ready"):
        return room
    store, settings = services.store, services.settings
    sfu_id = new_id("sfu-")
    now = services.clock()
    if not store.update_room(
        room.room_id,
        expect_sfu_state=("none",),
        sfu_state="starting",
        sfu_id=sfu_id,
        sfu_handle=None,
        sfu_connection_id=None,
        sfu_changed_at=now,
    ):
        fresh = store.get_room(room.room_id)
        if fresh is None:
            raise ProtocolError(ErrorCode.ROOM_NOT_FOUND, f"room '{room.room_id}' does not exist")
        if fresh.sfu_state in ("starting", "ready"):
            return fresh
        raise ProtocolError(
            ErrorCode.SFU_UNAVAILABLE,
            f"room '{room.room_id}' is stopping its SFU; try again in a moment",
        )
    token, _ = issue_sfu_token(settings.secret, room.room_id, sfu_id, settings.sfu_token_ttl, now)
    try:
        handle = services.launcher.start(room.room_id, token)
    except LaunchError as exc:
        logger.error("%s", exc)
        store.update_room(
            room.room_id,
            expect_sfu_id=sfu_id,
            sfu_state="none",
            sfu_id=None,
            sfu_changed_at=services.clock(),
        )
        raise ProtocolError(
            ErrorCode.SFU_UNAVAILABLE, "the room's SFU could not be started"
        ) from exc
    store.update_room(room.room_id, expect_sfu_id=sfu_id, sfu_handle=handle)
    return store.get_room(room.room_id) or room


def reset_sfu(services: Services, room: RoomRecord, reason: str) -> None:
    """Stop the room's SFU (if any) and mark the room as having none."""
    logger.info("stopping SFU of room %s: %s", room.room_id, reason)
    if not services.store.update_room(
        room.room_id,
        expect_sfu_id=room.sfu_id,
        sfu_state="stopping",
        sfu_changed_at=services.clock(),
    ):
        return
    if room.sfu_handle:
        services.launcher.stop(room.sfu_handle)
    if room.sfu_connection_id:
        services.poster.close_connection(room.sfu_connection_id)
    services.store.update_room(
        room.room_id,
        expect_sfu_id=room.sfu_id,
        sfu_state="none",
        sfu_id=None,
        sfu_handle=None,
        sfu_connection_id=None,
        sfu_changed_at=services.clock(),
    )


def refill_pool(services: Services) -> list[str]:
    """Create ready rooms until the pool holds ``settings.pool_size``; return the new ids."""
    pooled = [r for r in services.store.list_rooms() if r.pooled]
    made: list[str] = []
    for _ in range(services.settings.pool_size - len(pooled)):
        room = RoomRecord(room_id=new_id(), created_at=services.clock(), pooled=True)
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
            restarted.append(room.room_id)
    return restarted


def stop_idle_sfus(services: Services) -> list[str]:
    """Stop SFUs of rooms empty past the grace period, and of SFUs that died or never came.

    Pooled rooms keep their SFUs. Returns the ids of rooms whose SFU was stopped.
    """
    now = services.clock()
    settings = services.settings
    stopped: list[str] = []
    for room in services.store.list_rooms():
        if room.sfu_state not in ("starting", "ready"):
            continue
        if room.sfu_handle and not services.launcher.is_alive(room.sfu_handle):
            reset_sfu(services, room, "the SFU process is gone")
            stopped.append(room.room_id)
        elif (
            room.sfu_state == "starting"
            and now - (room.sfu_changed_at or now) > settings.sfu_start_timeout
        ):
            reset_sfu(services, room, "the SFU did not identify in time")
            stopped.append(room.room_id)
        elif (
            not room.pooled
            and room.empty_since is not None
            and now - room.empty_since > settings.empty_room_grace
            and not participants_of(services, room.room_id)
        ):
            reset_sfu(services, room, "the room has been empty")
            stopped.append(room.room_id)
    return stopped
