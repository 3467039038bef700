"""DynamoDB counts that caps are checked against: room seats and SFU slots.

See :mod:`.dynamodb` for the layout. Each cap is a condition on a counter inside the same
transaction as the change it counts; :meth:`CountedItems.sweep` recounts them.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ._dynamo import (
    CONDITION_FAILED,
    SFUS,
    TTL_ATTRIBUTE,
    DynamoTable,
    code,
    encode,
    num,
    pk_sk,
    room_of,
)
from .base import SEAT_ROLES, Admission, ConnectionRecord, Role, RoomRecord, SfuClaim

__all__ = ["CountedItems"]


class CountedItems(DynamoTable):
    """Admissions against the room's ``seats``, SFU claims against the ``sfus`` counters."""

    # provided by DynamoDBStore, the part that holds rooms and connections
    def get_room(self, room_id: str) -> RoomRecord | None:
        """The room, or None."""
        raise NotImplementedError

    def get_connection(self, connection_id: str) -> ConnectionRecord | None:
        """The connection, or None."""
        raise NotImplementedError

    def list_connections(self, room_id: str, role: Role | None = None) -> list[ConnectionRecord]:
        """Connections identified in ``room_id``."""
        raise NotImplementedError

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
                            "Key": pk_sk(f"conn#{replace}", "conn"),
                            "ConditionExpression": "attribute_exists(pk) AND #r = :r",
                            "ExpressionAttributeNames": {"#r": "role"},
                            "ExpressionAttributeValues": {":r": {"S": old.role}},
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self.table_name,
                            "Key": pk_sk(f"room#{room_id}", f"conn#{replace}"),
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
                "Key": pk_sk(f"room#{room_id}", "room"),
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
                    "Item": encode(data, pk=f"conn#{conn.connection_id}", sk="conn"),
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": encode(
                        data, pk=f"room#{conn.room_id}", sk=f"conn#{conn.connection_id}"
                    ),
                }
            },
        ]

    def _add_seats(self, room_id: str, delta: int) -> None:
        try:
            self._db.update_item(
                TableName=self.table_name,
                Key=pk_sk(f"room#{room_id}", "room"),
                UpdateExpression="ADD seats :d",
                ConditionExpression="attribute_exists(pk) AND seats > :zero",
                ExpressionAttributeValues={":d": {"N": str(delta)}, ":zero": {"N": "0"}},
            )
        except ClientError as exc:
            if code(exc) != "ConditionalCheckFailedException":
                raise

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
            ":now": num(now),
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
                    "Key": pk_sk(f"room#{room_id}", "room"),
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
        if reasons[0] == CONDITION_FAILED:
            return SfuClaim.BUSY if self.get_room(room_id) is not None else SfuClaim.NO_ROOM
        if len(reasons) > 1 and reasons[1] == CONDITION_FAILED:
            return SfuClaim.DEPLOYMENT_FULL
        if len(reasons) > 2 and reasons[2] == CONDITION_FAILED:
            return SfuClaim.ADDRESS_FULL
        return SfuClaim.BUSY

    def _count_update(self, sk: str, delta: int, limit: int | None = None) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": pk_sk(SFUS, sk),
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
        values: dict[str, Any] = {":none": {"S": "none"}, ":now": num(now)}
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
                    "Key": pk_sk(f"room#{room_id}", "room"),
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
                Key=pk_sk(f"room#{room_id}", "room"),
                ConditionExpression=(
                    "sfu_state = :none AND empty_since = :since "
                    "AND (attribute_not_exists(seats) OR seats <= :zero)"
                ),
                ExpressionAttributeValues={
                    ":none": {"S": "none"},
                    ":since": num(empty_since),
                    ":zero": {"N": "0"},
                },
            )
        except ClientError as exc:
            if code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def sweep(self, now: float) -> None:
        """Recount each room's seats and the SFU counters (TTL deletes expired items).

        Each count is read before what it counts and written back only if unchanged, so a
        concurrent admission or claim is never overwritten by a stale count.
        """
        counters = {
            str(item["sk"]["S"]): int(item["n"]["N"]) for item in self._query(SFUS) if "n" in item
        }
        rooms = list(
            self._scan(
                FilterExpression="sk = :room", ExpressionAttributeValues={":room": {"S": "room"}}
            )
        )
        wanted: dict[str, int] = {"all": 0}
        for item in rooms:
            room = room_of(item)
            if room.sfu_state != "none":
                wanted["all"] += 1
                if room.sfu_started_by is not None:
                    key = f"addr#{room.sfu_started_by}"
                    wanted[key] = wanted.get(key, 0) + 1
            held = len([c for c in self.list_connections(room.room_id) if c.role in SEAT_ROLES])
            seats = int(item["seats"]["N"]) if "seats" in item else 0
            if seats != held:
                self._set_count(pk_sk(f"room#{room.room_id}", "room"), "seats", seats, held)
        for sk in set(counters) | set(wanted):
            if counters.get(sk, 0) != wanted.get(sk, 0):
                self._set_count(pk_sk(SFUS, sk), "n", counters.get(sk), wanted.get(sk, 0))

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
            if code(exc) != "ConditionalCheckFailedException":
                raise
