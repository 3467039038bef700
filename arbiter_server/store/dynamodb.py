"""DynamoDB store: one table, strongly consistent reads, conditional writes where Lambdas race.

Item layout (partition key ``pk``, sort key ``sk``, both strings):

==================  ==============  ====================================================
``pk``              ``sk``          what
==================  ==============  ====================================================
``room#<room_id>``  ``room``        a :class:`~.base.RoomRecord`
``conn#<conn_id>``  ``conn``        a :class:`~.base.ConnectionRecord`
``room#<room_id>``  ``conn#<id>``   membership: a copy of an identified connection, so
                                    the connections of a room are one consistent Query
==================  ==============  ====================================================

Connection items carry ``expires_at`` (the table's TTL attribute): API Gateway closes
WebSockets after two hours at most, so a connection whose ``$disconnect`` was lost is
deleted by DynamoDB's TTL sweeper and ignored by reads as soon as it has expired.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import fields
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from .base import ConnectionRecord, Role, RoomRecord, SfuState, Store, check_room_changes

__all__ = ["CONNECTION_TTL", "DynamoDBStore", "TTL_ATTRIBUTE"]

TTL_ATTRIBUTE = "expires_at"
"The table's time-to-live attribute (Unix seconds)."

CONNECTION_TTL = 3 * 3600
"Seconds a connection record outlives its last write (API Gateway's limit is 2 h)."

_ROOM_FIELDS = [f.name for f in fields(RoomRecord)]
_CONN_FIELDS = [f.name for f in fields(ConnectionRecord)]
# numbers come back as text: the records' annotations say which are floats
_FLOAT_FIELDS = {
    f.name for f in (*fields(RoomRecord), *fields(ConnectionRecord)) if "float" in str(f.type)
}


class DynamoDBStore(Store):
    """Store in one DynamoDB table (see the module docstring for the item layout).

    ``client`` is a botocore DynamoDB client (``AwsClient.client("dynamodb")``); the table
    needs keys ``pk`` (S) and ``sk`` (S) and TTL on ``expires_at``.
    """

    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        connection_ttl: int = CONNECTION_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = client
        self.table_name = table_name
        self.connection_ttl = connection_ttl
        self._clock = clock

    # rooms
    def create_room(self, room: RoomRecord) -> bool:
        item = _encode(room.__dict__, pk=f"room#{room.room_id}", sk="room")
        try:
            self._db.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get_room(self, room_id: str) -> RoomRecord | None:
        resp = self._db.get_item(
            TableName=self.table_name,
            Key=_key(f"room#{room_id}", "room"),
            ConsistentRead=True,
        )
        item = resp.get("Item")
        return _room(item) if item else None

    def list_rooms(self) -> list[RoomRecord]:
        rooms = [
            _room(item)
            for item in self._scan(
                FilterExpression="sk = :room", ExpressionAttributeValues={":room": {"S": "room"}}
            )
        ]
        rooms.sort(key=lambda r: r.created_at)
        return rooms

    def update_room(
        self,
        room_id: str,
        expect_sfu_state: tuple[SfuState, ...] | None = None,
        expect_sfu_id: str | None = None,
        **changes: object,
    ) -> bool:
        check_room_changes(changes)
        if not changes:
            return self.get_room(room_id) is not None
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        removes: list[str] = []
        for i, (key, value) in enumerate(changes.items()):
            names[f"#f{i}"] = key
            if value is None:
                removes.append(f"#f{i}")
            else:
                values[f":v{i}"] = _attr(value)
                sets.append(f"#f{i} = :v{i}")
        update = ""
        if sets:
            update += "SET " + ", ".join(sets)
        if removes:
            update += " REMOVE " + ", ".join(removes)
        conditions = ["attribute_exists(pk)"]
        if expect_sfu_state is not None:
            names["#state"] = "sfu_state"
            marks = []
            for j, state in enumerate(expect_sfu_state):
                values[f":s{j}"] = {"S": state}
                marks.append(f":s{j}")
            conditions.append(
                f"#state IN ({', '.join(marks)})" if marks else "attribute_not_exists(pk)"
            )
        if expect_sfu_id is not None:
            names["#sid"] = "sfu_id"
            values[":sid"] = {"S": expect_sfu_id}
            conditions.append("#sid = :sid")
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": _key(f"room#{room_id}", "room"),
            "UpdateExpression": update.strip(),
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
        }
        if values:
            params["ExpressionAttributeValues"] = values
        try:
            self._db.update_item(**params)
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def take_pooled_room(self) -> RoomRecord | None:
        candidates = [
            _room(item)
            for item in self._scan(
                FilterExpression="sk = :room AND pooled = :t AND sfu_state IN (:ready, :starting)",
                ExpressionAttributeValues={
                    ":room": {"S": "room"},
                    ":t": {"BOOL": True},
                    ":ready": {"S": "ready"},
                    ":starting": {"S": "starting"},
                },
            )
        ]
        candidates.sort(key=lambda r: (r.sfu_state != "ready", r.created_at))
        for room in candidates:
            # the conditional write is the atomic step: of two racing callers, one wins
            try:
                self._db.update_item(
                    TableName=self.table_name,
                    Key=_key(f"room#{room.room_id}", "room"),
                    UpdateExpression="SET pooled = :f",
                    ConditionExpression=(
                        "attribute_exists(pk) AND pooled = :t AND sfu_state IN (:ready, :starting)"
                    ),
                    ExpressionAttributeValues={
                        ":f": {"BOOL": False},
                        ":t": {"BOOL": True},
                        ":ready": {"S": "ready"},
                        ":starting": {"S": "starting"},
                    },
                    ReturnValues="ALL_NEW",
                )
            except ClientError as exc:
                if _code(exc) == "ConditionalCheckFailedException":
                    continue
                raise
            room.pooled = False
            return room
        return None

    def delete_room(self, room_id: str) -> None:
        self._db.delete_item(TableName=self.table_name, Key=_key(f"room#{room_id}", "room"))

    # connections
    def put_connection(self, conn: ConnectionRecord) -> None:
        old = self.get_connection(conn.connection_id)
        expires = int(self._clock() + self.connection_ttl)
        data = dict(conn.__dict__, **{TTL_ATTRIBUTE: expires})
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _encode(data, pk=f"conn#{conn.connection_id}", sk="conn"),
                }
            }
        ]
        if conn.room_id is not None and conn.role != "pending":
            writes.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": _encode(
                            data, pk=f"room#{conn.room_id}", sk=f"conn#{conn.connection_id}"
                        ),
                    }
                }
            )
        if old is not None and old.room_id is not None and old.room_id != conn.room_id:
            writes.append(
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": _key(f"room#{old.room_id}", f"conn#{conn.connection_id}"),
                    }
                }
            )
        elif old is not None and old.room_id is not None and conn.role == "pending":
            writes.append(
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": _key(f"room#{old.room_id}", f"conn#{conn.connection_id}"),
                    }
                }
            )
        self._db.transact_write_items(TransactItems=writes)

    def get_connection(self, connection_id: str) -> ConnectionRecord | None:
        resp = self._db.get_item(
            TableName=self.table_name,
            Key=_key(f"conn#{connection_id}", "conn"),
            ConsistentRead=True,
        )
        item = resp.get("Item")
        if not item or self._expired(item):
            return None
        return _conn(item)

    def delete_connection(self, connection_id: str) -> ConnectionRecord | None:
        resp = self._db.delete_item(
            TableName=self.table_name,
            Key=_key(f"conn#{connection_id}", "conn"),
            ReturnValues="ALL_OLD",
        )
        item = resp.get("Attributes")
        if not item:
            return None
        conn = _conn(item)
        if conn.room_id is not None:
            self._db.delete_item(
                TableName=self.table_name,
                Key=_key(f"room#{conn.room_id}", f"conn#{connection_id}"),
            )
        return None if self._expired(item) else conn

    def list_connections(self, room_id: str, role: Role | None = None) -> list[ConnectionRecord]:
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :conn)",
            "ExpressionAttributeValues": {":pk": {"S": f"room#{room_id}"}, ":conn": {"S": "conn#"}},
            "ConsistentRead": True,
        }
        conns: list[ConnectionRecord] = []
        while True:
            resp = self._db.query(**params)
            for item in resp.get("Items", []):
                if self._expired(item):
                    continue
                conn = _conn(item)
                if conn.role == "pending" or (role is not None and conn.role != role):
                    continue
                conns.append(conn)
            if "LastEvaluatedKey" not in resp:
                break
            params["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        conns.sort(key=lambda c: c.connected_at)
        return conns

    def count_message(self, connection_id: str, now: float, window: float) -> int:
        key = _key(f"conn#{connection_id}", "conn")
        cutoff = {"N": str(Decimal(repr(now - window)))}
        for _ in range(5):
            try:  # same window: count one more
                resp = self._db.update_item(
                    TableName=self.table_name,
                    Key=key,
                    UpdateExpression="ADD rate_count :one",
                    ConditionExpression="attribute_exists(pk) AND rate_window >= :cutoff",
                    ExpressionAttributeValues={":one": {"N": "1"}, ":cutoff": cutoff},
                    ReturnValues="UPDATED_NEW",
                )
                return int(resp["Attributes"]["rate_count"]["N"])
            except ClientError as exc:
                if _code(exc) != "ConditionalCheckFailedException":
                    raise
            try:  # no window or an old one: start a new window
                self._db.update_item(
                    TableName=self.table_name,
                    Key=key,
                    UpdateExpression="SET rate_count = :one, rate_window = :now",
                    ConditionExpression=(
                        "attribute_exists(pk) AND "
                        "(attribute_not_exists(rate_window) OR rate_window < :cutoff)"
                    ),
                    ExpressionAttributeValues={
                        ":one": {"N": "1"},
                        ":now": {"N": str(Decimal(repr(now)))},
                        ":cutoff": cutoff,
                    },
                )
                return 1
            except ClientError as exc:
                if _code(exc) != "ConditionalCheckFailedException":
                    raise
            if self.get_connection(connection_id) is None:
                return 0
            # another caller started the window between our two writes: count again
        return 0

    # helpers
    def _expired(self, item: dict[str, Any]) -> bool:
        ttl = item.get(TTL_ATTRIBUTE)
        return ttl is not None and int(ttl["N"]) <= self._clock()

    def _scan(self, **params: Any) -> Iterator[dict[str, Any]]:
        params = dict(params, TableName=self.table_name, ConsistentRead=True)
        while True:
            resp = self._db.scan(**params)
            yield from resp.get("Items", [])
            if "LastEvaluatedKey" not in resp:
                return
            params["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _attr(value: object) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(Decimal(repr(value)))}
    if isinstance(value, str):
        return {"S": value}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def _encode(data: dict[str, Any], pk: str, sk: str) -> dict[str, Any]:
    item = _key(pk, sk)
    for name, value in data.items():
        if value is not None:
            item[name] = _attr(value)
    return item


def _value(name: str, attr: dict[str, Any]) -> object:
    if "BOOL" in attr:
        return bool(attr["BOOL"])
    if "N" in attr:
        return float(attr["N"]) if name in _FLOAT_FIELDS else int(attr["N"])
    return str(attr["S"])


def _decode(item: dict[str, Any], names: list[str]) -> dict[str, Any]:
    return {n: _value(n, item[n]) for n in names if n in item}


def _room(item: dict[str, Any]) -> RoomRecord:
    return RoomRecord(**_decode(item, _ROOM_FIELDS))


def _conn(item: dict[str, Any]) -> ConnectionRecord:
    return ConnectionRecord(**_decode(item, _CONN_FIELDS))
