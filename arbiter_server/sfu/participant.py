"""Participant: what the SFU holds for one participant of its room."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from arbiter_protocol import TrackState

from .consumer import Consumer
from .producer import Producer
from .subscriptions import Subscriptions

__all__ = ["Participant"]


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
    track_states: dict[Literal["audio", "video"], TrackState] = field(default_factory=dict)
    "Its latest (stamped) mute state per track kind, repeated to late joiners."
    grants: frozenset[str] | None = None
    "What its join token allows (``publish``, ``subscribe``, ``data``); None: everything."
    subscriptions: Subscriptions = field(default_factory=Subscriptions)
    """What it asked to receive (``subscription`` messages), by publisher and track. Kept
    for consumers made later (a producer that publishes again, a re-offer)."""

    def may(self, grant: str) -> bool:
        """Whether the participant's token grants ``grant``."""
        return self.grants is None or grant in self.grants
