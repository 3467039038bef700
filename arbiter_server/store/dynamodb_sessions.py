"""DynamoDB items of sessions and rate limits (see :mod:`.dynamodb` for the layout)."""

from __future__ import annotations

from collections.abc import Mapping

from botocore.exceptions import ClientError

from ._dynamo import (
    SESSION_FIELDS,
    TTL_ATTRIBUTE,
    DynamoTable,
    Update,
    attr,
    code,
    decode,
    encode,
    num,
    pk_sk,
    session_ttl,
)
from .base import SessionRecord, check_session_changes

__all__ = ["SessionItems"]


class SessionItems(DynamoTable):
    """Sessions (``session#<id>``) and token buckets (``limit#<key>``)."""

    def allow(self, key: str, now: float, capacity: int, window: float) -> bool:
        item_key = pk_sk(f"limit#{key}", "limit")
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
                        ":tat": num(now + interval),
                        ":ttl": num(now + interval + window),
                        ":now": num(now),
                    },
                )
                return True
            except ClientError as exc:
                if code(exc) != "ConditionalCheckFailedException":
                    raise
            try:  # a bucket in use with room left
                self._db.update_item(
                    TableName=self.table_name,
                    Key=item_key,
                    UpdateExpression="SET tat = tat + :i, #ttl = tat + :iw",
                    ConditionExpression="tat >= :now AND tat <= :limit",
                    ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                    ExpressionAttributeValues={
                        ":i": num(interval),
                        ":iw": num(interval + window),
                        ":now": num(now),
                        ":limit": num(now + tolerance),
                    },
                )
                return True
            except ClientError as exc:
                if code(exc) != "ConditionalCheckFailedException":
                    raise
            item = self._db.get_item(
                TableName=self.table_name, Key=item_key, ConsistentRead=True
            ).get("Item")
            if item is not None and float(item["tat"]["N"]) - now > tolerance:
                return False
            # the bucket changed between our writes: try again
        return False

    def create_session(self, session: SessionRecord) -> bool:
        data = dict(session.__dict__, **{TTL_ATTRIBUTE: session_ttl(session)})
        try:
            self._db.put_item(
                TableName=self.table_name,
                Item=encode(data, pk=f"session#{session.session_id}", sk="session"),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get_session(self, session_id: str) -> SessionRecord | None:
        item = self._db.get_item(
            TableName=self.table_name,
            Key=pk_sk(f"session#{session_id}", "session"),
            ConsistentRead=True,
        ).get("Item")
        if not item or self._expired(item):
            return None
        return SessionRecord(**decode(item, SESSION_FIELDS))

    def update_session(
        self, session_id: str, expect: Mapping[str, object], **changes: object
    ) -> bool:
        check_session_changes(changes)
        check_session_changes(expect)
        update = Update(changes)
        if changes.get("refresh_expires_at") is not None:
            # an SFU's session lives as long as its refresh credential; a participant's ends
            update.names["#ttl"], update.names["#ends"] = TTL_ATTRIBUTE, "ends_at"
            update.values[":rexp"] = attr(changes["refresh_expires_at"])
            update.sets.append("#ttl = if_not_exists(#ends, :rexp)")
        update.expect(expect)
        return self._apply(update, pk_sk(f"session#{session_id}", "session"))

    def delete_session(self, session_id: str) -> None:
        self._db.delete_item(
            TableName=self.table_name, Key=pk_sk(f"session#{session_id}", "session")
        )
