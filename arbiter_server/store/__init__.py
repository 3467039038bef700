"""State of rooms and connections: the interface and its implementations."""

from typing import TYPE_CHECKING

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
)
from .sqlite import SQLiteStore

if TYPE_CHECKING:  # imported lazily below (needs botocore)
    from .dynamodb import DynamoDBStore

__all__ = [
    "SEAT_ROLES",
    "Admission",
    "ConnectionRecord",
    "DynamoDBStore",
    "Role",
    "RoomRecord",
    "SQLiteStore",
    "SessionRecord",
    "SfuClaim",
    "SfuState",
    "Store",
    "StoreUnavailable",
]


def __getattr__(name: str) -> object:
    # the AWS adapter needs botocore: import it only when asked for
    if name == "DynamoDBStore":
        from .dynamodb import DynamoDBStore

        return DynamoDBStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
