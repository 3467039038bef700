"""SQLite store: one real file in WAL mode, safe for threads and processes at once."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import astuple, fields
from pathlib import Path
from typing import Any

from .base import (
    ConnectionRecord,
    Role,
    RoomRecord,
    SfuState,
    Store,
    StoreUnavailable,
    check_room_changes,
)

__all__ = ["SQLiteStore"]

_ROOM_COLUMNS = [f.name for f in fields(RoomRecord)]
_CONN_COLUMNS = [f.name for f in fields(ConnectionRecord)]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    room_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    pooled INTEGER NOT NULL DEFAULT 0,
    sfu_state TEXT NOT NULL DEFAULT 'none',
    sfu_id TEXT,
    sfu_handle TEXT,
    sfu_connection_id TEXT,
    sfu_changed_at REAL,
    empty_since REAL
);
CREATE TABLE IF NOT EXISTS connections (
    connection_id TEXT PRIMARY KEY,
    connected_at REAL NOT NULL,
    role TEXT NOT NULL DEFAULT 'pending',
    room_id TEXT,
    participant_id TEXT,
    name TEXT,
    rate_window REAL NOT NULL DEFAULT 0,
    rate_count INTEGER NOT NULL DEFAULT 0,
    away_since REAL,
    grants TEXT
);
CREATE INDEX IF NOT EXISTS connections_room ON connections (room_id, role);
"""


