"""RoomStats: what one SFU room holds and forwards, counted for logs, tests and operators.

The SFU process writes it to its state file (:class:`~.service.SfuConfig`); tests read
it there to see what a subscriber really receives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .participant import Participant

__all__ = ["RoomStats", "room_stats"]


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
    receiving: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per subscriber id: how many ``audio`` and ``video`` tracks its consumer connection
    carries and the subscriber has not paused (``subscription``): what it receives."""
    receiving_video: dict[str, list[str]] = field(default_factory=dict)
    "Per subscriber id: ``<publisher id>/<track id>`` of each video track it receives."


def room_stats(participants: Iterable[Participant], forwarders: int) -> RoomStats:
    """The :class:`RoomStats` of ``participants`` (everyone in the room)."""
    everyone = list(participants)
    producers = [p.producer for p in everyone if p.producer]
    consumers = [p.consumer for p in everyone if p.consumer]
    receiving: dict[str, dict[str, int]] = {}
    videos: dict[str, list[str]] = {}
    for participant in everyone:
        counts = {"audio": 0, "video": 0}
        labels = []
        consumer = participant.consumer
        for downtrack in consumer.downtracks if consumer is not None else ():
            if downtrack.forwarder is not None and not downtrack.paused:
                counts[downtrack.kind] = counts.get(downtrack.kind, 0) + 1
                if downtrack.kind == "video":
                    labels.append(downtrack.forwarder.label)
        receiving[participant.id] = counts
        videos[participant.id] = sorted(labels)
    return RoomStats(
        participants=len(everyone),
        producers=len(producers),
        consumers=len(consumers),
        peer_connections=len(producers) + len(consumers),
        forwarders=forwarders,
        forwarded_tracks=sum(len(c.tracks) for c in consumers),
        receiving=receiving,
        receiving_video=videos,
    )
