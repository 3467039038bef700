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

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

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
    check_room_changes,
    check_session_changes,
)

__all__ = ["CONNECTION_TTL", "DynamoDBStore", "TTL_ATTRIBUTE"]

TTL_ATTRIBUTE = "expires_at"
"The table's time-to-live attribute (Unix seconds)."

CONNECTION_TTL = 3 * 3600
"Seconds a connection record outlives its last write (API Gateway's limit is 2 h)."

_ROOM_FIELDS = [f.name for f in fields(RoomRecord)]
_CONN_FIELDS = [f.name for f in fields(ConnectionRecord)]
_SESSION_FIELDS = [f.name for f in fields(SessionRecord)]
# numbers come back as text: the records' annotations say which are floats
_FLOAT_FIELDS = {
    f.name
    for f in (*fields(RoomRecord), *fields(ConnectionRecord), *fields(SessionRecord))
    if "float" in str(f.type)
}
_SFUS = "sfus"
_CONDITION_FAILED = "ConditionalCheckFailed"


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
                conn = _conn(item)
                if conn.role == "pending" or (role is not None and conn.role != role):
                    continue
                conns.append(conn)
            if "LastEvaluatedKey" not in resp:
                break
            params["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        conns.sort(key=lambda c: c.connected_at)
        return conns

    def admit_participant(
        self, conn: ConnectionRecord, max_seats: int, replace: str | None = None
    ) -> Admission:
        room_id = conn.room_id or ""
        puts = self._conn_puts(conn)
        if replace is not None and replace != conn.connection_id:
            old = self.get_connection(replace)
            if old is not None and old.room_id == room_id and old.role in SEAT_ROLES:
                takeover = [
                    {
                        "Delete": {
                            "TableName": self.table_name,
                            "Key": _key(f"conn#{replace}", "conn"),
                            "ConditionExpression": "attribute_exists(pk) AND #r = :r",
                            "ExpressionAttributeNames": {"#r": "role"},
                            "ExpressionAttributeValues": {":r": {"S": old.role}},
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self.table_name,
                            "Key": _key(f"room#{room_id}", f"conn#{replace}"),
                        }
                    },
                    *puts,
                ]
                if self._transact(takeover) is None:
                    return Admission.TOOK_OVER
                # the old connection went away meanwhile: take a seat of our own
        seat = {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(f"room#{room_id}", "room"),
                "UpdateExpression": "ADD seats :one",
                "ConditionExpression": (
                    "attribute_exists(pk) AND (attribute_not_exists(seats) OR seats < :max)"
                ),
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":max": {"N": str(max_seats)}},
            }
        }
        return Admission.SEATED if self._transact([seat, *puts]) is None else Admission.FULL

    def _conn_puts(self, conn: ConnectionRecord) -> list[dict[str, Any]]:
        data = dict(conn.__dict__, **{TTL_ATTRIBUTE: int(self._clock() + self.connection_ttl)})
        return [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _encode(data, pk=f"conn#{conn.connection_id}", sk="conn"),
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _encode(
                        data, pk=f"room#{conn.room_id}", sk=f"conn#{conn.connection_id}"
                    ),
                }
            },
        ]

    def _add_seats(self, room_id: str, delta: int) -> None:
        try:
            self._db.update_item(
                TableName=self.table_name,
                Key=_key(f"room#{room_id}", "room"),
                UpdateExpression="ADD seats :d",
                ConditionExpression="attribute_exists(pk) AND seats > :zero",
                ExpressionAttributeValues={":d": {"N": str(delta)}, ":zero": {"N": "0"}},
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise

    def _transact(self, writes: list[dict[str, Any]]) -> list[str] | None:
        """Run a transaction; None if it applied, else each item's cancellation code."""
        try:
            self._db.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if _code(exc) != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            return [str(r.get("Code", "")) for r in reasons] or ["?"]
        return None

    # rate limits
    def allow(self, key: str, now: float, capacity: int, window: float) -> bool:
        item_key = _key(f"limit#{key}", "limit")
        interval = window / capacity
        tolerance = window - interval
        for _ in range(5):
            try:  # an unused or full bucket: the first request of a burst
                self._db.update_item(
                    TableName=self.table_name,
                    Key=item_key,
                    UpdateExpression="SET tat = :tat, #ttl = :ttl",
                    ConditionExpression="attribute_not_exists(tat) OR tat < :now",
                    ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                    ExpressionAttributeValues={
                        ":tat": _num(now + interval),
                        ":ttl": _num(now + interval + window),
                        ":now": _num(now),
                    },
                )
                return True
            except ClientError as exc:
                if _code(exc) != "ConditionalCheckFailedException":
                    raise
            try:  # a bucket in use with room left
                self._db.update_item(
                    TableName=self.table_name,
                    Key=item_key,
                    UpdateExpression="SET tat = tat + :i, #ttl = tat + :iw",
                    ConditionExpression="tat >= :now AND tat <= :limit",
                    ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                    ExpressionAttributeValues={
                        ":i": _num(interval),
                        ":iw": _num(interval + window),
                        ":now": _num(now),
                        ":limit": _num(now + tolerance),
                    },
                )
                return True
            except ClientError as exc:
                if _code(exc) != "ConditionalCheckFailedException":
                    raise
            item = self._db.get_item(
                TableName=self.table_name, Key=item_key, ConsistentRead=True
            ).get("Item")
            if item is not None and float(item["tat"]["N"]) - now > tolerance:
                return False
            # the bucket changed between our writes: try again
        return False

    # sessions
    def create_session(self, session: SessionRecord) -> bool:
        data = dict(session.__dict__, **{TTL_ATTRIBUTE: _session_ttl(session)})
        try:
            self._db.put_item(
                TableName=self.table_name,
                Item=_encode(data, pk=f"session#{session.session_id}", sk="session"),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get_session(self, session_id: str) -> SessionRecord | None:
        item = self._db.get_item(
            TableName=self.table_name,
            Key=_key(f"session#{session_id}", "session"),
            ConsistentRead=True,
        ).get("Item")
        if not item or self._expired(item):
            return None
        return SessionRecord(**_decode(item, _SESSION_FIELDS))

    def update_session(
        self, session_id: str, expect: Mapping[str, object], **changes: object
    ) -> bool:
        check_session_changes(changes)
        check_session_changes(expect)
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
        if "refresh_expires_at" in changes and changes["refresh_expires_at"] is not None:
            # an SFU's session lives as long as its refresh credential; a participant's ends
            names["#ttl"], names["#ends"] = TTL_ATTRIBUTE, "ends_at"
            values[":rexp"] = _attr(changes["refresh_expires_at"])
            sets.append("#ttl = if_not_exists(#ends, :rexp)")
        conditions = ["attribute_exists(pk)"]
        for j, (key, value) in enumerate(expect.items()):
            names[f"#e{j}"] = key
            if value is None:
                conditions.append(f"attribute_not_exists(#e{j})")
            else:
                values[f":e{j}"] = _attr(value)
                conditions.append(f"#e{j} = :e{j}")
        update = ("SET " + ", ".join(sets)) if sets else ""
        if removes:
            update += " REMOVE " + ", ".join(removes)
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": _key(f"session#{session_id}", "session"),
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

    def delete_session(self, session_id: str) -> None:
        self._db.delete_item(
            TableName=self.table_name, Key=_key(f"session#{session_id}", "session")
        )

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
        started_by = "SET sfu_started_by = :by" if address is not None else ""
        values: dict[str, Any] = {
            ":starting": {"S": "starting"},
            ":none": {"S": "none"},
            ":sid": {"S": sfu_id},
            ":now": _num(now),
        }
        if address is not None:
            values[":by"] = {"S": address}
        room_update = (
            "SET sfu_state = :starting, sfu_id = :sid, sfu_changed_at = :now, "
            "empty_since = :now, waiting_since = :now"
            + (", sfu_started_by = :by" if started_by else "")
            + " REMOVE sfu_handle, sfu_connection_id"
            + ("" if started_by else ", sfu_started_by")
        )
        writes: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _key(f"room#{room_id}", "room"),
                    "UpdateExpression": room_update,
                    "ConditionExpression": "attribute_exists(pk) AND sfu_state = :none",
                    "ExpressionAttributeValues": values,
                }
            },
            self._count_update("all", 1, max_total),
        ]
        if address is not None:
            writes.append(self._count_update(f"addr#{address}", 1, max_per_address))
        reasons = self._transact(writes)
        if reasons is None:
            return SfuClaim.CLAIMED
        if reasons[0] == _CONDITION_FAILED:
            return SfuClaim.BUSY if self.get_room(room_id) is not None else SfuClaim.NO_ROOM
        if len(reasons) > 1 and reasons[1] == _CONDITION_FAILED:
            return SfuClaim.DEPLOYMENT_FULL
        if len(reasons) > 2 and reasons[2] == _CONDITION_FAILED:
            return SfuClaim.ADDRESS_FULL
        return SfuClaim.BUSY

    def _count_update(self, sk: str, delta: int, limit: int | None = None) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": _key(_SFUS, sk),
            "UpdateExpression": "ADD n :d",
            "ExpressionAttributeValues": {":d": {"N": str(delta)}},
        }
        if limit is not None:
            update["ConditionExpression"] = "attribute_not_exists(n) OR n < :limit"
            update["ExpressionAttributeValues"][":limit"] = {"N": str(limit)}
        return {"Update": update}

    def release_sfu(self, room_id: str, sfu_id: str | None, now: float) -> bool:
        room = self.get_room(room_id)
        if room is None or room.sfu_state == "none" or room.sfu_id != sfu_id:
            return False
        values: dict[str, Any] = {":none": {"S": "none"}, ":now": _num(now)}
        condition = "attribute_exists(pk) AND sfu_state <> :none"
        if sfu_id is None:
            condition += " AND attribute_not_exists(sfu_id)"
        else:
            condition += " AND sfu_id = :sid"
            values[":sid"] = {"S": sfu_id}
        writes: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _key(f"room#{room_id}", "room"),
                    "UpdateExpression": (
                        "SET sfu_state = :none, sfu_changed_at = :now REMOVE sfu_id, "
                        "sfu_handle, sfu_connection_id, sfu_started_by, waiting_since"
                    ),
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": values,
                }
            },
            self._count_update("all", -1),
        ]
        if room.sfu_started_by is not None:
            writes.append(self._count_update(f"addr#{room.sfu_started_by}", -1))
        return self._transact(writes) is None

    def expire_room(self, room_id: str, empty_since: float) -> bool:
        try:
            self._db.delete_item(
                TableName=self.table_name,
                Key=_key(f"room#{room_id}", "room"),
                ConditionExpression=(
                    "sfu_state = :none AND empty_since = :since "
                    "AND (attribute_not_exists(seats) OR seats <= :zero)"
                ),
                ExpressionAttributeValues={
                    ":none": {"S": "none"},
                    ":since": _num(empty_since),
                    ":zero": {"N": "0"},
                },
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def sweep(self, now: float) -> None:
        """Recount each room's seats and the SFU counters (TTL deletes expired items).

        Each count is read before what it counts and written back only if unchanged, so a
        concurrent admission or claim is never overwritten by a stale count.
        """
        counters = {
            str(item["sk"]["S"]): int(item["n"]["N"]) for item in self._query(_SFUS) if "n" in item
        }
        rooms = list(
            self._scan(
                FilterExpression="sk = :room", ExpressionAttributeValues={":room": {"S": "room"}}
            )
        )
        wanted: dict[str, int] = {"all": 0}
        for item in rooms:
            room = _room(item)
            if room.sfu_state != "none":
                wanted["all"] += 1
                if room.sfu_started_by is not None:
                    key = f"addr#{room.sfu_started_by}"
                    wanted[key] = wanted.get(key, 0) + 1
            held = len([c for c in self.list_connections(room.room_id) if c.role in SEAT_ROLES])
            seats = int(item["seats"]["N"]) if "seats" in item else 0
            if seats != held:
                self._set_count(_key(f"room#{room.room_id}", "room"), "seats", seats, held)
        for sk in set(counters) | set(wanted):
            if counters.get(sk, 0) != wanted.get(sk, 0):
                self._set_count(_key(_SFUS, sk), "n", counters.get(sk), wanted.get(sk, 0))

    def _set_count(self, key: dict[str, Any], name: str, old: int | None, new: int) -> None:
        condition = f"attribute_not_exists({name})" if old is None else f"{name} = :old"
        values: dict[str, Any] = {":new": {"N": str(new)}}
        if old is not None:
            values[":old"] = {"N": str(old)}
        if key["sk"]["S"] == "room":
            condition = f"attribute_exists(pk) AND ({condition})"
        try:
            self._db.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression=f"SET {name} = :new",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise

    def _query(self, pk: str) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
        }
        while True:
            resp = self._db.query(**params)
            yield from resp.get("Items", [])
            if "LastEvaluatedKey" not in resp:
                return
            params["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    # helpers
    def _expired(self, item: dict[str, Any]) -> bool:
        ttl = item.get(TTL_ATTRIBUTE)
        return ttl is not None and float(ttl["N"]) <= self._clock()

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


def _num(value: float) -> dict[str, str]:
    return {"N": str(Decimal(repr(value)))}


def _session_ttl(session: SessionRecord) -> float:
    return session.ends_at if session.ends_at is not None else session.refresh_expires_at


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
