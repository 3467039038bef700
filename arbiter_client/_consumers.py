"""Consumers: the one connection that carries every other participant's tracks to this client.

The SFU offers it, and offers it again whenever tracks come or go; each offer says which
track each media section carries (``Handshake.tracks``). A section may go quiet (its
track left) and later carry another track: every section's aiortc track is read for the
life of the connection and its frames go to whichever :class:`RemoteTrack` it carries.

When the connection's path dies, the SFU offers a new connection (an offer with other ICE
credentials than the current one's). The tracks it carried are kept meanwhile (no
``TrackUnsubscribed``) and go on with the new connection's media: same participant, same
track ids, same :class:`RemoteTrack` objects.
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


def ice_ufrag(sdp: str) -> str | None:
    """The first ``a=ice-ufrag`` of an SDP (what tells one connection from another)."""
    for line in sdp.splitlines():
        if line.startswith("a=ice-ufrag:"):
            return line[len("a=ice-ufrag:") :].strip()
    return None


class Consumers:
    """The room's consumer connection (at most one), answered here, its tracks on the roster.

    ``send`` carries the answers. A connection that fails while ``active()`` is set aside
    (``on_lost(reason)``; its tracks are kept) until the SFU offers a new one, whose first
    answer calls ``on_back()``; an offer with new ICE credentials replaces the current
    connection whatever its state.
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
        on_lost: Callable[[str], None] = lambda reason: None,
        on_back: Callable[[], None] = lambda: None,
    ) -> None:
        self._configuration = configuration
        self._on_lost = on_lost
        self._on_back = on_back
        self._kept: dict[tuple[str, str], RemoteTrack] = {}
        self._gone: set[str] = set()  # ICE ufrags of connections set aside
        self.awaiting = False
        "True while a failed connection waits for the SFU's new one."
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
        if ice_ufrag(offer.sdp) in self._gone:
            self._log.debug("ignoring an offer for a consumer connection set aside")
            return
        consumer = self.consumer
        if consumer is not None and _replaces(consumer, offer.sdp):
            self._log.debug("the SFU offers a new consumer connection")
            self._set_aside(consumer)
            self._tasks.spawn(self._close(consumer), "consumer-replaced")
            consumer = None
        consumer = consumer or self._new()
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
            self._end_kept()
            if self.awaiting and self.consumer is consumer:
                self.awaiting = False
                self._on_back()

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
            if info is not None and info.participant_id is not None:
                kept = self._kept.pop((info.participant_id, info.id), None)
                if kept is not None and not kept.ended and kept.kind == section.received.kind:
                    section.track = kept  # the same track, on the new connection
                else:
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
        for key in [k for k in self._kept if k[0] == participant_id]:
            del self._kept[key]  # the roster ends the track itself
        consumer = self.consumer
        for section in consumer.sections.values() if consumer is not None else ():
            if section.info is not None and section.info.participant_id == participant_id:
                section.info = None
                section.track = None  # the roster ends the track itself

    def _failed(self, consumer: Consumer) -> None:
        if not self._active() or consumer.dropped or self.consumer is not consumer:
            return
        reason = "consumer path lost" if consumer.path_lost else "consumer connection failed"
        self._log.warning("%s: waiting for the SFU's new consumer connection", reason)
        self._set_aside(consumer)
        self.awaiting = True
        self._on_lost(reason)
        self._tasks.spawn(self._close(consumer), "consumer-failed")

    def _set_aside(self, consumer: Consumer) -> None:
        """Take ``consumer`` out, keeping its tracks for the connection that replaces it."""
        if self.consumer is consumer:
            self.consumer = None
        consumer.dropped = True
        remote = consumer.pc.remoteDescription
        if remote is not None and (ufrag := ice_ufrag(remote.sdp)) is not None:
            self._gone.add(ufrag)
        for section in consumer.sections.values():
            track, info = section.track, section.info
            if track is not None and info is not None and info.participant_id is not None:
                self._kept[(info.participant_id, info.id)] = track
            section.track = None

    def _end_kept(self) -> None:
        """Tracks the new connection did not take over have ended."""
        kept, self._kept = self._kept, {}
        for track in kept.values():
            self._roster.end_track(track)

    async def _close(self, consumer: Consumer) -> None:
        async with consumer.lock:
            await consumer.close()

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
        self.awaiting = False
        self._end_kept()
        if consumer is None:
            return []
        consumer.dropped = True
        for section in consumer.sections.values():
            if section.track is not None:
                self._roster.end_track(section.track)
                section.track = None
        return [consumer]


def _replaces(consumer: Consumer, offer: str) -> bool:
    """Whether ``offer`` is for a new connection (other ICE credentials) than ``consumer``."""
    current = consumer.pc.remoteDescription
    if current is None:
        return False
    return ice_ufrag(offer) != ice_ufrag(current.sdp)
