"""Server configuration shared by the handlers, whichever way they are run."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Settings"]


@dataclass
class Settings:
    """What the Room API and signaling handlers need to know about their deployment."""

    public_url: str
    "Base URL of the Room API, e.g. ``http://127.0.0.1:8080``; room URLs are built on it."
    signaling_url: str
    "WebSocket URL clients and SFUs connect to, e.g. ``ws://127.0.0.1:8080/ws``."
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    "HMAC key for join tokens and SFU credentials; never leaves the server."
    token_ttl: int = 600
    "Seconds a join token stays valid for ``identify``."
    sfu_token_ttl: int = 24 * 3600
    "Seconds an SFU credential stays valid."
    turn_ttl: int = 6 * 3600
    "Seconds the TURN credentials a join hands out stay valid (locally and on AWS)."
    open_room_creation: bool = True
    "Anyone may create rooms; when false, ``POST /rooms`` needs ``api_key``."
    api_key: str | None = None
    "The key for ``x-api-key`` when room creation is closed."
    pool_size: int = 1
    "Ready rooms (SFU started) kept waiting to be handed out by ``POST /rooms``."
    empty_room_grace: float = 30.0
    "Seconds an empty room keeps its SFU before it is stopped."
    sfu_start_timeout: float = 60.0
    "Seconds an SFU may take to identify before its start counts as failed."
    max_participants: int = 16
    "Most participants one room admits."
    reconnect_grace: float = 15.0
    "Seconds a participant whose socket dropped is kept before the room hears it left."
    resume_window: int = 3600
    "Seconds past its expiry a join token may still be used to rejoin as the same participant."
    rate_limit: int = 120
    "Most signaling messages one connection may send per ``rate_window`` seconds."
    rate_window: float = 10.0
    "Length of the signaling rate-limit window in seconds."
    web_dir: Path | None = None
    "The built web demo served at room URLs to browsers (None: a page saying it is not built)."
