"""Producer: this client's producer connection (its audio and video out, its data channel)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

from aiortc import RTCConfiguration, RTCDataChannel, RTCRtpTransceiver, RTCSessionDescription

from arbiter_protocol import Handshake, IceCandidate, Message, SessionDescription, TrackInfo
from arbiter_rtc import PeerConnection, TaskSet

from ._exceptions import ConnectionLost
from ._media import LocalTrack
from ._progress import (
    Progress,
    RoomLog,
    apply_candidate,
    fail_future,
    read_exception,
    set_result,
)
from ._stats import Meter

__all__ = ["DATA_CHANNEL_LABEL", "FLUSH_IDLE", "FLUSH_TIMEOUT", "NEGOTIATION_TIMEOUT", "Producer"]

DATA_CHANNEL_LABEL = "arbiter"
"Label of the data channel on the producer connection (the SFU looks for it)."
HIGH_WATER = 1024 * 1024
"Bytes queued on the data channel above which :meth:`Producer.send_paced` waits..."
LOW_WATER = 256 * 1024
"... until they are down to this."
NEGOTIATION_TIMEOUT = 10.0
"Seconds a renegotiation (a track added or removed) waits for the SFU's answer."
FLUSH_IDLE = 0.5
"""A leave waits for the SFU to acknowledge what was sent on the data channel while
acknowledgements come: until none came for this many seconds..."""
FLUSH_TIMEOUT = 0.8
"... and at most this long in all."
FLUSH_STEP = 0.01
"How often the wait looks again."


class Producer(PeerConnection):
    """The connection that carries this client's media and data to the SFU.

    The client offers (one sendonly transceiver per published track and the ``arbiter``
    data channel), the SFU answers. A track added or removed later (a shared screen)
    renegotiates the same connection (:meth:`add`, :meth:`remove`, :meth:`renegotiate`):
    the other tracks flow on untouched. ``on_message`` gets every data channel message;
    ``on_failure(reason)`` is called when the connection (or its path) or the channel goes
    down once connected, unless the producer was retired or closed first; before that,
    :meth:`negotiate` raises :class:`ConnectionLost` instead.
    """

    def __init__(
        self,
        configuration: RTCConfiguration,
        tracks: Sequence[LocalTrack],
        *,
        on_message: Callable[[str | bytes], None],
        on_failure: Callable[[str], None],
        log: RoomLog,
    ) -> None:
        super().__init__(configuration)
        loop = asyncio.get_running_loop()
        self._answer: asyncio.Future[SessionDescription] = loop.create_future()
        self._answer.add_done_callback(read_exception)
        self._connected: asyncio.Future[None] = loop.create_future()
        self._connected.add_done_callback(read_exception)
        self._channel_open: asyncio.Future[None] = loop.create_future()
        self._channel_open.add_done_callback(read_exception)
        self._pending: list[IceCandidate] = []
        self._buffer_low = asyncio.Event()
        self._on_failure = on_failure
        self._log = log
        self.retired = False
        "Set by :meth:`retire`: the producer no longer reports anything."
        self.meter = Meter()
        "Byte counters for ``room.stats()``."
        channel = self.pc.createDataChannel(DATA_CHANNEL_LABEL)
        self.channel: RTCDataChannel = channel
        channel.bufferedAmountLowThreshold = LOW_WATER
        channel.on("open", lambda: set_result(self._channel_open, None))
        channel.on("message", on_message)
        channel.on("bufferedamountlow", self._buffer_low.set)
        channel.on("close", self._channel_closed)
        self._named: list[tuple[RTCRtpTransceiver, LocalTrack]] = [
            (self.pc.addTransceiver(track, direction="sendonly"), track) for track in tracks
        ]

    def __repr__(self) -> str:
        return f"producer({self.pc.connectionState})"

    async def negotiate(
        self, send: Callable[[Message], Awaitable[None]], progress: Progress
    ) -> None:
        """Offer, apply the SFU's answer, and return once media and data can flow."""
        pc = self.pc
        await self._offer(send)
        progress.step = "the SFU's answer to the producer offer"
        answer = await progress.until(self._answer)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
        pending, self._pending = self._pending, []
        for candidate in pending:
            await apply_candidate(self, candidate, self._log)
        progress.step = "the producer connection (ICE/DTLS)"
        await progress.until(self._connected)
        progress.step = "the data channel to open"
        await progress.until(self._channel_open)

    async def _offer(self, send: Callable[[Message], Awaitable[None]]) -> None:
        """Make an offer and send it, naming each media section's track."""
        pc = self.pc
        loop = asyncio.get_running_loop()
        if self._answer.done():  # a renegotiation: a new answer to wait for
            self._answer = loop.create_future()
            self._answer.add_done_callback(read_exception)
        await pc.setLocalDescription(await pc.createOffer())
        await send(
            Handshake(
                connection="producer",
                sdp=SessionDescription(type="offer", sdp=pc.localDescription.sdp),
                tracks=[
                    TrackInfo(id=t.track_id, kind=_kind(t), source=t.track_source, mid=tr.mid)
                    for tr, t in self._named
                ],
            )
        )

    def add(self, track: LocalTrack) -> None:
        """Send ``track`` too once :meth:`renegotiate` is done (a stopped section of the
        same kind is taken up again, else a new one is added)."""
        for index, (transceiver, _sent) in enumerate(self._named):
            if transceiver.direction == "inactive" and transceiver.kind == track.kind:
                transceiver.direction = "sendonly"
                transceiver.sender.replaceTrack(track)
                self._named[index] = (transceiver, track)
                return
        self._named.append((self.pc.addTransceiver(track, direction="sendonly"), track))

    def remove(self, track: LocalTrack) -> None:
        """Stop sending ``track`` (its section goes inactive at :meth:`renegotiate`)."""
        for transceiver, sent in self._named:
            if sent is track:
                transceiver.direction = "inactive"
                transceiver.sender.replaceTrack(None)

    async def renegotiate(self, send: Callable[[Message], Awaitable[None]]) -> None:
        """Offer again on this connection and apply the SFU's answer (within
        :data:`NEGOTIATION_TIMEOUT`, else :class:`ConnectionLost`)."""
        await self._offer(send)
        try:
            answer = await asyncio.wait_for(asyncio.shield(self._answer), NEGOTIATION_TIMEOUT)
        except TimeoutError:
            raise ConnectionLost("the SFU did not answer the renegotiation") from None
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))

    def handshake(self, message: Handshake, tasks: TaskSet) -> None:
        """The SFU's answer or a trickled candidate for this connection."""
        if message.sdp is not None:
            if message.sdp.type != "answer":
                self._log.warning("ignoring a producer %s: the client offers", message.sdp.type)
            elif self._answer.done():
                self._log.warning("ignoring a second producer answer")
            else:
                self._answer.set_result(message.sdp)
        if message.candidate is not None:
            if self.pc.remoteDescription is None:
                self._pending.append(message.candidate)
            else:
                tasks.spawn(
                    apply_candidate(self, message.candidate, self._log), "producer-candidate"
                )

    def refuse(self, exc: ConnectionLost | Exception) -> None:
        """The offer will get no answer (e.g. no SFU): fail the wait for one."""
        if not self._answer.done():
            self._answer.set_exception(exc)

    @property
    def channel_open(self) -> bool:
        """Whether the data channel is open."""
        return self.channel.readyState == "open"

    def send(self, text: str) -> None:
        """Send ``text`` on the data channel; :class:`ConnectionLost` if it is not open."""
        if not self.channel_open:
            raise ConnectionLost("the data channel is not open")
        self.channel.send(text)

    async def send_paced(self, text: str, progress: Progress) -> None:
        """Send ``text``, first waiting while more than 1 MiB is still queued."""
        while self.channel.bufferedAmount > HIGH_WATER:
            self._buffer_low.clear()
            waiter = asyncio.ensure_future(self._buffer_low.wait())
            try:
                await progress.until(waiter)
            finally:
                waiter.cancel()
        self.channel.send(text)

    def unacknowledged(self) -> int:
        """How much of what was sent on the data channel the SFU has not acknowledged yet
        (bytes not yet handed to SCTP, messages queued, chunks queued or in flight): closing
        now would abort the association and lose it. 0 once the channel is closed."""
        if not self.channel_open:
            return 0
        sctp = self.channel.transport
        return (
            self.channel.bufferedAmount
            + len(getattr(sctp, "_data_channel_queue", ()))
            + len(getattr(sctp, "_outbound_queue", ()))
            + len(getattr(sctp, "_sent_queue", ()))
        )

    async def flush(self, idle: float = FLUSH_IDLE, timeout: float = FLUSH_TIMEOUT) -> None:
        """Wait until the SFU acknowledged what was sent on the data channel, so that a
        message sent right before a leave still arrives: while it keeps acknowledging
        (gives up after ``idle`` s without progress, or ``timeout`` s in all)."""
        loop = asyncio.get_running_loop()
        start = last_progress = loop.time()
        left = self.unacknowledged()
        while left:
            now = loop.time()
            if now - last_progress > idle or now - start > timeout:
                self._log.info("data channel not flushed (%d unacknowledged)", left)
                return
            await asyncio.sleep(FLUSH_STEP)
            if (still := self.unacknowledged()) < left:
                last_progress = loop.time()
            left = still

    def retire(self) -> None:
        """Stop reporting, and let go of the published tracks (a new producer sends them)."""
        self.retired = True
        for sender in self.pc.getSenders():
            # aiortc's sender stops its track when it exits: keep ours for the new one
            sender.replaceTrack(None)

    def _state_changed(self, state: str) -> None:
        super()._state_changed(state)
        if self.retired or self.closed:
            return
        if state == "connected":
            set_result(self._connected, None)
        elif state in ("failed", "closed"):
            reason = "producer path lost" if self.path_lost else f"producer connection {state}"
            if not self._connected.done():  # still negotiating: negotiate() raises it
                fail_future(self._connected, ConnectionLost(reason))
            else:
                self._on_failure(reason)

    def _channel_closed(self) -> None:
        if not self.retired and not self.closed:
            if not self._channel_open.done():
                fail_future(self._channel_open, ConnectionLost("data channel closed"))
            else:
                self._on_failure("data channel closed")


def _kind(track: LocalTrack) -> Literal["audio", "video"]:
    return "video" if track.kind == "video" else "audio"
