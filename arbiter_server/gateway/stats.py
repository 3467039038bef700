"""What the local gateway counts about its WebSockets (for operators and tests)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GatewayStats"]


@dataclass
class GatewayStats:
    """Counters of the gateway's WebSockets since it started.

    ``resumes`` counts, per holder of a socket (``participant:<id>``, ``sfu:<room>``), the
    sockets that took it over with ``resume`` (``identified {resumed: true}`` went out): how
    often each holder's socket was replaced.
    """

    opened: int = 0
    "WebSockets accepted."
    closed: Counter[str] = field(default_factory=Counter)
    """WebSockets closed, by why: ``client`` (the client closed it), ``idle``, ``age``,
    ``too_big`` (a frame over 32 KB or a message over 128 KB), ``server`` (the handlers
    closed it: a takeover, a session's end)."""
    keepalives: int = 0
    "``keepalive`` messages answered ``keepalive_ack``."
    keepalives_limited: int = 0
    "``keepalive`` messages answered ``rate_limited``."
    resumes: Counter[str] = field(default_factory=Counter)
    "Sockets that took a holder over (``resume``), by holder."

    def sent(self, text: str) -> None:
        """Look at a message going out: count an ``identified`` that resumed a holder."""
        if not text.startswith('{"action":"identified"'):
            return
        try:
            data = json.loads(text)
        except ValueError:
            return
        if not data.get("resumed"):
            return
        if data.get("role") == "sfu":
            self.resumes[f"sfu:{data.get('room_id')}"] += 1
        else:
            self.resumes[f"participant:{data.get('participant_id')}"] += 1

    def snapshot(self) -> dict[str, Any]:
        """The counters as JSON-ready data."""
        return {
            "opened": self.opened,
            "closed": dict(self.closed),
            "keepalives": self.keepalives,
            "keepalives_limited": self.keepalives_limited,
            "resumes": dict(self.resumes),
        }
