"""RoomTicker: the periodic work of one SFU room (layer rates, NACK retries, probing,
RTCP, active speakers)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from arbiter_protocol import ActiveSpeakers, encode_message
from arbiter_rtc import TaskSet

from .forwarder import TrackForwarder
from .participant import Participant
from .producer import Producer
from .relay import DataRelay
from .speakers import SpeakerDetector

__all__ = ["RTCP_EVERY", "TICK", "RoomTicker"]

logger = logging.getLogger(__name__)

TICK = 0.25
"Seconds between two rounds of periodic work (layer rates, NACK retries, probing)."

RTCP_EVERY = 4
"Every connection sends its periodic RTCP once in this many ticks (about once a second)."


class RoomTicker:
    """Runs a room's periodic work every :data:`TICK` once the room has a track.

    ``participants`` and ``tracks`` are the room's tables (read, never changed); ``relay``
    carries ``active_speakers`` to every data channel when the list changes.
    """

    def __init__(
        self,
        room_id: str,
        participants: Mapping[str, Participant],
        tracks: Mapping[tuple[str, str], TrackForwarder],
        relay: DataRelay,
    ) -> None:
        self._room_id = room_id
        self._participants = participants
        self._tracks = tracks
        self._relay = relay
        self._speakers = SpeakerDetector()
        self._tasks = TaskSet(f"room[{room_id}]:tick")
        self._running = False

    def start(self) -> None:
        """Start ticking (once; not after :meth:`close`)."""
        if not self._running and not self._tasks.closed:
            self._running = True
            self._tasks.spawn(self._loop(), "tick")

    async def close(self) -> None:
        """Stop ticking."""
        await self._tasks.close()

    def channel_opened(self, producer: Producer) -> None:
        """A data channel opened: tell it who speaks now (if anybody does)."""
        if self._speakers.speakers:
            producer.send(encode_message(ActiveSpeakers(speakers=self._speakers.speakers)))

    async def _loop(self) -> None:
        """Layer rates, NACK retries and layer probing; each connection's RTCP every
        :data:`RTCP_EVERY` ticks (the connections take turns)."""
        count = 0
        while True:
            await asyncio.sleep(TICK)
            count += 1
            self.tick(count, time.monotonic())

    def tick(self, count: int, now: float) -> None:
        """One round of periodic work (``count``: ticks so far)."""
        for forwarder in list(self._tracks.values()):
            try:
                forwarder.tick(now)
            except Exception:
                logger.exception("room %s: %r tick failed", self._room_id, forwarder)
        speakers = self._speakers.tick(self._tracks.values())
        if speakers is not None:
            logger.debug("room %s: active speakers %s", self._room_id, speakers)
            self._relay.broadcast(encode_message(ActiveSpeakers(speakers=speakers)))
        for index, participant in enumerate(list(self._participants.values())):
            if (index + count) % RTCP_EVERY:
                continue
            for connection in (participant.producer, participant.consumer):
                if connection is None or connection.closed:
                    continue
                try:
                    connection.rtcp_tick(now)
                except Exception:
                    logger.exception("room %s: %r RTCP failed", self._room_id, connection)
