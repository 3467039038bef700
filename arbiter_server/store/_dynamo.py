"""Shared plumbing of the DynamoDB store: item encoding and the table's common reads.

See :mod:`.dynamodb` for the item layout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from .base import ConnectionRecord, RoomRecord, SessionRecord

__all__ = ["CONNECTION_TTL", "TTL_ATTRIBUTE", "DynamoTable", "Update"]

TTL_ATTRIBUTE = "expires_at"
"The table's time-to-live attribute (Unix seconds)."

CONNECTION_TTL = 3 * 3600
"Seconds a connection record outlives its last write (API Gateway's limit is 2 h)."

ROOM_FIELDS = [f.name for f in fields(RoomRecord)]
CONN_FIELDS = [f.name for f in fields(ConnectionRecord)]
SESSION_FIELDS = [f.name for f in fields(SessionRecord)]
# numbers come back as text: the records' annotations say which are floats
_FLOAT_FIELDS = {
    f.name
    for f in (*fields(RoomRecord), *fields(ConnectionRecord), *fields(SessionRecord))
    if "float" in str(f.type)
}
SFUS = "sfus"
"Partition of the SFU slot counters."
CONDITION_FAILED = "ConditionalCheckFailed"
"A transaction item's cancellation code when its condition did not hold."


class Update:
    """An ``UpdateItem`` being built: ``SET``/``REMOVE`` of fields, conditions, placeholders."""

    def __init__(self, changes: Mapping[str, object]) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.sets: list[str] = []
        self.removes: list[str] = []
        self.conditions = ["attribute_exists(pk)"]
        for i, (name, value) in enumerate(changes.items()):
            self.names[f"#f{i}"] = name
            if value is None:
                self.removes.append(f"#f{i}")
            else:
                self.values[f":v{i}"] = attr(value)
                self.sets.append(f"#f{i} = :v{i}")

    def expect(self, expect: Mapping[str, object]) -> None:
        """Add conditions: each field has that value (None: the field is not set)."""
        for j, (name, value) in enumerate(expect.items()):
            self.names[f"#e{j}"] = name
            if value is None:
                self.conditions.append(f"attribute_not_exists(#e{j})")
            else:
                self.values[f":e{j}"] = attr(value)
                self.conditions.append(f"#e{j} = :e{j}")

    def params(self, table: str, key: dict[str, Any]) -> dict[str, Any]:
        """The ``update_item`` parameters."""
        update = ("SET " + ", ".join(self.sets)) if self.sets else ""
        if self.removes:
            update += " REMOVE " + ", ".join(self.removes)
        params: dict[str, Any] = {
            "TableName": table,
            "Key": key,
            "UpdateExpression": update.strip(),
            "ConditionExpression": " AND ".join(self.conditions),
            "ExpressionAttributeNames": self.names,
        }
        if self.values:
            params["ExpressionAttributeValues"] = self.values
        return params


class DynamoTable:
    """The table, its client and clock, and the reads every part of the store uses."""

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

    def _apply(self, update: Update, key: dict[str, Any]) -> bool:
        """Run ``update`` on the item ``key``; False when its conditions do not hold."""
        try:
            self._db.update_item(**update.params(self.table_name, key))
        except ClientError as exc:
            if code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _transact(self, writes: list[dict[str, Any]]) -> list[str] | None:
        """Run a transaction; None if it applied, else each item's cancellation code."""
        try:
            self._db.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if code(exc) != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            return [str(r.get("Code", "")) for r in reasons] or ["?"]
        return None

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


def code(exc: ClientError) -> str:
    """The AWS error code of a botocore ``ClientError``."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def pk_sk(pk: str, sk: str) -> dict[str, Any]:
    """An item's key."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def num(value: float) -> dict[str, str]:
    """A number attribute value."""
    return {"N": str(Decimal(repr(value)))}


def session_ttl(session: SessionRecord) -> float:
    """When a session item expires: its end, or an SFU's credential expiry."""
    return session.ends_at if session.ends_at is not None else session.refresh_expires_at


def attr(value: object) -> dict[str, Any]:
    """The attribute value of a record field."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(Decimal(repr(value)))}
    if isinstance(value, str):
        return {"S": value}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def encode(data: dict[str, Any], pk: str, sk: str) -> dict[str, Any]:
    """An item from a record's fields (None fields left out)."""
    item = pk_sk(pk, sk)
    for name, value in data.items():
        if value is not None:
            item[name] = attr(value)
    return item


def _value(name: str, value: dict[str, Any]) -> object:
    if "BOOL" in value:
        return bool(value["BOOL"])
    if "N" in value:
        return float(value["N"]) if name in _FLOAT_FIELDS else int(value["N"])
    return str(value["S"])


def decode(item: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """A record's fields from an item."""
    return {n: _value(n, item[n]) for n in names if n in item}


def room_of(item: dict[str, Any]) -> RoomRecord:
    """The room an item holds."""
    return RoomRecord(**decode(item, ROOM_FIELDS))


def conn_of(item: dict[str, Any]) -> ConnectionRecord:
    """The connection an item holds."""
    return ConnectionRecord(**decode(item, CONN_FIELDS))
