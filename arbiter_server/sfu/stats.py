"""RoomStats: counts of what an SFU room holds (its state file, logs, tests, the soak)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .participant import Participant

__all__ = ["RoomStats"]


@dataclass(frozen=True)
class RoomStats:
    """Counts of what the room holds, for logs and tests."""

    participants: int
    "Participants known to the SFU."
    producers: int
    "Producer peer connections."
    consumers: int
    "Consumer peer connections (one per subscriber)."
    peer_connections: int
    "All peer connections (producers + consumers)."
    forwarders: int
    "Published tracks being forwarded."
    forwarded_tracks: int
    "Consumer media sections carrying a track."

    @classmethod
    def of(cls, participants: Sequence[Participant], forwarders: int) -> RoomStats:
        """The counts for a room's ``participants`` and number of published tracks."""
        producers = [p.producer for p in participants if p.producer]
        consumers = [p.consumer for p in participants if p.consumer]
        return cls(
            participants=len(participants),
            producers=len(producers),
            consumers=len(consumers),
            peer_connections=len(producers) + len(consumers),
            forwarders=forwarders,
            forwarded_tracks=sum(len(c.tracks) for c in consumers),
        )
