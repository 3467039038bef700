"""Server configuration shared by the handlers, whichever way they are run."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Settings"]


@dataclass
class Settings:
    """What the Room API and signaling handlers need to know about their deployment.

    Times are seconds. ``docs/security.md`` lists what each limit protects.
    """

    public_url: str
    "Base URL of the Room API, e.g. ``http://127.0.0.1:8080``; room URLs are built on it."
    signaling_url: str
    "WebSocket URL clients and SFUs connect to, e.g. ``ws://127.0.0.1:8080/ws``."
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    "HMAC key for join tokens and SFU bootstrap codes; never leaves the server."
    # sessions
    token_ttl: int = 600
    "How long a join token may wait before its (single) ``identify``."
    refresh_ttl: int = 3600
    "How long a refresh credential works; each ``refresh`` or ``resume`` issues a new one."
    session_lifetime: int = 12 * 3600
    "How long a participant's session lasts from its join; then ``session_expired``."
    sfu_bootstrap_ttl: int = 300
    "How long the bootstrap code a launcher hands an SFU works (once) for its ``identify``."
    turn_ttl: int = 6 * 3600
    "How long the TURN credentials a join hands out work (locally and on AWS)."
    # rooms and SFUs
    open_room_creation: bool = True
    "Anyone may create rooms; when false, ``POST /rooms`` needs ``api_key``."
    api_key: str | None = None
    """The deployment's API key: ``x-api-key`` of the server API (and of ``POST /rooms``
    when room creation is closed); it signs join grants and webhook deliveries."""
    private_rooms: bool = False
    """Rooms made without saying (pooled ones, ``POST /rooms``, dev's demo room) are
    private: joining needs a grant from the app (``deploy``: true; ``dev``: false)."""
    webhook_url: str | None = None
    "Where events are posted (the server API's ``PUT /v1/webhook`` overrides it)."
    webhook_attempts: int = 6
    "Deliveries of one event before it is given up (locally; on AWS per receive)."
    webhook_backoff: float = 0.5
    "Seconds before the second delivery of a failed event; doubled after each failure..."
    webhook_backoff_max: float = 8.0
    "... up to this many seconds."
    webhook_timeout: float = 5.0
    "Seconds one delivery may take."
    pool_size: int = 1
    "Ready rooms (SFU started) kept waiting to be handed out by ``POST /rooms``."
    empty_room_grace: float = 30.0
    "How long a room that has become empty keeps its SFU."
    identify_timeout: float = 30.0
    "How long an SFU started by a join waits for one of its joiners to identify."
    room_idle_ttl: float = 3600.0
    "How long a room without participants or SFU lives (named and demo rooms too)."
    sfu_start_timeout: float = 60.0
    "How long an SFU may take to identify before its start counts as failed."
    max_sfus: int = 20
    "Most rooms with an SFU (starting or running) at once, pooled rooms included."
    max_sfus_per_address: int = 5
    "Most rooms with an SFU that requests from one client address may have started."
    max_participants: int = 16
    "Seats per room: participants, away ones and viewers each hold one."
    idle_timeout: int = 600
    """Seconds a WebSocket may carry no message from its client before it is closed (API
    Gateway's 10 minutes; the local gateway enforces it, ``identified`` tells clients)."""
    max_connection_age: int = 7200
    "Seconds after which every WebSocket is closed (API Gateway's 2 hours)."
    reconnect_grace: float = 15.0
    "How long a participant whose socket dropped keeps its seat before the room hears it left."
    # rate limits (token buckets: so many per window, in bursts of up to so many)
    rate_limit: int = 120
    "Signaling messages one connection may send per ``rate_window``."
    rate_window: float = 10.0
    "Window of ``rate_limit``."
    session_rate_limit: int = 10
    "``identify``, ``resume`` and ``leave`` per participant (or SFU) per window."
    session_rate_window: float = 60.0
    "Window of ``session_rate_limit``."
    update_rate_limit: int = 20
    "``update_participant`` (new name, hand) per participant per ``session_rate_window``."
    join_rate_limit: int = 30
    "``POST /rooms/{id}/join`` requests per client address per window."
    create_rate_limit: int = 10
    "``POST /rooms`` requests per client address per window."
    api_rate_limit: int = 600
    "Server API (``/v1/...``) requests per client address per window."
    http_rate_window: float = 60.0
    "Window of ``join_rate_limit``, ``create_rate_limit`` and ``api_rate_limit``."
    data_rate_limit: int = 200
    "Data-channel messages one participant may send the SFU per ``data_rate_window``."
    data_rate_window: float = 10.0
    "Window of ``data_rate_limit``."

    def __post_init__(self) -> None:
        if self.refresh_ttl < self.token_ttl:
            raise ValueError("refresh_ttl must be at least token_ttl")
        for name in (
            "rate_limit",
            "session_rate_limit",
            "update_rate_limit",
            "join_rate_limit",
            "create_rate_limit",
            "api_rate_limit",
            "idle_timeout",
            "max_connection_age",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    web_dir: Path | None = None
    "The built web demo served at room URLs to browsers (None: a page saying it is not built)."
