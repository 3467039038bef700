"""Store errors reach the caller clearly: a SQLite file locked by another connection's
``BEGIN EXCLUSIVE`` and a full one give HTTP 503 / a signaling ``error`` with the code
``store_unavailable``, are logged, leave the gateway serving and leave no half-written rows."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from arbiter_server.local import LocalStack, LocalStackConfig
from arbiter_server.store import RoomRecord, SQLiteStore, StoreUnavailable
from tests.utils import ManualLauncher, WsPeer

pytestmark = pytest.mark.timeout(30)

BUSY_TIMEOUT = 0.3


def _stack(
    data_dir: Path, max_pages: int | None = None, maintenance_interval: float = 5.0
) -> LocalStack:
    """A gateway on ``data_dir`` whose SFUs are played by nobody, with a short lock wait."""
    launcher = ManualLauncher()
    return LocalStack(
        LocalStackConfig(
            data_dir=data_dir,
            port=0,
            pool_size=0,
            maintenance_interval=maintenance_interval,
            launcher_factory=lambda s: launcher,
            store_factory=lambda p: SQLiteStore(p, busy_timeout=BUSY_TIMEOUT, max_pages=max_pages),
            # rooms are created from one address until the file is full: no cap before that
            settings={"create_rate_limit": 10**6, "max_sfus": 10**6, "max_sfus_per_address": 10**6},
        )
    )


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[LocalStack]:
    stack = _stack(tmp_path)
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


@pytest.fixture
def locker(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection to the same file, as another process would hold it."""
    db = sqlite3.connect(tmp_path / "arbiter.sqlite3", isolation_level=None)
    try:
        yield db
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.close()


def _rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        query = "SELECT room_id, sfu_state, pooled FROM rooms ORDER BY room_id"
        return db.execute(query).fetchall()


async def test_a_locked_store_gives_503_and_signaling_errors_and_nothing_half_done(
    stack: LocalStack, locker: sqlite3.Connection, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await stack.create_room("before")
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as http:
        joined = (await http.post("/rooms/before/join", json={"name": "ann"})).json()
        peer = await WsPeer.connect(joined["signaling_url"])  # connected before the lock
        rows = _rows(tmp_path / "arbiter.sqlite3")

        locker.execute("BEGIN EXCLUSIVE")
        created = await http.post("/rooms", json={"room_id": "during"})
        assert created.status_code == 503, created.text
        error = created.json()["error"]
        assert error["code"] == "store_unavailable" and "busy" in error["message"]
        await peer.send({"action": "identify", "v": 1, "token": joined["token"]})
        reply = await peer.expect("error")
        assert reply["code"] == "store_unavailable" and reply["ref"] == "identify"
        # a new WebSocket is refused before the upgrade, as API Gateway refuses a $connect
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(joined["signaling_url"])
        assert refused.value.response.status_code == 503
        # reads go on (WAL): the gateway still answers
        assert (await http.get("/health")).status_code == 200
        assert (await http.get("/rooms/before")).json()["room_id"] == "before"
        assert "room store is busy" in caplog.text

        locker.execute("ROLLBACK")
        # the same requests now succeed, and nothing was left half done meanwhile
        assert _rows(tmp_path / "arbiter.sqlite3") == rows
        assert (await http.post("/rooms", json={"room_id": "during"})).status_code == 201
        await peer.send({"action": "identify", "v": 1, "token": joined["token"]})
        assert (await peer.expect("identified"))["participant_id"] == joined["participant_id"]
        await peer.close()
    assert [r[0] for r in _rows(tmp_path / "arbiter.sqlite3")] == ["before", "during"]


async def test_a_full_store_gives_503_and_keeps_every_row_it_had(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "arbiter.sqlite3"
    SQLiteStore(path).close()  # the schema, to size the limit from
    with sqlite3.connect(path) as db:
        pages = int(db.execute("PRAGMA page_count").fetchone()[0])
    stack = _stack(tmp_path, max_pages=pages + 4)
    await stack.start()
    try:
        made: list[str] = []
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as http:
            for n in range(2000):
                room_id = f"room-{n:04d}-" + "x" * 50
                resp = await http.post("/rooms", json={"room_id": room_id})
                if resp.status_code != 201:
                    break
                made.append(room_id)
            assert resp.status_code == 503, resp.text
            error = resp.json()["error"]
            assert error["code"] == "store_unavailable" and "full" in error["message"]
            assert made, "the store was full before the first room"
            assert "room store is full" in caplog.text
            # the gateway serves on, reads work, and a join that needs no new page answers
            assert (await http.get("/health")).status_code == 200
            info = await http.get(f"/rooms/{made[0]}")
            assert info.status_code == 200 and info.json()["room_id"] == made[0]
            again = await http.post("/rooms", json={"room_id": room_id})
            assert again.status_code == 503
    finally:
        await stack.stop()
    rows = _rows(path)
    assert [r[0] for r in rows] == made  # every created room intact, the refused one absent
    assert all(state == "starting" for _, state, _ in rows)


def test_the_sqlite_store_raises_store_unavailable_and_rolls_back(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SQLiteStore(path, busy_timeout=BUSY_TIMEOUT)
    store.create_room(RoomRecord(room_id="a", created_at=1.0))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreUnavailable) as busy:
        store.update_room("a", sfu_state="ready")
    assert busy.value.reason == "busy"
    other.execute("ROLLBACK")
    other.close()
    assert store.get_room("a") == RoomRecord(room_id="a", created_at=1.0)
    store.update_room("a", sfu_state="ready")  # usable again, no transaction left open
    assert store.get_room("a") == RoomRecord(room_id="a", created_at=1.0, sfu_state="ready")
    store.close()


async def test_many_requests_against_a_locked_store_leave_the_gateway_serving(
    stack: LocalStack, locker: sqlite3.Connection
) -> None:
    locker.execute("BEGIN EXCLUSIVE")
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as http:
        replies = await asyncio.gather(
            *(http.post("/rooms", json={"room_id": f"r{n}"}) for n in range(12))
        )
        assert {r.status_code for r in replies} == {503}
        locker.execute("ROLLBACK")
        assert (await http.post("/rooms", json={"room_id": "after"})).status_code == 201


async def test_maintenance_against_a_locked_store_is_skipped_and_runs_again_after(
    tmp_path: Path, locker: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    stack = _stack(tmp_path, maintenance_interval=0.05)
    await stack.start()
    try:
        assert stack.services is not None
        await stack.create_room("idle")
        stack.services.settings.empty_room_grace = 0.0  # the next pass stops its SFU: a write
        locker.execute("BEGIN EXCLUSIVE")
        async with asyncio.timeout(10):
            while "maintenance skipped: the room store is busy" not in caplog.text:
                await asyncio.sleep(0.02)
        locker.execute("ROLLBACK")
        async with asyncio.timeout(10):
            while (room := stack.services.store.get_room("idle")) and room.sfu_state != "none":
                await asyncio.sleep(0.02)
        assert "maintenance failed" not in caplog.text
    finally:
        await stack.stop()
