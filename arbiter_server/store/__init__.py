"""State of rooms and connections: the interface and its implementations."""

from .base import ConnectionRecord, Role, RoomRecord, SfuState, Store
from .sqlite import SQLiteStore

__all__ = ["ConnectionRecord", "Role", "RoomRecord", "SQLiteStore", "SfuState", "Store"]
