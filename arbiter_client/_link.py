"""MediaLink: a room's peer connections to its SFU, and getting them back when it changes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiortc import RTCConfiguration

from arbiter_protocol import ErrorCode, Handshake, TrackState, encode_message
from arbiter_rtc import IceTransportPolicy, PeerConnection, TaskSet, ice_servers, rtc_configuration

from ._consumers import Consumers
from ._exceptions import ArbiterError, ConnectionLost
from ._media import LocalTrack
from ._participant import TrackKind
from ._producer import Producer
from ._progress import Progress, RoomLog
from ._publish import LocalMedia
from ._roster import Roster
from ._session import Session
from ._stats import ConnectionStats, connection_stats

__all__ = ["HEAL_ATTEMPT", "HEAL_RETRY", "MediaLink", "track_state"]

HEAL_ATTEMPT = 6.0
"Seconds one attempt at a new producer connection may take (gathering, ICE, DTLS)."
HEAL_RETRY = 0.5
"Seconds between two attempts."


def track_state(track: LocalTrack) -> TrackState:
    """The ``track_state`` announcing ``track``'s mute state (the main tracks without id)."""
    main = track.track_id in ("microphone", "camera")
    kind: TrackKind = "video" if track.kind == "video" else "audio"
    return TrackState(kind=kind, muted=track.muted, track_id=None if main else track.track_id)


