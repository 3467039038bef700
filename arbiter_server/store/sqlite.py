"""SQLite store: one real file in WAL mode, safe for threads and processes at once."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import astuple, fields
from pathlib import Path
from typing import Any

from .base import (
    SEAT_ROLES,
    Admission,
    ConnectionRecord,
    Role,
    RoomRecord,
    SessionRecord,
    SfuClaim,
    SfuState,
    Store,
    StoreUnavailable,
    check_room_changes,
    check_session_changes,
    gcra,
)

__all__ = ["SQLiteStore"]

_ROOM_COLUMNS = [f.name for f in fields(RoomRecord)]
_CONN_COLUMNS = [f.name for f in fields(ConnectionRecord)]
_SESSION_COLUMNS = [f.name for f in fields(SessionRecord)]
_SEATS = ", ".join(f"'{r}'" for r in SEAT_ROLES)

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
    empty_since REAL,
    sfu_started_by TEXT,
    waiting_since REAL,
    private INTEGER NOT NULL DEFAULT 0,
    lobby INTEGER NOT NULL DEFAULT 0,
    sfu_since REAL
);
CREATE TABLE IF NOT EXISTS connections (
    connection_id TEXT PRIMARY KEY,
    connected_at REAL NOT NULL,
    role TEXT NOT NULL DEFAULT 'pending',
    room_id TEXT,
    participant_id TEXT,
    name TEXT,
    away_since REAL,
    grants TEXT,
    session_id TEXT,
    session_ends_at REAL,
    hand_raised INTEGER NOT NULL DEFAULT 0,
    identity TEXT,
    metadata TEXT,
    locked TEXT,
    awaits_sfu INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS connections_room ON connections (room_id, role);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at REAL NOT NULL,
    refresh_expires_at REAL NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    grants TEXT,
    ends_at REAL,
    refresh_digest TEXT,
    token_id TEXT,
    hand_raised INTEGER NOT NULL DEFAULT 0,
    identity TEXT,
    metadata TEXT,
    locked TEXT,
    lobby INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS config (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS limits (
    key TEXT PRIMARY KEY,
    tat REAL NOT NULL,
    expires_at REAL NOT NULL
);
"""