class SQLiteStore(Store):
    """Store in a SQLite file; one connection per thread, writes in IMMEDIATE transactions.

    A write that waits more than ``busy_timeout`` seconds for another writer's lock, or that
    finds the file full (the disk, or ``max_pages`` pages), raises
    :class:`~.base.StoreUnavailable` and changes nothing.
    """

    def __init__(
        self, path: str | Path, *, busy_timeout: float = 10.0, max_pages: int | None = None
    ) -> None:
        self.path = str(path)
        self.busy_timeout = busy_timeout
        self.max_pages = max_pages
        "Largest size of the file in pages (SQLite's ``max_page_count``); None: no limit."
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._db().executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            if self.max_pages is not None:
                db.execute(f"PRAGMA max_page_count={int(self.max_pages)}")
            db.row_factory = sqlite3.Row
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    def _tx(self) -> _Transaction:
        return _Transaction(self._db())

    # rooms
    def create_room(self, room: RoomRecord) -> bool:
        cols = ", ".join(_ROOM_COLUMNS)
        marks = ", ".join("?" for _ in _ROOM_COLUMNS)
        with self._tx() as db:
            cur = db.execute(
                f"INSERT OR IGNORE INTO rooms ({cols}) VALUES ({marks})", astuple(room)
            )
            return cur.rowcount == 1

    def get_room(self, room_id: str) -> RoomRecord | None:
        row = self._db().execute("SELECT * FROM rooms WHERE room_id = ?", (room_id,)).fetchone()
        return _room(row) if row else None

    def list_rooms(self) -> list[RoomRecord]:
        rows = self._db().execute("SELECT * FROM rooms ORDER BY created_at").fetchall()
        return [_room(r) for r in rows]

    def update_room(
        self,
        room_id: str,
        expect_sfu_state: tuple[SfuState, ...] | None = None,
        expect_sfu_id: str | None = None,
        **changes: object,
    ) -> bool:
        check_room_changes(changes)
        sets = ", ".join(f"{k} = ?" for k in changes)
        where = "room_id = ?"
        args: list[Any] = [*changes.values(), room_id]
        if expect_sfu_state is not None:
            where += f" AND sfu_state IN ({', '.join('?' for _ in expect_sfu_state)})"
            args.extend(expect_sfu_state)
        if expect_sfu_id is not None:
            where += " AND sfu_id = ?"
            args.append(expect_sfu_id)
        with self._tx() as db:
            cur = db.execute(f"UPDATE rooms SET {sets} WHERE {where}", args)
            return cur.rowcount == 1

    def take_pooled_room(self) -> RoomRecord | None:
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM rooms WHERE pooled = 1 AND sfu_state IN ('ready', 'starting') "
                "ORDER BY sfu_state = 'ready' DESC, created_at LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE rooms SET pooled = 0 WHERE room_id = ?", (row["room_id"],))
            room = _room(row)
            room.pooled = False
            return room

    def delete_room(self, room_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM rooms WHERE room_id = ?", (room_id,))

    # connections
    def put_connection(self, conn: ConnectionRecord) -> None:
        cols = ", ".join(_CONN_COLUMNS)
        marks = ", ".join("?" for _ in _CONN_COLUMNS)
        with self._tx() as db:
            db.execute(
                f"INSERT OR REPLACE INTO connections ({cols}) VALUES ({marks})", astuple(conn)
            )

    def get_connection(self, connection_id: str) -> ConnectionRecord | None:
        row = (
            self._db()
            .execute("SELECT * FROM connections WHERE connection_id = ?", (connection_id,))
            .fetchone()
        )
        return _conn(row) if row else None

    def delete_connection(self, connection_id: str) -> ConnectionRecord | None:
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM connections WHERE connection_id = ?", (connection_id,)
            ).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM connections WHERE connection_id = ?", (connection_id,))
            return _conn(row)

    def list_connections(self, room_id: str, role: Role | None = None) -> list[ConnectionRecord]:
        if role is None:
            rows = (
                self._db()
                .execute(
                    "SELECT * FROM connections WHERE room_id = ? AND role != 'pending' "
                    "ORDER BY connected_at",
                    (room_id,),
                )
                .fetchall()
            )
        else:
            rows = (
                self._db()
                .execute(
                    "SELECT * FROM connections WHERE room_id = ? AND role = ? "
                    "ORDER BY connected_at",
                    (room_id, role),
                )
                .fetchall()
            )
        return [_conn(r) for r in rows]

    def clear_connections(self) -> None:
        """Forget every connection (the sockets of an earlier local run are gone)."""
        with self._tx() as db:
            db.execute("DELETE FROM connections")

    def count_message(self, connection_id: str, now: float, window: float) -> int:
        with self._tx() as db:
            row = db.execute(
                "UPDATE connections SET "
                "rate_count = CASE WHEN ? - rate_window > ? THEN 1 ELSE rate_count + 1 END, "
                "rate_window = CASE WHEN ? - rate_window > ? THEN ? ELSE rate_window END "
                "WHERE connection_id = ? RETURNING rate_count",
                (now, window, now, window, now, connection_id),
            ).fetchone()
            return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.close()
            self._all.clear()


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on error).

    A locked or full database surfaces as :class:`StoreUnavailable`, after the rollback.
    """

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _unavailable(exc) or exc from exc
        return self.db

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        failed_commit: sqlite3.OperationalError | None = None
        if exc is None:
            try:
                self.db.execute("COMMIT")
                return
            except sqlite3.OperationalError as commit_exc:
                exc = failed_commit = commit_exc
        if self.db.in_transaction:  # SQLite rolls some failures back by itself
            self.db.execute("ROLLBACK")
        unavailable = _unavailable(exc) if isinstance(exc, sqlite3.OperationalError) else None
        if unavailable is not None:
            raise unavailable from exc
        if failed_commit is not None:
            raise failed_commit


def _unavailable(exc: sqlite3.OperationalError) -> StoreUnavailable | None:
    """The :class:`StoreUnavailable` for a locked or full database, else None."""
    name = getattr(exc, "sqlite_errorname", "")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StoreUnavailable(
            "busy", "the room store is busy: another writer holds its lock; try again shortly"
        )
    if name.startswith("SQLITE_FULL"):
        return StoreUnavailable("full", "the room store is full: no space is left to write")
    return None


def _room(row: sqlite3.Row) -> RoomRecord:
    data = dict(row)
    data["pooled"] = bool(data["pooled"])
    return RoomRecord(**data)


def _conn(row: sqlite3.Row) -> ConnectionRecord:
    return ConnectionRecord(**dict(row))
