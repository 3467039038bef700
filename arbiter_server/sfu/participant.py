"""Participant: what the SFU holds for one participant of its room."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from arbiter_protocol import ErrorCode, ProtocolError, TrackState

from ..store.base import gcra
from .consumer import Consumer
from .producer import Producer
from .subscriptions import Subscriptions

__all__ = ["Participant", "RateLimiter"]


class RateLimiter:
    """An in-memory token bucket: ``capacity`` per ``window`` seconds, bursts of ``capacity``.

    The same algorithm as the store's rate limits (:func:`~arbiter_server.store.base.gcra`).
    """

    def __init__(self, capacity: int, window: float) -> None:
        self.capacity = capacity
        self.window = window
        self._tat: float | None = None
        self.refused = 0
        "Requests refused since the last one allowed."

    def refusal(self, what: str) -> ProtocolError | None:
        """The ``rate_limited`` answer to give now: for the first refused request of a
        burst and every 50th after it (a flood gets few answers); None otherwise."""
        if self.refused != 1 and self.refused % 50 != 0:
            return None
        return ProtocolError(
            ErrorCode.RATE_LIMITED,
            f"more than {self.capacity} {what} in {self.window:g} s; {self.refused} dropped so far",
        )

    def allow(self, now: float | None = None) -> bool:
        """Count one request; False (and nothing counted) when the bucket is empty."""
        allowed, tat = gcra(
            self._tat, time.monotonic() if now is None else now, self.capacity, self.window
        )
        if allowed:
            self._tat = tat
            self.refused = 0
        else:
            self.refused += 1
        return allowed


@dataclass(eq=False)
class Participant:
    """One participant: its producer connection and the consumer connection to it."""

    id: str
    "Participant id, as stamped by signaling."
    name: str = ""
    "Display name."
    producer: Producer | None = None
    "Its producer connection, once it offered one."
    consumer: Consumer | None = None
    "The connection carrying other participants' tracks to it."
    track_states: dict[str, TrackState] = field(default_factory=dict)
    """Its latest (stamped) mute state per track id (``microphone``, ``camera``, ``screen``
    ...), repeated to late joiners."""
    grants: frozenset[str] | None = None
    "What its join token allows (``publish``, ``subscribe``, ``data``); None: everything."
    subscriptions: Subscriptions = field(default_factory=Subscriptions)
    """What it asked to receive (``subscription`` messages), by publisher and track. Kept
    for consumers made later (a producer that publishes again, a re-offer)."""
    locked: dict[str, str] = field(default_factory=dict)
    """Kinds a moderator holds muted -> who (a moderator's participant id, or ``app``): the
    SFU forwards none of them and refuses the participant's own unmute."""
    data_limit: RateLimiter = field(default_factory=lambda: RateLimiter(200, 10.0))
    "Its data-channel messages (``data``, ``track_state``, ``subscription``), per producer."

    def may(self, grant: str) -> bool:
        """Whether the participant's token grants ``grant``."""
        return self.grants is None or grant in self.grants

    def remember(self, state: TrackState) -> None:
        """Keep ``state`` as its track's latest (a state without ``track_id`` is its
        ``microphone`` or ``camera``, as the protocol says)."""
        main = "microphone" if state.kind == "audio" else "camera"
        self.track_states[state.track_id or main] = state
