"""Consumers: the one connection that carries every other participant's tracks to this client.

The SFU offers it, and offers it again whenever tracks come or go; each offer says which
track each media section carries (``Handshake.tracks``). A section may go quiet (its
track left) and later carry another track: every section's aiortc track is read for the
life of the connection and its frames go to whichever :class:`RemoteTrack` it carries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import av
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from arbiter_protocol import Handshake, IceCandidate, Message, SessionDescription, TrackInfo
from arbiter_rtc import PeerConnection, TaskSet

from ._progress import RoomLog, apply_candidate
from ._roster import Roster
from ._stats import Meter
from ._track import RemoteTrack

__all__ = ["Consumer", "Consumers"]


class _Section:
    """One media section: the aiortc track it receives and the track it carries now."""

    def __init__(self, mid: str, received: MediaStreamTrack) -> None:
        self.mid = mid
        self.received = received
        self.info: TrackInfo | None = None
        self.track: RemoteTrack | None = None


class Consumer(PeerConnection):
    """The peer connection on which the SFU sends this client the others' tracks."""

    def __init__(self, configuration: RTCConfiguration, on_failed: Callable[[Consumer], None]):
        # max-bundle: with aiortc's default (balanced) policy, the second media section of
        # a kind offered at once stays on a transport that BUNDLE then drops
        super().__init__(
            RTCConfiguration(
                iceServers=configuration.iceServers,
                iceTransportPolicy=configuration.iceTransportPolicy,
                bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
            ),
            on_failed,
        )
        self.lock = asyncio.Lock()
        "Held while an offer is applied and answered."
        self.pending: list[IceCandidate] = []
        "Candidates that came before the first offer."
        self.sections: dict[str, _Section] = {}
        "Media sections by mid."
        self.dropped = False
        "True once the connection left its :class:`Consumers` (it is closing or closed)."
        self.meter = Meter()
        "Byte counters for ``room.stats()``."

    def __repr__(self) -> str:
        return f"consumer({self.pc.connectionState})"


class Consumers:
    """The room's consumer connection (at most one), answered here, its tracks on the roster.

    ``send`` carries the answers. A connection that fails while ``active()`` is dropped
    (its tracks end); the SFU offers a new one when the participant is announced again.
    """

    def __init__(
        self,
        configuration: Callable[[], RTCConfiguration],
        *,
        send: Callable[[Message], Awaitable[None]],
        tasks: TaskSet,
        log: RoomLog,
        roster: Roster,
        active: Callable[[], bool],
    ) -> None:
        self._configuration = configuration
        self._send = send
        self._tasks = tasks
        self._log = log
        self._roster = roster
        self._active = active
        self.consumer: Consumer | None = None
        "The consumer connection, once the SFU offered one."

    def handshake(self, message: Handshake) -> None:
        """An offer or a trickled candidate from the SFU for the consumer connection."""
        if message.sdp is not None:
            if message.sdp.type != "offer":
                self._log.warning("ignoring a consumer %s: the SFU offers", message.sdp.type)
            else:
                self._tasks.spawn(self._answer(message.sdp, message.tracks or []), "consumer")
        if message.candidate is not None:
            consumer = self.consumer
            if consumer is None or consumer.pc.remoteDescription is None:
                if consumer is None:
                    consumer = self._new()
                consumer.pending.append(message.candidate)
            else:
                self._tasks.spawn(
                    apply_candidate(consumer, message.candidate, self._log), "consumer-candidate"
                )

    def _new(self) -> Consumer:
        consumer = Consumer(self._configuration(), self._failed)
        self.consumer = consumer
        return consumer

    async def _answer(self, offer: SessionDescription, tracks: list[TrackInfo]) -> None:
        consumer = self.consumer or self._new()
        async with consumer.lock:
            if consumer.dropped:
                return
            pc = consumer.pc
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type="offer"))
            pending, consumer.pending = consumer.pending, []
            for candidate in pending:
                await apply_candidate(consumer, candidate, self._log)
            await pc.setLocalDescription(await pc.createAnswer())
            for transceiver in pc.getTransceivers():
                mid, received = transceiver.mid, transceiver.receiver.track
                if mid is not None and received is not None and mid not in consumer.sections:
                    section = consumer.sections[mid] = _Section(mid, received)
                    self._tasks.spawn(self._pump(consumer, section), f"consumer-section:{mid}")
            # before the answer goes out: what the SFU sends once it has the answer must
            # find each section's new track
            self._assign(consumer, {t.mid: t for t in tracks if t.mid and t.participant_id})
            await self._send(
                Handshake(
                    connection="consumer",
                    sdp=SessionDescription(type="answer", sdp=pc.localDescription.sdp),
                )
            )

    def _assign(self, consumer: Consumer, carried: dict[str | None, TrackInfo]) -> None:
        """Give each media section the track the latest offer says it carries."""
        for mid, section in consumer.sections.items():
            info = carried.get(mid)
            old = section.info
            if old is not None and info is not None:
                if (old.participant_id, old.id) == (info.participant_id, info.id):
                    continue
            if section.track is not None:
                self._roster.end_track(section.track)
                section.track = None
            section.info = info
            if info is not None:
                section.track = self._roster.add_track(info, section.received)

    async def _pump(self, consumer: Consumer, section: _Section) -> None:
        """Read one section's aiortc track for good and feed whichever track it carries.

        aiortc queues decoded frames without bound until read, so every section is read
        from the start, also while it carries nothing.
        """
        try:
            while True:
                frame = await section.received.recv()
                track = section.track
                if track is not None and isinstance(frame, (av.VideoFrame, av.AudioFrame)):
                    track._on_frame(frame)
        except MediaStreamError:
            pass
        finally:
            if section.track is not None:
                self._roster.end_track(section.track)
                section.track = None

    def forget(self, participant_id: str) -> None:
        """A participant left: its sections carry nothing until the SFU reuses them."""
        consumer = self.consumer
        for section in consumer.sections.values() if consumer is not None else ():
            if section.info is not None and section.info.participant_id == participant_id:
                section.info = None
                section.track = None  # the roster ends the track itself

    def _failed(self, consumer: Consumer) -> None:
        if self._active() and not consumer.dropped:
            self._tasks.spawn(self.drop(consumer), "consumer-failed")

    async def drop(self, consumer: Consumer) -> None:
        """Close the consumer connection (if it is still ``consumer``); its tracks end."""
        if self.consumer is not consumer:
            return
        for connection in self.detach():
            async with connection.lock:
                await connection.close()

    def detach(self) -> list[Consumer]:
        """Take the connection out (now, synchronously) for the caller to close; its
        tracks end."""
        consumer, self.consumer = self.consumer, None
        if consumer is None:
            return []
        consumer.dropped = True
        for section in consumer.sections.values():
            if section.track is not None:
                self._roster.end_track(section.track)
                section.track = None
        return [consumer]
