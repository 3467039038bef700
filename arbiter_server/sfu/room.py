"""Room: the SFU's state for one room and the signaling flows of ``docs/signaling.md``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from aiortc import RTCIceServer, RTCSessionDescription

from arbiter_protocol import (
    Error,
    ErrorCode,
    Handshake,
    Identified,
    Layers,
    Message,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    SessionDescription,
    TrackInfo,
    TrackState,
    encode_message,
)
from arbiter_rtc import TaskSet, rtc_configuration

from . import moderation
from .codecs import codec_key
from .consumer import Consumer
from .forwarder import TrackForwarder
from .participant import Participant, RateLimiter
from .producer import Producer
from .relay import DataRelay
from .report import RoomStats, room_stats
from .ticker import RoomTicker

__all__ = ["Handler", "Room", "RoomStats", "SendCallback"]

logger = logging.getLogger(__name__)

SendCallback = Callable[[Message], Awaitable[None]]
"How the room sends a signaling message (to signaling, which routes by ``participant_id``)."

Handler = Callable[[Message], Awaitable[None]]
"Handles one incoming signaling message."

M = TypeVar("M", bound=Message)


def _typed(cls: type[M], handler: Callable[[M], Awaitable[None]]) -> Handler:
    async def handle(message: Message) -> None:
        if not isinstance(message, cls):
            raise TypeError(f"expected {cls.action!r}, got {message.action!r}")
        await handler(message)

    return handle


MEDIA_GRACE = 3.0
"""Seconds a participant whose producer connection failed has to publish again before the
SFU tells signaling its media is lost."""


class Room:
    """The SFU side of one room.

    Feed it every signaling message with :meth:`handle` (or give :meth:`handlers` to a
    :class:`~.signaling.SignalingConnection`); it replies through ``send``. It answers
    producer offers, keeps one consumer connection per subscriber carrying every other
    participant's tracks (offering it again as tracks come and go), relays data channel
    messages (``data``, ``track_state``) between producer data channels, applies what
    subscribers ask to receive (``subscription``), and closes a participant's connections
    when it leaves. A connection whose path fails is replaced: a consumer by a new one
    offered at once, a producer by the client's new offer (if none comes within
    :data:`MEDIA_GRACE`, signaling hears the participant's media is lost). A participant
    that publishes again keeps its tracks (same track ids): their consumers continue on the
    new producer.

    Messages are handled one at a time, in order; :meth:`close` closes everything.

    **Parameters:**

    * **room_id** - the room this SFU serves.
    * **send** - coroutine that delivers a message to signaling.
    * **ice_servers** - STUN/TURN servers for every peer connection (may be empty).
    * **data_rate** - ``(messages, seconds)`` one participant may send on its data channel
      (more are dropped, answered ``rate_limited``: :meth:`.RateLimiter.refusal`).
    """

    def __init__(
        self,
        room_id: str,
        send: SendCallback,
        *,
        ice_servers: Sequence[RTCIceServer] = (),
        data_rate: tuple[int, float] = (200, 10.0),
    ) -> None:
        self.room_id = room_id
        self._data_rate = data_rate
        self._send_callback = send
        self._ice_servers = list(ice_servers)
        self._participants: dict[str, Participant] = {}
        self._tracks: dict[tuple[str, str], TrackForwarder] = {}
        self._lock = asyncio.Lock()
        self._tasks = TaskSet(f"room[{room_id}]")
        self._closed: asyncio.Future[None] | None = None
        self._handlers: dict[str, Handler] = {
            Identified.action: _typed(Identified, self._on_identified),
            ParticipantJoined.action: _typed(ParticipantJoined, self._on_participant_joined),
            ParticipantLeft.action: _typed(ParticipantLeft, self._on_participant_left),
            Handshake.action: _typed(Handshake, self._on_handshake),
            ParticipantUpdated.action: _typed(ParticipantUpdated, self._on_participant_updated),
        }
        self._relay = DataRelay(room_id, self._participants)
        self._ticker = RoomTicker(room_id, self._participants, self._tracks, self._relay)
        self._locks = moderation.TrackLocks(
            room_id, self._participants, self._tracks, self._lock, self._relay.deliver
        )
        self._handlers[TrackState.action] = _typed(TrackState, self._locks.on_lock)

    # -- public API -------------------------------------------------------------------

    def handlers(self) -> Mapping[str, Handler]:
        """The room's handler table: action -> coroutine handling that message."""
        return dict(self._handlers)

    async def handle(self, message: Message) -> None:
        """Handle one message from signaling; unknown actions are logged and ignored."""
        handler = self._handlers.get(message.action)
        if handler is None:
            logger.debug("room %s: no handler for %r", self.room_id, message.action)
            return
        await handler(message)

    def participant_ids(self) -> list[str]:
        """Ids of the participants the SFU knows."""
        return list(self._participants)

    def participant(self, participant_id: str) -> Participant | None:
        """The state of one participant, if known."""
        return self._participants.get(participant_id)

    def track(self, participant_id: str, track_id: str) -> TrackForwarder | None:
        """The forwarder of one published track, if published."""
        return self._tracks.get((participant_id, track_id))

    def tracks(self, participant_id: str | None = None) -> list[TrackForwarder]:
        """Published tracks (of one participant, if given)."""
        return [
            f
            for (pid, _), f in self._tracks.items()
            if participant_id is None or pid == participant_id
        ]

    def stats(self) -> RoomStats:
        """Counts of participants, peer connections and forwarded tracks."""
        return room_stats(self._participants.values(), len(self._tracks))

    def connection_count(self, participant_id: str) -> int:
        """Peer connections of a participant: its producer and its consumer."""
        participant = self._participants.get(participant_id)
        if participant is None:
            return 0
        return (participant.producer is not None) + (participant.consumer is not None)

    async def close(self) -> None:
        """Close every peer connection and stop all background work. Idempotent."""
        if self._closed is not None:
            await self._closed
            return
        self._closed = asyncio.get_running_loop().create_future()
        try:
            await self._ticker.close()
            # Clean-ups in progress (failed connections) finish rather than stop half-way.
            await self._tasks.drain(timeout=5.0)
            async with self._lock:
                for participant in list(self._participants.values()):
                    await self._remove(participant, renegotiate=False)
        finally:
            self._closed.set_result(None)
        logger.info("room %s closed", self.room_id)

    # -- signaling handlers -----------------------------------------------------------

    async def _on_identified(self, message: Identified) -> None:
        if message.role != "sfu":
            logger.warning("room %s: identified as %r, not as the SFU", self.room_id, message.role)
        if message.room_id != self.room_id:
            logger.warning(
                "room %s: signaling says this SFU serves room %s", self.room_id, message.room_id
            )
        async with self._lock:
            present = {info.id: info for info in message.participants}
            for participant in list(self._participants.values()):
                if participant.id not in present:
                    await self._remove(participant)
            for info in message.participants:
                if info.id not in self._participants:
                    self._participants[info.id] = self._new_participant(info)
        logger.info("room %s: identified; %d participant(s)", self.room_id, len(present))

    def _new_participant(self, info: ParticipantInfo) -> Participant:
        participant = Participant(
            info.id, info.name, grants=_grants(info), data_limit=RateLimiter(*self._data_rate)
        )
        return moderation.learn_locks(participant, info)

    async def _on_participant_joined(self, message: ParticipantJoined) -> None:
        info = message.participant
        async with self._lock:
            known = self._participants.get(info.id)
            if known is None:
                self._participants[info.id] = self._new_participant(info)
                logger.info("room %s: %s joined", self.room_id, info.id)
                return
            # announced again: the participant reconnected to signaling; an offer sent
            # while it was away was lost, so send it again
            logger.info("room %s: %s is back; offering again", self.room_id, info.id)
            await self._resync(known)

    async def _on_participant_updated(self, message: ParticipantUpdated) -> None:
        participant = self._participants.get(message.participant.id)
        if participant is not None:
            participant.name = message.participant.name

    async def _resync(self, participant: Participant) -> None:
        """Send an unanswered consumer offer again, or make one for what is missing."""
        consumer = participant.consumer
        pending = consumer.last_offer() if consumer is not None else None
        if pending is not None:
            await self._send_offer(participant, *pending)
            return
        self._subscribe_all(participant)
        await self._offer(participant)

    async def _on_participant_left(self, message: ParticipantLeft) -> None:
        async with self._lock:
            participant = self._participants.get(message.participant_id)
            if participant is not None:
                await self._remove(participant)
        logger.info("room %s: %s left (%s)", self.room_id, message.participant_id, message.reason)

    async def _reject(self, participant_id: str, problem: str, forbidden: bool = False) -> None:
        """Log a refused handshake and tell its sender why (``forbidden``: its grant does
        not allow it), through signaling."""
        logger.warning("room %s: %s: %s", self.room_id, participant_id, problem)
        code = ErrorCode.FORBIDDEN if forbidden else ErrorCode.INVALID_MESSAGE
        await self._send(
            Error(
                code=code.value,
                message=problem,
                ref=Handshake.action,
                participant_id=participant_id,
            )
        )

    async def _on_handshake(self, message: Handshake) -> None:
        participant_id = message.participant_id
        if participant_id is None:
            logger.warning("room %s: handshake without participant_id ignored", self.room_id)
            return
        async with self._lock:
            participant = self._participants.get(participant_id)
            if participant is None:
                await self._reject(participant_id, "the SFU does not know you (yet): rejoin")
                return
            if message.connection == "producer":
                await self._producer_handshake(participant, message)
            else:
                await self._consumer_handshake(participant, message)

    # -- flows (called with the lock held) ---------------------------------------------

    async def _producer_handshake(self, participant: Participant, message: Handshake) -> None:
        if message.sdp is not None:
            if message.sdp.type != "offer":
                await self._reject(participant.id, "a producer handshake carries an offer")
            else:
                await self._publish(participant, message.sdp, message.tracks or ())
        if message.candidate is not None:
            producer = participant.producer
            if producer is None:
                await self._reject(participant.id, "ICE candidate before the producer offer")
                return
            try:
                await producer.add_candidate(message.candidate)
            except Exception as exc:
                await self._reject(participant.id, f"bad ICE candidate: {exc}")

    async def _consumer_handshake(self, participant: Participant, message: Handshake) -> None:
        consumer = participant.consumer
        if consumer is None:
            await self._reject(participant.id, "no consumer connection to answer")
            return
        if message.sdp is not None:
            if message.sdp.type != "answer":
                await self._reject(participant.id, "a consumer handshake carries an answer")
                return
            if consumer.pc.signalingState != "have-local-offer":
                await self._reject(participant.id, "no consumer offer waits for an answer")
                return
            try:
                await consumer.accept_answer(
                    RTCSessionDescription(sdp=message.sdp.sdp, type="answer")
                )
            except Exception as exc:
                await self._reject(participant.id, f"consumer answer refused: {exc}")
                participant.consumer = None
                await consumer.close()
                return
            await self._offer(participant)  # what changed while the offer was out
        if message.candidate is not None:
            try:
                await consumer.add_candidate(message.candidate)
            except Exception as exc:
                await self._reject(participant.id, f"bad ICE candidate: {exc}")

    async def _publish(
        self, participant: Participant, offer: SessionDescription, tracks: Sequence[TrackInfo]
    ) -> None:
        if not participant.may("publish") and _offers_media(offer.sdp):
            await self._reject(participant.id, "your token does not allow publishing media", True)
            return
        if not participant.may("screen") and any(t.source.startswith("screen") for t in tracks):
            await self._reject(participant.id, "your grant does not allow sharing a screen", True)
            return
        description = RTCSessionDescription(sdp=offer.sdp, type="offer")
        previous = participant.producer
        if previous is not None and previous.continues(description):
            producer = previous  # the same client connection, renegotiated
            try:
                answer = await producer.renegotiate(description, tracks)
            except Exception as exc:
                logger.debug("producer offer of %s refused", participant.id, exc_info=True)
                await self._reject(participant.id, f"producer offer refused: {exc!r}")
                return
        else:
            producer = Producer(
                participant.id,
                rtc_configuration(self._ice_servers),
                on_message=self._relay.handle,
                on_channel_open=self._channel_opened,
                on_failed=self._producer_failed,
            )
            try:
                answer = await producer.accept(description, tracks)
            except Exception as exc:
                logger.debug("producer offer of %s refused", participant.id, exc_info=True)
                await self._reject(
                    participant.id, f"producer offer refused: {exc or type(exc).__name__}"
                )
                await producer.close()
                return
            participant.producer = producer
            if previous is not None:
                logger.info("room %s: %s publishes again", self.room_id, participant.id)
                await previous.close()
        await self._send(
            Handshake(
                connection="producer",
                participant_id=participant.id,
                sdp=SessionDescription(type="answer", sdp=answer.sdp),
            )
        )
        self._bind(participant, producer)
        for other in self._participants.values():
            self._subscribe_all(other)
        # Offers are independent (each to its own connection): make them at once.
        await asyncio.gather(*(self._offer(p) for p in list(self._participants.values())))

    def _bind(self, participant: Participant, producer: Producer) -> None:
        """Give each of ``producer``'s new tracks a forwarder (the same track id keeps its
        forwarder, and so its consumers); end the participant's tracks it lacks."""
        published = set()
        for track in producer.tracks:
            key = (participant.id, track.info.id)
            published.add(key)
            forwarder = self._tracks.get(key)
            if forwarder is not None and track.layers and forwarder.layers == track.layers:
                forwarder.source = track.info.source  # renegotiated: it goes on as it was
                continue
            if forwarder is not None and (
                forwarder.kind != track.info.kind or forwarder.codec_key != codec_key(track.codec)
            ):
                self._end_track(forwarder)  # another codec: consumers must negotiate again
                forwarder = None
            if forwarder is None:
                forwarder = TrackForwarder(
                    participant.id,
                    track.info.id,
                    kind=track.info.kind,
                    source=track.info.source,
                    codec=track.codec,
                    on_layers=self._layers_wanted,
                )
                self._tracks[key] = forwarder
            else:
                forwarder.source = track.info.source
            producer.bind(track, forwarder.new_layers(track.rids, producer))
        for key, forwarder in list(self._tracks.items()):
            if key[0] == participant.id and key not in published:
                self._end_track(forwarder)
                participant.track_states.pop(forwarder.track_id, None)
        self._locks.apply(participant)
        self._ticker.start()
        logger.info(
            "room %s: %s publishes %s",
            self.room_id,
            participant.id,
            ", ".join(
                f"{t.info.id} ({t.codec.mimeType}{f' x{len(t.rids)}' if len(t.rids) > 1 else ''})"
                for t in producer.tracks
            )
            or "data only",
        )

    def _subscribe_all(self, subscriber: Participant) -> None:
        """Put every other participant's tracks on ``subscriber``'s consumer connection."""
        if not subscriber.may("subscribe"):
            return
        others = [f for (pid, _), f in self._tracks.items() if pid != subscriber.id]
        if not others:
            return
        consumer = subscriber.consumer
        if consumer is None:
            consumer = Consumer(
                subscriber.id,
                rtc_configuration(self._ice_servers),
                on_failed=self._consumer_failed,
                wishes=subscriber.subscriptions,
            )
            subscriber.consumer = consumer
        for forwarder in others:
            consumer.add(forwarder)

    async def _offer(self, subscriber: Participant) -> None:
        """Offer ``subscriber``'s consumer connection again if its tracks changed."""
        consumer = subscriber.consumer
        if consumer is None or not consumer.needs_offer:
            return
        try:
            made = await consumer.negotiate()
        except Exception:
            logger.warning(
                "room %s: cannot offer media to %s", self.room_id, subscriber.id, exc_info=True
            )
            if subscriber.consumer is consumer:
                subscriber.consumer = None
            await consumer.close()
            return
        if made is not None:
            await self._send_offer(subscriber, *made)

    async def _send_offer(
        self, subscriber: Participant, offer: RTCSessionDescription, tracks: list[TrackInfo]
    ) -> None:
        await self._send(
            Handshake(
                connection="consumer",
                participant_id=subscriber.id,
                sdp=SessionDescription(type="offer", sdp=offer.sdp),
                tracks=tracks,
            )
        )

    def _end_track(self, forwarder: TrackForwarder) -> None:
        """A published track is gone: take it off every consumer connection."""
        self._tracks.pop((forwarder.participant_id, forwarder.track_id), None)
        for participant in self._participants.values():
            if participant.consumer is not None:
                participant.consumer.remove(forwarder)
        forwarder.close()

    def _layers_wanted(self, forwarder: TrackForwarder, rids: Sequence[str]) -> None:
        """Tell a simulcast publisher which of its layers anybody receives (it may pause
        the others)."""
        logger.debug("room %s: %s needs layers %s", self.room_id, forwarder.label, rids)
        publisher = self._participants.get(forwarder.participant_id)
        if publisher is not None and publisher.producer is not None:
            message = Layers(track_id=forwarder.track_id, active=list(rids))
            publisher.producer.send(encode_message(message))

    async def _unpublish(self, participant: Participant) -> None:
        """Close a participant's producer; its tracks leave every consumer connection."""
        producer = participant.producer
        participant.producer = None
        for forwarder in self.tracks(participant.id):
            self._end_track(forwarder)
        if producer is not None:
            await producer.close()

    async def _disconnect(self, participant: Participant, renegotiate: bool = True) -> None:
        """Close all of a participant's connections; it stays in the room."""
        await self._unpublish(participant)
        consumer = participant.consumer
        participant.consumer = None
        if consumer is not None:
            await consumer.close()
        if renegotiate:
            await asyncio.gather(
                *(self._offer(p) for p in list(self._participants.values()) if p is not participant)
            )

    async def _remove(self, participant: Participant, renegotiate: bool = True) -> None:
        await self._disconnect(participant, renegotiate)
        if self._participants.get(participant.id) is participant:
            del self._participants[participant.id]
        for other in self._participants.values():
            other.subscriptions.forget(participant.id)

    # -- events from peer connections --------------------------------------------------

    def _channel_opened(self, producer: Producer) -> None:
        """A data channel opened: what its participant must know of the others."""
        self._relay.channel_opened(producer)
        self._ticker.channel_opened(producer)

    def _producer_failed(self, producer: Producer) -> None:
        if self._tasks.closed:  # the room is closing every connection anyway
            return
        self._tasks.spawn(self._drop_producer(producer), f"drop-producer-{producer.participant_id}")

    async def _drop_producer(self, producer: Producer) -> None:
        """A producer's path died: close it, keep its tracks for the client's new offer.

        The client replaces its producer (same track ids: subscribers' sections go on with
        the new one's media). If none comes within :data:`MEDIA_GRACE`, signaling is told
        the participant's media is lost (``participant_left {reason: "ice_failed"}``)."""
        async with self._lock:
            participant = self._participants.get(producer.participant_id)
            if participant is not None and participant.producer is producer:
                logger.warning(
                    "room %s: %s's producer connection failed; waiting for a new one",
                    self.room_id,
                    participant.id,
                )
                participant.producer = None
                self._tasks.spawn(
                    self._await_producer(participant), f"await-producer-{participant.id}"
                )
        await producer.close()

    async def _await_producer(self, participant: Participant) -> None:
        await asyncio.sleep(MEDIA_GRACE)
        if self._participants.get(participant.id) is participant and participant.producer is None:
            logger.warning(
                "room %s: %s has not published again within %g s; reporting its media lost",
                self.room_id,
                participant.id,
                MEDIA_GRACE,
            )
            await self._send(ParticipantLeft(participant_id=participant.id, reason="ice_failed"))

    def _consumer_failed(self, consumer: Consumer) -> None:
        if self._tasks.closed:
            return
        self._tasks.spawn(self._drop_consumer(consumer), f"drop-consumer-{consumer.subscriber_id}")

    async def _drop_consumer(self, consumer: Consumer) -> None:
        """A consumer's path died: offer the subscriber a new connection with its tracks.

        The new connection's offer has new ICE credentials, which tells the client that it
        replaces the old one (``docs/signaling.md``)."""
        async with self._lock:
            participant = self._participants.get(consumer.subscriber_id)
            if participant is not None and participant.consumer is consumer:
                logger.warning(
                    "room %s: consumer to %s failed; offering a new one",
                    self.room_id,
                    participant.id,
                )
                participant.consumer = None
                self._subscribe_all(participant)
                await self._offer(participant)
        await consumer.close()

    async def _send(self, message: Message) -> None:
        try:
            await self._send_callback(message)
        except Exception:
            logger.warning(
                "room %s: could not send %s", self.room_id, message.action, exc_info=True
            )


def _grants(info: ParticipantInfo) -> frozenset[str] | None:
    return None if info.grants is None else frozenset(info.grants)


def _offers_media(sdp: str) -> bool:
    """Whether an SDP offer has an audio or video section."""
    return any(line.startswith(("m=audio", "m=video")) for line in sdp.splitlines())