class SQLiteStore(Store):
    """Store in a SQLite file; one connection per thread, writes in IMMEDIATE transactions.

    The file (and its WAL) is readable by its owner only: it holds refresh-credential
    digests. A file of an earlier version gets the columns it lacks.

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
        # SQLite gives the WAL and shared-memory files the database file's mode
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(self.path, 0o600)
        db = self._db()
        db.executescript(_SCHEMA)
        _add_missing_columns(db)

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
        expect_occupied: bool = False,
        **changes: object,
    ) -> bool:
        check_room_changes(changes)
        sets = ", ".join(f"{k} = ?" for k in changes)
        where = "room_id = ?" + (" AND empty_since IS NULL" if expect_occupied else "")
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

    def admit_participant(
        self, conn: ConnectionRecord, max_seats: int, replace: str | None = None
    ) -> Admission:
        cols = ", ".join(_CONN_COLUMNS)
        marks = ", ".join("?" for _ in _CONN_COLUMNS)
        with self._tx() as db:
            replaced = 0
            if replace is not None and replace != conn.connection_id:
                replaced = db.execute(
                    "DELETE FROM connections WHERE connection_id = ?", (replace,)
                ).rowcount
            if not replaced:
                row = db.execute(
                    f"SELECT COUNT(*) FROM connections WHERE room_id = ? AND role IN ({_SEATS}) "
                    "AND connection_id != ?",
                    (conn.room_id, conn.connection_id),
                ).fetchone()
                if int(row[0]) >= max_seats:
                    return Admission.FULL
            db.execute(
                f"INSERT OR REPLACE INTO connections ({cols}) VALUES ({marks})", astuple(conn)
            )
            return Admission.TOOK_OVER if replaced else Admission.SEATED

    # rate limits
    def allow(self, key: str, now: float, capacity: int, window: float) -> bool:
        with self._tx() as db:
            row = db.execute(
                "SELECT tat FROM limits WHERE key = ? AND expires_at > ?", (key, now)
            ).fetchone()
            allowed, tat = gcra(float(row[0]) if row else None, now, capacity, window)
            if tat is not None:
                db.execute(
                    "INSERT OR REPLACE INTO limits (key, tat, expires_at) VALUES (?, ?, ?)",
                    (key, tat, tat + window),
                )
            return allowed

    # sessions
    def create_session(self, session: SessionRecord) -> bool:
        cols = ", ".join(_SESSION_COLUMNS)
        marks = ", ".join("?" for _ in _SESSION_COLUMNS)
        with self._tx() as db:
            cur = db.execute(
                f"INSERT OR IGNORE INTO sessions ({cols}) VALUES ({marks})", astuple(session)
            )
            return cur.rowcount == 1

    def get_session(self, session_id: str) -> SessionRecord | None:
        row = (
            self._db()
            .execute("SELECT * FROM sessions WHERE session_id = ?", (session_id,))
            .fetchone()
        )
        if row is None:
            return None
        data = _known(row, _SESSION_COLUMNS)
        data["hand_raised"] = bool(data.get("hand_raised"))
        data["lobby"] = bool(data.get("lobby"))
        return SessionRecord(**data)

    def update_session(
        self, session_id: str, expect: Mapping[str, object], **changes: object
    ) -> bool:
        check_session_changes(changes)
        check_session_changes(expect)
        sets = ", ".join(f"{k} = ?" for k in changes)
        where = ["session_id = ?"]
        args: list[Any] = [*changes.values(), session_id]
        for key, value in expect.items():
            if value is None:
                where.append(f"{key} IS NULL")
            else:
                where.append(f"{key} = ?")
                args.append(value)
        with self._tx() as db:
            cur = db.execute(f"UPDATE sessions SET {sets} WHERE {' AND '.join(where)}", args)
            return cur.rowcount == 1

    def delete_session(self, session_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))

    # SFU slots
    def claim_sfu(
        self,
        room_id: str,
        sfu_id: str,
        now: float,
        address: str | None,
        max_total: int,
        max_per_address: int,
    ) -> SfuClaim:
        with self._tx() as db:
            row = db.execute("SELECT sfu_state FROM rooms WHERE room_id = ?", (room_id,)).fetchone()
            if row is None:
                return SfuClaim.NO_ROOM
            if row[0] != "none":
                return SfuClaim.BUSY
            running = db.execute("SELECT COUNT(*) FROM rooms WHERE sfu_state != 'none'").fetchone()
            if int(running[0]) >= max_total:
                return SfuClaim.DEPLOYMENT_FULL
            if address is not None:
                mine = db.execute(
                    "SELECT COUNT(*) FROM rooms WHERE sfu_state != 'none' AND sfu_started_by = ?",
                    (address,),
                ).fetchone()
                if int(mine[0]) >= max_per_address:
                    return SfuClaim.ADDRESS_FULL
            db.execute(
                "UPDATE rooms SET sfu_state = 'starting', sfu_id = ?, sfu_handle = NULL, "
                "sfu_connection_id = NULL, sfu_changed_at = ?, sfu_started_by = ?, "
                "empty_since = ?, waiting_since = ? WHERE room_id = ?",
                (sfu_id, now, address, now, now, room_id),
            )
            return SfuClaim.CLAIMED

    def release_sfu(self, room_id: str, sfu_id: str | None, now: float) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE rooms SET sfu_state = 'none', sfu_id = NULL, sfu_handle = NULL, "
                "sfu_connection_id = NULL, sfu_changed_at = ?, sfu_started_by = NULL, "
                "waiting_since = NULL WHERE room_id = ? AND sfu_id IS ?",
                (now, room_id, sfu_id),
            )
            return cur.rowcount == 1

    def expire_room(self, room_id: str, empty_since: float) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "DELETE FROM rooms WHERE room_id = ? AND sfu_state = 'none' AND empty_since = ? "
                f"AND NOT EXISTS (SELECT 1 FROM connections WHERE room_id = ? "
                f"AND role IN ({_SEATS}))",
                (room_id, empty_since, room_id),
            )
            return cur.rowcount == 1

    # configuration
    def get_config(self, key: str) -> str | None:
        row = self._db().execute("SELECT value FROM config WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def put_config(self, key: str, value: str | None) -> None:
        with self._tx() as db:
            if value is None:
                db.execute("DELETE FROM config WHERE key = ?", (key,))
            else:
                db.execute("INSERT OR REPLACE INTO config (key, value) VALUES (?, ?)", (key, value))

    def sweep(self, now: float) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM limits WHERE expires_at <= ?", (now,))
            db.execute(
                "DELETE FROM sessions WHERE (ends_at IS NOT NULL AND ends_at <= ?) "
                "OR (refresh_expires_at <= ? AND NOT EXISTS (SELECT 1 FROM connections c "
                "WHERE c.session_id = sessions.session_id))",
                (now, now),
            )

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.close()
            self._all.clear()


_ADDED_COLUMNS = {
    "rooms": {
        "sfu_started_by": "TEXT",
        "waiting_since": "REAL",
        "private": "INTEGER NOT NULL DEFAULT 0",
        "lobby": "INTEGER NOT NULL DEFAULT 0",
        "sfu_since": "REAL",
    },
    "connections": {
        "session_id": "TEXT",
        "session_ends_at": "REAL",
        "hand_raised": "INTEGER NOT NULL DEFAULT 0",
        "identity": "TEXT",
        "metadata": "TEXT",
        "locked": "TEXT",
        "awaits_sfu": "INTEGER NOT NULL DEFAULT 0",
    },
    "sessions": {
        "hand_raised": "INTEGER NOT NULL DEFAULT 0",
        "identity": "TEXT",
        "metadata": "TEXT",
        "locked": "TEXT",
        "lobby": "INTEGER NOT NULL DEFAULT 0",
    },
}
"Columns newer than the first schema: a file written before them gets them added."


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Bring a file of an earlier version up to date (columns it no longer uses stay)."""
    for table, columns in _ADDED_COLUMNS.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


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


def _known(row: sqlite3.Row, columns: list[str]) -> dict[str, Any]:
    """The row's values of the record's fields (a column an earlier version used is left)."""
    return {k: row[k] for k in row.keys() if k in columns}  # noqa: SIM118 - a sqlite3.Row


def _room(row: sqlite3.Row) -> RoomRecord:
    data = _known(row, _ROOM_COLUMNS)
    for flag in ("pooled", "private", "lobby"):
        data[flag] = bool(data[flag])
    return RoomRecord(**data)


def _conn(row: sqlite3.Row) -> ConnectionRecord:
    data = _known(row, _CONN_COLUMNS)
    data["hand_raised"] = bool(data.get("hand_raised"))
    data["awaits_sfu"] = bool(data.get("awaits_sfu"))
    return ConnectionRecord(**data)
