"""The store semantics, run against SQLite and against DynamoDB (moto server)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from arbiter_server.store import (
    Admission,
    ConnectionRecord,
    RoomRecord,
    SessionRecord,
    SfuClaim,
    SQLiteStore,
    Store,
)
from arbiter_server.store.dynamodb import DynamoDBStore

pytestmark = pytest.mark.timeout(60)

_tables = itertools.count()


def _dynamodb_table(name: str) -> None:
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s: Store = SQLiteStore(tmp_path / "s.sqlite3")
    else:
        request.getfixturevalue("aws_env")
        name = f"store-test-{next(_tables)}"
        _dynamodb_table(name)
        s = DynamoDBStore(boto3.client("dynamodb"), name)
    try:
        yield s
    finally:
        s.close()


def test_rooms_create_get_list_delete(store: Store) -> None:
    assert store.create_room(RoomRecord("b", created_at=2.0))
    assert store.create_room(RoomRecord("a", created_at=1.0, pooled=True, empty_since=1.5))
    assert not store.create_room(RoomRecord("a", created_at=9.0))
    room = store.get_room("a")
    assert room == RoomRecord("a", created_at=1.0, pooled=True, empty_since=1.5)
    assert [r.room_id for r in store.list_rooms()] == ["a", "b"]
    store.delete_room("a")
    assert store.get_room("a") is None and [r.room_id for r in store.list_rooms()] == ["b"]
    assert store.get_room("nowhere") is None


def test_update_room_is_conditional(store: Store) -> None:
    store.create_room(RoomRecord("r", created_at=1.0))
    assert not store.update_room("missing", sfu_state="starting")
    assert store.update_room("r", expect_sfu_state=("none",), sfu_state="starting", sfu_id="s1")
    # a second starter loses the race
    assert not store.update_room("r", expect_sfu_state=("none",), sfu_state="starting", sfu_id="s2")
    assert not store.update_room("r", expect_sfu_id="s2", sfu_handle="h")
    assert store.update_room("r", expect_sfu_id="s1", sfu_handle="h", sfu_changed_at=5.5)
    assert store.update_room(
        "r", expect_sfu_state=("starting", "ready"), expect_sfu_id="s1", sfu_state="ready"
    )
    room = store.get_room("r")
    assert room is not None
    assert (room.sfu_state, room.sfu_id, room.sfu_handle, room.sfu_changed_at) == (
        "ready",
        "s1",
        "h",
        5.5,
    )
    # None clears a field
    assert store.update_room("r", sfu_id=None, sfu_handle=None, sfu_state="none")
    room = store.get_room("r")
    assert room is not None and room.sfu_id is None and room.sfu_handle is None
    with pytest.raises(KeyError):
        store.update_room("r", colour="blue")


def test_take_pooled_room_hands_each_room_out_once(store: Store) -> None:
    store.create_room(RoomRecord("cold", created_at=0.0, pooled=True))  # no SFU: not handed out
    store.create_room(RoomRecord("starting", created_at=1.0, pooled=True, sfu_state="starting"))
    store.create_room(RoomRecord("ready", created_at=2.0, pooled=True, sfu_state="ready"))
    store.create_room(RoomRecord("ready2", created_at=3.0, pooled=True, sfu_state="ready"))
    first = store.take_pooled_room()
    assert first is not None and first.room_id == "ready" and not first.pooled  # ready first
    got: list[str] = []
    lock = threading.Lock()

    def take() -> None:
        room = store.take_pooled_room()
        if room is not None:
            with lock:
                got.append(room.room_id)

    threads = [threading.Thread(target=take) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == ["ready2", "starting"]
    assert store.take_pooled_room() is None
    assert [r.room_id for r in store.list_rooms() if r.pooled] == ["cold"]


def test_connections(store: Store) -> None:
    store.put_connection(ConnectionRecord("c1", connected_at=1.0))
    store.put_connection(
        ConnectionRecord(
            "c2", connected_at=2.0, role="participant", room_id="r", participant_id="p2", name="bo"
        )
    )
    store.put_connection(ConnectionRecord("c3", connected_at=3.0, role="sfu", room_id="r"))
    store.put_connection(
        ConnectionRecord(
            "c0", connected_at=0.5, role="participant", room_id="r", participant_id="p0"
        )
    )
    assert store.get_connection("c1") == ConnectionRecord("c1", connected_at=1.0)
    assert [c.connection_id for c in store.list_connections("r")] == ["c0", "c2", "c3"]
    assert [c.connection_id for c in store.list_connections("r", "participant")] == ["c0", "c2"]
    assert [c.connection_id for c in store.list_connections("r", "sfu")] == ["c3"]
    # identify: a pending connection joins a room
    store.put_connection(
        ConnectionRecord(
            "c1", connected_at=1.0, role="participant", room_id="r", participant_id="p1"
        )
    )
    assert [c.connection_id for c in store.list_connections("r", "participant")] == [
        "c0",
        "c1",
        "c2",
    ]
    # leave: back to pending, no longer in the room
    store.put_connection(ConnectionRecord("c1", connected_at=1.0))
    assert [c.connection_id for c in store.list_connections("r")] == ["c0", "c2", "c3"]
    gone = store.delete_connection("c2")
    assert gone is not None and gone.name == "bo" and gone.participant_id == "p2"
    assert store.delete_connection("c2") is None and store.get_connection("c2") is None
    assert [c.connection_id for c in store.list_connections("r")] == ["c0", "c3"]
    assert store.list_connections("elsewhere") == []


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """For races: moto serialises neither transactions nor conditional updates across its
    server threads (DynamoDB does), so races run against SQLite; the DynamoDB conditions
    they rely on are checked one call at a time by the tests above and below."""
    s = SQLiteStore(tmp_path / "race.sqlite3")
    try:
        yield s
    finally:
        s.close()


def _race(target: object, count: int) -> list[object]:
    """Run ``target()`` in ``count`` threads at once; return their results."""
    assert callable(target)
    results: list[object] = []
    lock = threading.Lock()
    start = threading.Barrier(count)

    def run() -> None:
        start.wait()
        result = target()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_rate_limit_is_a_token_bucket_in_its_own_item(store: Store) -> None:
    # 5 per 10 s: a burst of 5, then one more every 2 s
    assert [store.allow("conn:c", 100.0, 5, 10.0) for _ in range(7)] == [True] * 5 + [False] * 2
    assert store.allow("conn:c", 101.9, 5, 10.0) is False
    assert store.allow("conn:c", 102.0, 5, 10.0) is True
    assert store.allow("conn:other", 102.0, 5, 10.0) is True  # buckets are per key
    # nothing a connection write does resets it
    store.put_connection(ConnectionRecord("c", connected_at=1.0))
    store.put_connection(ConnectionRecord("c", connected_at=1.0, role="sfu", room_id="r"))
    assert store.allow("conn:c", 102.0, 5, 10.0) is False
    # after a whole window the bucket is full again
    assert [store.allow("conn:c", 200.0, 5, 10.0) for _ in range(6)] == [True] * 5 + [False]
    store.sweep(1000.0)
    assert store.allow("conn:c", 1000.0, 5, 10.0) is True


def test_rate_limit_holds_under_concurrent_callers(sqlite_store: Store) -> None:
    store = sqlite_store
    results = _race(lambda: store.allow("ip:1.2.3.4", 50.0, 4, 60.0), 10)
    assert sorted(results, key=bool) == [False] * 6 + [True] * 4  # type: ignore[arg-type]


def _participant(
    cid: str, pid: str, room: str = "r", role: str = "participant"
) -> ConnectionRecord:
    return ConnectionRecord(
        cid,
        connected_at=1.0,
        role=role,
        room_id=room,
        participant_id=pid,  # type: ignore[arg-type]
    )


def test_room_cap_is_checked_where_participants_are_admitted(store: Store) -> None:
    store.create_room(RoomRecord("r", created_at=1.0))
    seated, full = Admission.SEATED, Admission.FULL
    assert store.admit_participant(_participant("c1", "p1"), max_seats=2) is seated
    assert store.admit_participant(_participant("c2", "p2"), max_seats=2) is seated
    assert store.admit_participant(_participant("c3", "p3"), max_seats=2) is full
    assert store.get_connection("c3") is None
    # an away participant keeps its seat; its resume takes that seat over
    store.put_connection(_participant("c2", "p2", role="away"))
    assert store.admit_participant(_participant("c3", "p3"), max_seats=2) is full
    took = store.admit_participant(_participant("c2b", "p2"), max_seats=2, replace="c2")
    assert took is Admission.TOOK_OVER
    assert store.get_connection("c2") is None
    assert [c.connection_id for c in store.list_connections("r")] == ["c1", "c2b"]
    # a resume whose old connection is gone needs a free seat like anyone
    again = store.admit_participant(_participant("c2c", "p2"), max_seats=2, replace="c2")
    assert again is full
    # a leave frees a seat
    assert store.delete_connection("c1") is not None
    assert store.admit_participant(_participant("c3", "p3"), max_seats=2) is seated
    assert store.admit_participant(_participant("c4", "p4"), max_seats=2) is full


def test_room_cap_holds_when_many_identify_at_once(sqlite_store: Store) -> None:
    store = sqlite_store
    store.create_room(RoomRecord("r", created_at=1.0))
    ids = iter(range(1000))
    lock = threading.Lock()

    def admit() -> Admission:
        with lock:
            n = next(ids)
        return store.admit_participant(_participant(f"c{n}", f"p{n}"), max_seats=3)

    results = _race(admit, 8)
    assert results.count(Admission.SEATED) == 3
    assert len(store.list_connections("r")) == 3


def test_sessions_change_only_as_expected(store: Store) -> None:
    later = 4e9  # the DynamoDB store reads expiries against the real clock
    session = SessionRecord(
        "p1",
        "r",
        "participant",
        created_at=1.0,
        refresh_expires_at=later,
        ends_at=later + 60,
        name="ada",
        grants="publish",
        token_id="jti-1",
    )
    assert store.create_session(session)
    assert not store.create_session(session)
    assert store.get_session("p1") == session and store.get_session("nobody") is None
    # a token admits once
    assert not store.update_session("p1", {"token_id": "jti-0"}, token_id=None)
    assert store.update_session("p1", {"token_id": "jti-1"}, token_id=None)
    assert not store.update_session("p1", {"token_id": "jti-1"}, token_id=None)
    # a refresh credential rotates once
    assert store.update_session(
        "p1", {"refresh_digest": None}, refresh_digest="d1", refresh_expires_at=later + 10
    )
    assert not store.update_session("p1", {"refresh_digest": "d0"}, refresh_digest="d2")
    assert store.update_session("p1", {"refresh_digest": "d1"}, refresh_digest="d2")
    got = store.get_session("p1")
    assert got is not None and (got.refresh_digest, got.refresh_expires_at) == ("d2", later + 10)
    assert not store.update_session("nobody", {}, refresh_digest="x")
    with pytest.raises(KeyError):
        store.update_session("p1", {}, colour="blue")
    store.delete_session("p1")
    assert store.get_session("p1") is None


def test_a_token_admits_once_however_many_race_for_it(sqlite_store: Store) -> None:
    store = sqlite_store
    store.create_session(
        SessionRecord("p1", "r", "participant", 1.0, refresh_expires_at=9e9, token_id="j")
    )
    results = _race(lambda: store.update_session("p1", {"token_id": "j"}, token_id=None), 6)
    assert results.count(True) == 1


def test_sfu_slots_are_capped_per_deployment_and_per_address(store: Store) -> None:
    for room in ("a", "b", "c", "d"):
        store.create_room(RoomRecord(room, created_at=1.0))
    assert store.claim_sfu("a", "s1", 5.0, "1.1.1.1", max_total=3, max_per_address=2) is (
        SfuClaim.CLAIMED
    )
    assert store.claim_sfu("a", "s9", 5.0, None, 3, 2) is SfuClaim.BUSY
    assert store.claim_sfu("zzz", "s9", 5.0, None, 3, 2) is SfuClaim.NO_ROOM
    assert store.claim_sfu("b", "s2", 5.0, "1.1.1.1", 3, 2) is SfuClaim.CLAIMED
    assert store.claim_sfu("c", "s3", 5.0, "1.1.1.1", 3, 2) is SfuClaim.ADDRESS_FULL
    assert store.claim_sfu("c", "s3", 5.0, None, 3, 2) is SfuClaim.CLAIMED
    assert store.claim_sfu("d", "s4", 5.0, "2.2.2.2", 3, 2) is SfuClaim.DEPLOYMENT_FULL
    room = store.get_room("a")
    assert room is not None
    assert (room.sfu_state, room.sfu_id, room.sfu_started_by, room.waiting_since) == (
        "starting",
        "s1",
        "1.1.1.1",
        5.0,
    )
    assert not store.release_sfu("a", "not-s1", 6.0)
    assert store.release_sfu("a", "s1", 6.0)
    assert not store.release_sfu("a", "s1", 6.0)
    room = store.get_room("a")
    assert room is not None and (room.sfu_state, room.sfu_id, room.sfu_started_by) == (
        "none",
        None,
        None,
    )
    assert store.claim_sfu("d", "s4", 7.0, "1.1.1.1", 3, 2) is SfuClaim.CLAIMED


def test_sfu_slots_hold_under_concurrent_claims(sqlite_store: Store) -> None:
    store = sqlite_store
    for i in range(8):
        store.create_room(RoomRecord(f"r{i}", created_at=1.0))
    rooms = iter(range(8))
    lock = threading.Lock()

    def claim() -> SfuClaim:
        with lock:
            i = next(rooms)
        return store.claim_sfu(f"r{i}", f"s{i}", 1.0, "9.9.9.9", max_total=5, max_per_address=3)

    results = _race(claim, 8)
    assert results.count(SfuClaim.CLAIMED) == 3
    assert results.count(SfuClaim.ADDRESS_FULL) == 5


def test_idle_rooms_expire_only_while_idle(store: Store) -> None:
    store.create_room(RoomRecord("idle", created_at=1.0, empty_since=2.0))
    store.create_room(RoomRecord("busy", created_at=1.0, empty_since=2.0))
    store.claim_sfu("busy", "s", 3.0, None, 10, 10)
    assert not store.expire_room("idle", 1.5)  # it became empty again since
    assert store.expire_room("idle", 2.0) and store.get_room("idle") is None
    assert not store.expire_room("busy", 3.0)  # it has an SFU
    assert store.release_sfu("busy", "s", 4.0)
    assert store.admit_participant(_participant("c", "p", room="busy"), 5) is Admission.SEATED
    assert not store.expire_room("busy", 3.0)  # someone is in it


def test_dynamodb_ignores_expired_connections(aws_env: str) -> None:
    name = f"store-test-{next(_tables)}"
    _dynamodb_table(name)
    now = [900.0]
    store = DynamoDBStore(boto3.client("dynamodb"), name, connection_ttl=60, clock=lambda: now[0])
    store.put_connection(ConnectionRecord("old", connected_at=900.0, role="sfu", room_id="r"))
    now[0] = 999.0
    store.put_connection(ConnectionRecord("new", connected_at=999.0, role="sfu", room_id="r"))
    now[0] = 1000.0
    item = boto3.client("dynamodb").get_item(
        TableName=name, Key={"pk": {"S": "conn#new"}, "sk": {"S": "conn"}}
    )["Item"]
    assert item["expires_at"] == {"N": "1059"}  # the table's TTL attribute
    # "old" lost its $disconnect: expired, it is gone for every read before TTL deletes it
    assert store.get_connection("old") is None
    assert [c.connection_id for c in store.list_connections("r")] == ["new"]


def test_dynamodb_repairs_counts_a_lost_disconnect_left(aws_env: str) -> None:
    name = f"store-test-{next(_tables)}"
    _dynamodb_table(name)
    now = [1000.0]
    store = DynamoDBStore(boto3.client("dynamodb"), name, connection_ttl=60, clock=lambda: now[0])
    store.create_room(RoomRecord("r", created_at=1.0))
    store.create_room(RoomRecord("q", created_at=1.0))
    assert store.admit_participant(_participant("c1", "p1"), max_seats=2) is Admission.SEATED
    assert store.admit_participant(_participant("c2", "p2"), max_seats=2) is Admission.SEATED
    assert store.claim_sfu("q", "s", 1.0, "1.1.1.1", max_total=1, max_per_address=1) is (
        SfuClaim.CLAIMED
    )
    # c1's $disconnect was lost and its record expired; the SFU counter was lost too
    now[0] = 1070.0
    store.put_connection(_participant("c2", "p2", role="away"))
    ddb = boto3.client("dynamodb")
    ddb.delete_item(TableName=name, Key={"pk": {"S": "sfus"}, "sk": {"S": "all"}})
    assert store.admit_participant(_participant("c3", "p3"), max_seats=2) is Admission.FULL
    store.sweep(now[0])
    assert store.admit_participant(_participant("c3", "p3"), max_seats=2) is Admission.SEATED
    assert store.admit_participant(_participant("c4", "p4"), max_seats=2) is Admission.FULL
    store.create_room(RoomRecord("z", created_at=1.0))
    assert store.claim_sfu("z", "s2", 2.0, None, max_total=1, max_per_address=1) is (
        SfuClaim.DEPLOYMENT_FULL
    )


def test_a_sqlite_file_of_the_first_schema_is_brought_up_to_date(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # the schema before sessions and SFU slots
        db.executescript(
            """
            CREATE TABLE rooms (room_id TEXT PRIMARY KEY, created_at REAL NOT NULL,
                pooled INTEGER NOT NULL DEFAULT 0, sfu_state TEXT NOT NULL DEFAULT 'none',
                sfu_id TEXT, sfu_handle TEXT, sfu_connection_id TEXT, sfu_changed_at REAL,
                empty_since REAL);
            CREATE TABLE connections (connection_id TEXT PRIMARY KEY, connected_at REAL NOT NULL,
                role TEXT NOT NULL DEFAULT 'pending', room_id TEXT, participant_id TEXT,
                name TEXT, rate_window REAL NOT NULL DEFAULT 0,
                rate_count INTEGER NOT NULL DEFAULT 0, away_since REAL, grants TEXT);
            INSERT INTO rooms (room_id, created_at) VALUES ('kept', 1.0);
            INSERT INTO connections (connection_id, connected_at, role, room_id, participant_id)
                VALUES ('c1', 2.0, 'away', 'kept', 'p1');
            """
        )
    store = SQLiteStore(path)
    try:
        assert store.get_room("kept") == RoomRecord("kept", created_at=1.0)
        assert [c.participant_id for c in store.list_connections("kept")] == ["p1"]
        resumed = store.admit_participant(_participant("c2", "p1", room="kept"), 4, replace="c1")
        assert resumed is Admission.TOOK_OVER
        assert store.claim_sfu("kept", "s", 3.0, "1.1.1.1", 5, 5) is SfuClaim.CLAIMED
        assert store.allow("k", 1.0, 1, 1.0) and not store.allow("k", 1.0, 1, 1.0)
    finally:
        store.close()
