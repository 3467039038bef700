"""DynamoDB store: one table, strongly consistent reads, conditional writes where Lambdas race.

Item layout (partition key ``pk``, sort key ``sk``, both strings):

==================  ==============  ====================================================
``pk``              ``sk``          what
==================  ==============  ====================================================
``room#<room_id>``  ``room``        a :class:`~.base.RoomRecord`
``conn#<conn_id>``  ``conn``        a :class:`~.base.ConnectionRecord`
``room#<room_id>``  ``conn#<id>``   membership: a copy of an identified connection, so
                                    the connections of a room are one consistent Query
``session#<id>``    ``session``     a :class:`~.base.SessionRecord`
``limit#<key>``     ``limit``       a rate limit's theoretical arrival time ``tat``
``sfus``            ``all``         ``n``: rooms whose SFU is not ``none``
``sfus``            ``addr#<ip>``   ``n``: such rooms whose SFU that address started
``config#<key>``    ``config``      ``value``: a setting made at run time (webhook URL)
==================  ==============  ====================================================

Room items also carry ``seats``: how many of the room's connections hold a seat
(``participant`` or ``away``). The caps are conditions on these counters inside the same
transaction as the change they count (:meth:`DynamoDBStore.admit_participant`,
:meth:`DynamoDBStore.claim_sfu`); :meth:`DynamoDBStore.sweep` recounts them, so a count a
lost ``$disconnect`` left behind is repaired by the next maintenance pass.

Connection, session and limit items carry ``expires_at`` (the table's TTL attribute): API
Gateway closes WebSockets after two hours at most, so a connection whose ``$disconnect``
was lost is deleted by DynamoDB's TTL sweeper and ignored by reads as soon as it has
expired; a session lasts until it ends (an SFU's: until its refresh credential expires); a
rate limit until its bucket is full again.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ._dynamo import (
    CONNECTION_TTL,
    TTL_ATTRIBUTE,
    Update,
    code,
    conn_of,
    encode,
    pk_sk,
    room_of,
)
from .base import (
    SEAT_ROLES,
    ConnectionRecord,
    Role,
    RoomRecord,
    SfuState,
    Store,
    check_room_changes,
)
from .dynamodb_sessions import SessionItems
from .dynamodb_slots import CountedItems

__all__ = ["CONNECTION_TTL", "DynamoDBStore", "TTL_ATTRIBUTE"]


class DynamoDBStore(CountedItems, SessionItems, Store):
    """Store in one DynamoDB table (see the module docstring for the item layout).

    ``client`` is a botocore DynamoDB client (``AwsClient.client("dynamodb")``); the table
    needs keys ``pk`` (S) and ``sk`` (S) and TTL on ``expires_at``.
    """

    # rooms
    def create_room(self, room: RoomRecord) -> bool:
        item = encode(room.__dict__, pk=f"room#{room.room_id}", sk="room")
        try:
            self._db.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get_room(self, room_id: str) -> RoomRecord | None:
        resp = self._db.get_item(
            TableName=self.table_name,
            Key=pk_sk(f"room#{room_id}", "room"),
            ConsistentRead=True,
        )
        item = resp.get("Item")
        return room_of(item) if item else None

    def list_rooms(self) -> list[RoomRecord]:
        rooms = [
            room_of(item)
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
        expect_occupied: bool = False,
        **changes: object,
    ) -> bool:
        check_room_changes(changes)
        if not changes:
            return self.get_room(room_id) is not None
        update = Update(changes)
        if expect_occupied:
            update.expect({"empty_since": None})
        if expect_sfu_state is not None:
            update.names["#state"] = "sfu_state"
            marks = []
            for j, state in enumerate(expect_sfu_state):
                update.values[f":s{j}"] = {"S": state}
                marks.append(f":s{j}")
            update.conditions.append(
                f"#state IN ({', '.join(marks)})" if marks else "attribute_not_exists(pk)"
            )
        if expect_sfu_id is not None:
            update.expect({"sfu_id": expect_sfu_id})
        return self._apply(update, pk_sk(f"room#{room_id}", "room"))

    def take_pooled_room(self) -> RoomRecord | None:
        candidates = [
            room_of(item)
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
                    Key=pk_sk(f"room#{room.room_id}", "room"),
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
                if code(exc) == "ConditionalCheckFailedException":
                    continue
                raise
            room.pooled = False
            return room
        return None

    def delete_room(self, room_id: str) -> None:
        self._db.delete_item(TableName=self.table_name, Key=pk_sk(f"room#{room_id}", "room"))

    def put_connection(self, conn: ConnectionRecord) -> None:
        old = self.get_connection(conn.connection_id)
        expires = int(self._clock() + self.connection_ttl)
        data = dict(conn.__dict__, **{TTL_ATTRIBUTE: expires})
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": encode(data, pk=f"conn#{conn.connection_id}", sk="conn"),
                }
            }
        ]
        if conn.room_id is not None and conn.role != "pending":
            writes.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": encode(
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
                        "Key": pk_sk(f"room#{old.room_id}", f"conn#{conn.connection_id}"),
                    }
                }
            )
        elif old is not None and old.room_id is not None and conn.role == "pending":
            writes.append(
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": pk_sk(f"room#{old.room_id}", f"conn#{conn.connection_id}"),
                    }
                }
            )
        self._db.transact_write_items(TransactItems=writes)

    def get_connection(self, connection_id: str) -> ConnectionRecord | None:
        resp = self._db.get_item(
            TableName=self.table_name,
            Key=pk_sk(f"conn#{connection_id}", "conn"),
            ConsistentRead=True,
        )
        item = resp.get("Item")
        if not item or self._expired(item):
            return None
        return conn_of(item)

    def delete_connection(self, connection_id: str) -> ConnectionRecord | None:
        resp = self._db.delete_item(
            TableName=self.table_name,
            Key=pk_sk(f"conn#{connection_id}", "conn"),
            ReturnValues="ALL_OLD",
        )
        item = resp.get("Attributes")
        if not item:
            return None
        conn = conn_of(item)
        if conn.room_id is not None:
            self._db.delete_item(
                TableName=self.table_name,
                Key=pk_sk(f"room#{conn.room_id}", f"conn#{connection_id}"),
            )
            if conn.role in SEAT_ROLES:
                # only the caller that deleted the item gets it back: one decrement
                self._add_seats(conn.room_id, -1)
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
                conn = conn_of(item)
                if conn.role == "pending" or (role is not None and conn.role != role):
                    continue
                conns.append(conn)
            if "LastEvaluatedKey" not in resp:
                break
            params["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        conns.sort(key=lambda c: c.connected_at)
        return conns

    # configuration
    def get_config(self, key: str) -> str | None:
        resp = self._db.get_item(
            TableName=self.table_name, Key=pk_sk(f"config#{key}", "config"), ConsistentRead=True
        )
        item = resp.get("Item")
        return str(item["value"]["S"]) if item and "value" in item else None

    def put_config(self, key: str, value: str | None) -> None:
        if value is None:
            self._db.delete_item(TableName=self.table_name, Key=pk_sk(f"config#{key}", "config"))
            return
        self._db.put_item(
            TableName=self.table_name,
            Item={**pk_sk(f"config#{key}", "config"), "value": {"S": value}},
        )
