"""The store semantics, run against SQLite and against DynamoDB (moto server)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from arbiter_server.store import ConnectionRecord, RoomRecord, SQLiteStore, Store
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


def test_count_message_windows(store: Store) -> None:
    assert store.count_message("nobody", now=10.0, window=5.0) == 0
    store.put_connection(ConnectionRecord("c", connected_at=1.0))
    assert [store.count_message("c", now=10.0 + i * 0.1, window=5.0) for i in range(3)] == [1, 2, 3]
    assert store.count_message("c", now=16.0, window=5.0) == 1  # a new window
    assert store.count_message("c", now=17.0, window=5.0) == 2


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