class MediaLink:
    """One producer connection (this client's media and data) and one consumer connection
    (everyone else's tracks), both to the room's current SFU.

    When the producer's path dies (:meth:`heal`), the link makes a new producer connection
    to the same SFU (same tracks; retried until it connects); when the consumer's dies,
    it waits for the SFU's new one (:class:`~._consumers.Consumers`). When the SFU is not
    ready (:meth:`lost`), it waits for a new SFU. Either way it fails the room (``fail``)
    if media is not back within the reconnect budget. :meth:`restart` replaces every
    connection at once (a new SFU), under the same participant and tracks, and tells the
    new SFU the mute states and pauses it must know. ``report(reason)`` and ``settled()``
    keep the room's connection state.
    """

    def __init__(
        self,
        media: LocalMedia,
        *,
        policy: IceTransportPolicy,
        budget: float,
        session: Session,
        roster: Roster,
        tasks: TaskSet,
        progress: Progress,
        log: RoomLog,
        on_message: Callable[[str | bytes], None],
        on_failure: Callable[[str], None],
        active: Callable[[], bool],
        report: Callable[[str], None],
        settled: Callable[[], None],
        fail: Callable[[ArbiterError], None],
    ) -> None:
        self._media = media
        self._policy = policy
        self._budget = budget
        self._session = session
        self._roster = roster
        self._tasks = tasks
        self._progress = progress
        self._log = log
        self._on_message = on_message
        self._on_failure = on_failure
        self._report = report
        self._settled = settled
        self._fail = fail
        self._restart_task: asyncio.Task[None] | None = None
        self._heal_task: asyncio.Task[None] | None = None
        self._deadline: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._renegotiating = asyncio.Lock()
        self.producer: Producer | None = None
        "The producer connection (``None`` while being replaced)."
        self.consumers = Consumers(
            self._configuration,
            send=session.send,
            tasks=tasks,
            log=log,
            roster=roster,
            active=active,
            on_lost=self._consumer_lost,
            on_back=self._consumer_back,
        )
        "The consumer connection."
        self._down = False

    @property
    def down(self) -> bool:
        """True while a connection is being replaced (or a new SFU is awaited)."""
        return self._down or self.consumers.awaiting

    def _configuration(self) -> RTCConfiguration:
        """Always explicit ICE servers: with none, aiortc would add a public STUN server."""
        return rtc_configuration(ice_servers(self._session.ice_servers), self._policy)

    async def start(self) -> None:
        """Make the producer connection and return once media and data flow."""
        producer = Producer(
            self._configuration(),
            self._media.tracks(),
            on_message=self._on_message,
            on_failure=self._on_failure,
            log=self._log,
        )
        self.producer = producer
        await producer.negotiate(self._session.send, self._progress)

    async def renegotiate(self, change: Callable[[Producer], None]) -> None:
        """Apply ``change`` (tracks added or removed) to the producer connection and offer
        it again, one renegotiation at a time. Without a producer (media is being
        restarted) nothing is needed: the new producer sends what ``LocalMedia`` holds."""
        async with self._renegotiating:
            producer = self.producer
            if producer is None or producer.retired:
                return
            change(producer)
            await producer.renegotiate(self._session.send)

    def handshake(self, message: Handshake) -> None:
        """A handshake from the SFU, for the producer or for a consumer."""
        if message.connection == "consumer":
            self.consumers.handshake(message)
        elif self.producer is not None:
            self.producer.handshake(message, self._tasks)

    def refused(self, code: str, exc: ArbiterError) -> None:
        """The server refused a handshake: a producer offer still waiting for its answer
        (joining, restarting or healing) found no SFU, and fails."""
        if code == ErrorCode.SFU_UNAVAILABLE.value and self.producer is not None:
            self.producer.refuse(exc)

    async def remove(self, participant_id: str, reason: str) -> None:
        """A participant left: its tracks end (the SFU stops them), then forget it."""
        self.consumers.forget(participant_id)
        self._roster.left(participant_id, reason)

    # ------------------------------------------------------------------ losing media

    def lost(self, reason: str) -> None:
        """Media is down (e.g. the SFU went away): report it, and wait for a new SFU."""
        if self._down:
            return
        self._log.warning("media down: %s", reason)
        self._down = True
        self._report(reason)
        self._start_deadline(reason)

    def _start_deadline(self, reason: str) -> None:
        if self._deadline is None or self._deadline.done():
            self._deadline = self._tasks.spawn(self._timeout(reason), "media-deadline")

    def _stop_deadline(self) -> None:
        if self._deadline is not None and not self.down:
            self._deadline.cancel()
            self._deadline = None

    async def _timeout(self, reason: str) -> None:
        await asyncio.sleep(self._budget)
        self._fail(ConnectionLost(f"media not restored within {self._budget:g} s ({reason})"))

    def _consumer_lost(self, reason: str) -> None:
        self._report(reason)
        self._start_deadline(reason)

    def _consumer_back(self) -> None:
        self._log.debug("consumer connection replaced")
        self._stop_deadline()
        self._settled()

    def heal(self, reason: str) -> None:
        """The producer's path died: make a new producer connection to the same SFU.

        Same tracks, same participant; the SFU continues the subscribers' sections with
        it. Retried (:data:`HEAL_RETRY` apart, each attempt bounded by
        :data:`HEAL_ATTEMPT`) until it connects, the SFU turns out to be gone (then a new
        SFU's ``sfu_ready`` restarts everything) or the reconnect budget runs out.
        """
        if self._down:
            return  # a restart or a heal is under way
        self.lost(reason)
        self._heal_task = self._tasks.spawn(self._heal(), "media-heal")

    async def _heal(self) -> None:
        while True:
            if self.producer is not None:
                self.producer.retire()
                self._retire([self.producer])
                self.producer = None
            try:
                async with asyncio.timeout(HEAL_ATTEMPT):
                    await self.start()
            except TimeoutError:
                self._log.info("new producer connection not up within %g s", HEAL_ATTEMPT)
            except ArbiterError as exc:
                if self._progress.failed:
                    return
                if exc.code == ErrorCode.SFU_UNAVAILABLE.value:
                    self._log.debug("the SFU is gone; waiting for sfu_ready")
                    return  # the deadline is still running
                self._log.info("new producer connection failed: %s", exc)
            else:
                self._down = False
                self._stop_deadline()
                self._log.info("producer connection replaced")
                self._settled()
                return
            await asyncio.sleep(HEAL_RETRY)

    def restart(self, reason: str) -> None:
        """Drop every peer connection now and set up a new producer (new SFU or session).

        The detaching is synchronous, so that consumer offers from the new SFU that
        follow in the same signaling stream already find the old consumers gone.
        """
        self._log.debug("restarting media: %s", reason)
        self._down = False  # lost() below restarts the deadline
        self.lost(reason)
        for task in (self._restart_task, self._heal_task):
            if task is not None:
                task.cancel()
        self.discard()
        self._restart_task = self._tasks.spawn(self._republish(), "media-restart")

    def discard(self) -> None:
        """Retire every peer connection now (closed in the background), tracks ended."""
        retired: list[PeerConnection] = list(self.consumers.detach())
        self._roster.unsubscribe()  # what the detached connection did not carry
        if self.producer is not None:
            self.producer.retire()
            retired.append(self.producer)
        self.producer = None
        self._retire(retired)

    async def _republish(self) -> None:
        try:
            await self.start()
        except ArbiterError as exc:
            if exc.code == ErrorCode.SFU_UNAVAILABLE.value:
                self._log.debug("the SFU went away again; waiting for sfu_ready")
                return  # the deadline is still running
            self._fail(ConnectionLost(f"restarting media failed: {exc}"))
            return
        producer = self.producer
        assert producer is not None
        for track in self._media.muted():  # the SFU repeats mute state to others: tell it
            producer.channel.send(encode_message(track_state(track)))
        for subscription in self._roster.subscriptions.values():  # the new SFU knows none
            producer.channel.send(encode_message(subscription))
        self._down = False
        self._stop_deadline()
        self._log.debug("media restarted")
        self._settled()

    def _retire(self, connections: list[PeerConnection]) -> None:
        """Close ``connections`` in the background; :meth:`close` waits for it (no cancel)."""
        if connections:
            task = asyncio.get_running_loop().create_task(
                self._close_all(connections), name="arbiter-client:retire"
            )
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    async def _close_all(self, connections: list[PeerConnection]) -> None:
        results = await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                self._log.warning("closing a peer connection failed: %r", result)

    # ------------------------------------------------------------------ reading, closing

    async def stats(self) -> list[ConnectionStats]:
        """Numbers for the producer, then the consumer connection (see ``Room.stats``)."""
        found: list[ConnectionStats] = []
        producer = self.producer
        if producer is not None:
            video = self._media.video
            fps = video.fps if video is not None else None
            found.append(await connection_stats("producer", producer.pc, producer.meter, fps))
        consumer = self.consumers.consumer
        if consumer is not None:
            rates = [
                fps
                for section in consumer.sections.values()
                if section.track is not None
                and section.track.kind == "video"
                and (fps := section.track.fps) is not None
            ]
            found.append(
                await connection_stats(
                    "consumer",
                    consumer.pc,
                    consumer.meter,
                    sum(rates) / len(rates) if rates else None,
                )
            )
        return found

    async def flush(self) -> None:
        """Wait until the SFU has what was sent on the data channel (at most
        :data:`~._producer.FLUSH_TIMEOUT` s): a leave on signaling must not overtake it."""
        if self.producer is not None:
            await self.producer.flush()

    async def close(self) -> None:
        """Close every connection, including those being retired."""
        connections: list[PeerConnection] = list(self.consumers.detach())
        if self.producer is not None:
            connections.append(self.producer)
        await self._close_all(connections)
        if self._retiring:  # connections retired while reconnecting
            await asyncio.gather(*self._retiring, return_exceptions=True)
