"""Consumers: one connection per remote producer, each offered by the SFU and answered here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiortc import MediaStreamTrack, RTCConfiguration, RTCSessionDescription

from arbiter_protocol import Handshake, IceCandidate, Message, SessionDescription
from arbiter_rtc import PeerConnection, TaskSet

from ._progress import RoomLog, apply_candidate
from ._stats import Meter

__all__ = ["Consumer", "Consumers"]


class Consumer(PeerConnection):
    """The peer connection that carries one remote producer's media to this client."""

    def __init__(
        self,
        producer_id: str,
        configuration: RTCConfiguration,
        on_failed: Callable[[Consumer], None],
    ) -> None:
        super().__init__(configuration, on_failed)
        self.producer_id = producer_id
        self.lock = asyncio.Lock()
        "Held while the offer is applied and answered."
        self.pending: list[IceCandidate] = []
        "Candidates that came before the offer."
        self.new_tracks: list[MediaStreamTrack] = []
        "Tracks the offer brought, not yet handed to the roster."
        self.dropped = False
        "True once the consumer left its :class:`Consumers` (it is closing or closed)."
        self.meter = Meter()
        "Byte counters for ``room.stats()``."
        self.pc.on("track", self.new_tracks.append)

    def __repr__(self) -> str:
        return f"consumer({self.producer_id}, {self.pc.connectionState})"


class Consumers:
    """The room's consumer connections, by the id of the producer each carries.

    The SFU offers, the client answers (``send`` carries the answer); the tracks of each
    answered offer go to ``on_tracks``. ``on_dropped(producer_id)`` is called when a
    consumer goes away (its tracks end). A consumer that fails while ``active()`` is
    dropped; the SFU offers a new one when it can.
    """

    def __init__(
        self,
        configuration: Callable[[], RTCConfiguration],
        *,
        send: Callable[[Message], Awaitable[None]],
        tasks: TaskSet,
        log: RoomLog,
        on_tracks: Callable[[str, list[MediaStreamTrack]], None],
        on_dropped: Callable[[str], None],
        active: Callable[[], bool],
    ) -> None:
        self._configuration = configuration
        self._send = send
        self._tasks = tasks
        self._log = log
        self._on_tracks = on_tracks
        self._on_dropped = on_dropped
        self._active = active
        self._consumers: dict[str, Consumer] = {}

    def items(self) -> list[tuple[str, Consumer]]:
        """``(producer id, consumer)`` of every consumer now."""
        return list(self._consumers.items())

    def handshake(self, message: Handshake) -> None:
        """An offer or a trickled candidate from the SFU for the consumer of ``producer_id``."""
        producer_id = message.producer_id
        assert producer_id is not None  # the protocol requires it for consumers
        if message.sdp is not None:
            if message.sdp.type != "offer":
                self._log.warning("ignoring a consumer %s: the SFU offers", message.sdp.type)
            else:
                self._tasks.spawn(self._answer(producer_id, message.sdp), f"consumer:{producer_id}")
        if message.candidate is not None:
            consumer = self._consumers.get(producer_id)
            if consumer is None or consumer.pc.remoteDescription is None:
                if consumer is None:
                    consumer = self._new(producer_id)
                consumer.pending.append(message.candidate)
            else:
                self._tasks.spawn(
                    apply_candidate(consumer, message.candidate, self._log),
                    f"consumer-candidate:{producer_id}",
                )

    def _new(self, producer_id: str) -> Consumer:
        consumer = Consumer(producer_id, self._configuration(), self._failed)
        self._consumers[producer_id] = consumer
        return consumer

    async def _answer(self, producer_id: str, offer: SessionDescription) -> None:
        consumer = self._consumers.get(producer_id)
        if consumer is not None and consumer.pc.remoteDescription is not None:
            # a new offer for a connection already negotiated: the SFU made a new one
            self._log.debug("new consumer offer for %s replaces the old one", producer_id)
            await self.drop(producer_id, consumer)
            consumer = None
        if consumer is None:
            consumer = self._new(producer_id)
        async with consumer.lock:
            if consumer.dropped:
                return
            pc = consumer.pc
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type="offer"))
            pending, consumer.pending = consumer.pending, []
            for candidate in pending:
                await apply_candidate(consumer, candidate, self._log)
            await pc.setLocalDescription(await pc.createAnswer())
            await self._send(
                Handshake(
                    connection="consumer",
                    producer_id=producer_id,
                    sdp=SessionDescription(type="answer", sdp=pc.localDescription.sdp),
                )
            )
            tracks, consumer.new_tracks = consumer.new_tracks, []
        self._on_tracks(producer_id, tracks)

    def _failed(self, consumer: Consumer) -> None:
        if self._active() and not consumer.dropped:
            self._tasks.spawn(
                self.drop(consumer.producer_id, consumer),
                f"consumer-failed:{consumer.producer_id}",
            )

    async def drop(self, producer_id: str, only: Consumer | None = None) -> None:
        """Close the consumer for ``producer_id`` (if it is still ``only``, when given)."""
        consumer = self._consumers.get(producer_id)
        if only is not None and consumer is not only:
            return
        if consumer is not None:
            del self._consumers[producer_id]
            consumer.dropped = True
        self._on_dropped(producer_id)
        if consumer is not None:
            async with consumer.lock:
                await consumer.close()

    def detach(self) -> list[Consumer]:
        """Take every consumer out (now, synchronously) for the caller to close."""
        consumers = list(self._consumers.values())
        for consumer in consumers:
            consumer.dropped = True
        self._consumers.clear()
        return consumers
