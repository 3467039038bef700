"""Room: the SFU's state for one room and the signaling flows of ``docs/signaling.md``."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from aiortc import RTCIceServer, RTCSessionDescription

from arbiter_protocol import (
    DataMessage,
    Error,
    ErrorCode,
    Handshake,
    Identified,
    Message,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLeft,
    ProtocolError,
    SessionDescription,
    Subscription,
    TrackState,
    encode_message,
    error_message,
    parse_message,
)
from arbiter_rtc import TaskSet, rtc_configuration

from . import moderation
from .consumer import Consumer
from .participant import Participant, RateLimiter
from .producer import Producer

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


@dataclass(frozen=True)
class RoomStats:
    """Counts of what the room holds, for logs and tests."""

    participants: int
    "Participants known to the SFU."
    producers: int
    "Producer peer connections."
    consumers: int
    "Consumer peer connections."
    peer_connections: int
    "All peer connections (producers + consumers)."
    forwarders: int
    "Producer tracks being forwarded."
    forwarded_tracks: int
    "Consumer tracks being fed."


class Room:
    """The SFU side of one room.

    Feed it every signaling message with :meth:`handle` (or give :meth:`handlers` to a
    :class:`~.signaling.SignalingConnection`); it replies through ``send``. It answers
    producer offers, offers one consumer connection per (subscriber, producer) pair,
    relays data channel messages (``data``, ``track_state``) between producer data
    channels, pauses and resumes consumers as their subscribers ask (``subscription``),
    and closes a participant's
    connections when it leaves or its producer connection fails.

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
        self._lock = asyncio.Lock()
        self._tasks = TaskSet(f"room[{room_id}]")
        self._closed: asyncio.Future[None] | None = None
        self._locks = moderation.TrackLocks(room_id, self._participants, self._lock, self._deliver)
        self._handlers: dict[str, Handler] = {
            Identified.action: _typed(Identified, self._on_identified),
            ParticipantJoined.action: _typed(ParticipantJoined, self._on_participant_joined),
            ParticipantLeft.action: _typed(ParticipantLeft, self._on_participant_left),
            Handshake.action: _typed(Handshake, self._on_handshake),
            TrackState.action: _typed(TrackState, self._locks.on_lock),
        }
        # What a client may send on its producer data channel.
        self._channel_handlers: dict[str, Callable[[Participant, Message], None]] = {
            DataMessage.action: self._relay_data,
            TrackState.action: self._locks.relay_own_state,
            Subscription.action: self._set_subscription,
        }
        self._channel_actions = frozenset(self._channel_handlers)

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

    def stats(self) -> RoomStats:
        """Counts of participants, peer connections and forwarded tracks."""
        producers = [p.producer for p in self._participants.values() if p.producer]
        consumers = [c for p in self._participants.values() for c in p.consumers.values()]
        return RoomStats(
            participants=len(self._participants),
            producers=len(producers),
            consumers=len(consumers),
            peer_connections=len(producers) + len(consumers),
            forwarders=sum(len(p.forwarders) for p in producers),
            forwarded_tracks=sum(len(c.tracks) for c in consumers),
        )

    def connection_count(self, participant_id: str) -> int:
        """Peer connections involving a participant: its producer, consumers to it or of it."""
        count = 0
        for participant in self._participants.values():
            if participant.id == participant_id:
                count += participant.producer is not None
                count += len(participant.consumers)
            else:
                count += participant_id in participant.consumers
        return count

    async def close(self) -> None:
        """Close every peer connection and stop all background work. Idempotent."""
        if self._closed is not None:
            await self._closed
            return
        self._closed = asyncio.get_running_loop().create_future()
        try:
            # Clean-ups in progress (failed connections) finish rather than stop half-way.
            await self._tasks.drain(timeout=5.0)
            async with self._lock:
                for participant in list(self._participants.values()):
                    await self._remove(participant)
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
            # announced again: the participant reconnected to signaling; offers sent
            # while it was away were lost, so make them again
            logger.info(
                "room %s: %s is back; re-offering unanswered consumers", self.room_id, info.id
            )
            await self._resync(known)

    async def _resync(self, participant: Participant) -> None:
        """Replace consumers to ``participant`` that never got an answer, offer missing ones."""
        for other in list(self._participants.values()):
            if other is participant:
                continue
            consumer = participant.consumers.get(other.id)
            if consumer is not None and consumer.pc.signalingState != "stable":
                participant.consumers.pop(other.id, None)
                await consumer.close()
        await asyncio.gather(
            *(
                self._subscribe(participant, other)
                for other in self._participants.values()
                if other is not participant
            )
        )

    async def _on_participant_left(self, message: ParticipantLeft) -> None:
        async with self._lock:
            participant = self._participants.get(message.participant_id)
            if participant is not None:
                await self._remove(participant)
        logger.info("room %s: %s left (%s)", self.room_id, message.participant_id, message.reason)

    async def _reject(
        self, participant_id: str, problem: str, code: ErrorCode = ErrorCode.INVALID_MESSAGE
    ) -> None:
        """Log a refused handshake and tell its sender why, through signaling."""
        logger.warning("room %s: %s: %s", self.room_id, participant_id, problem)
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
                await self._publish(participant, message.sdp)
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
        producer_id = message.producer_id or ""
        consumer = participant.consumers.get(producer_id)
        if consumer is None:
            await self._reject(participant.id, f"no consumer connection for '{producer_id}'")
            return
        if message.sdp is not None:
            if message.sdp.type != "answer":
                await self._reject(participant.id, "a consumer handshake carries an answer")
            else:
                try:
                    await consumer.accept_answer(
                        RTCSessionDescription(sdp=message.sdp.sdp, type="answer")
                    )
                except Exception as exc:
                    await self._reject(participant.id, f"consumer answer refused: {exc}")
                    participant.consumers.pop(producer_id, None)
                    await consumer.close()
                    return
        if message.candidate is not None:
            try:
                await consumer.add_candidate(message.candidate)
            except Exception as exc:
                await self._reject(participant.id, f"bad ICE candidate: {exc}")

    async def _publish(self, participant: Participant, offer: SessionDescription) -> None:
        if not participant.may("publish") and _offers_media(offer.sdp):
            await self._reject(
                participant.id, "your token does not allow publishing media", ErrorCode.FORBIDDEN
            )
            return
        if participant.producer is not None:
            logger.info("room %s: %s publishes again", self.room_id, participant.id)
            await self._unpublish(participant)
        producer = Producer(
            participant.id,
            rtc_configuration(self._ice_servers),
            on_message=self._relay,
            on_channel_open=self._channel_opened,
            on_failed=self._producer_failed,
        )
        participant.producer = producer
        try:
            answer = await producer.accept(RTCSessionDescription(sdp=offer.sdp, type="offer"))
        except Exception as exc:
            logger.debug("producer offer of %s refused", participant.id, exc_info=True)
            await self._reject(
                participant.id, f"producer offer refused: {exc or type(exc).__name__}"
            )
            participant.producer = None
            await producer.close()
            return
        moderation.apply_locks(participant)
        await self._send(
            Handshake(
                connection="producer",
                participant_id=participant.id,
                sdp=SessionDescription(type="answer", sdp=answer.sdp),
            )
        )
        logger.info(
            "room %s: %s publishes %s",
            self.room_id,
            participant.id,
            ", ".join(f.kind for f in producer.forwarders) or "data only",
        )
        # Offers are independent (each gathers its own ICE candidates): make them at once.
        others = [p for p in self._participants.values() if p is not participant]
        await asyncio.gather(
            *(self._subscribe(other, participant) for other in others),
            *(self._subscribe(participant, other) for other in others),
        )

    async def _subscribe(self, subscriber: Participant, publisher: Participant) -> None:
        producer = publisher.producer
        if producer is None or not producer.forwarders or publisher.id in subscriber.consumers:
            return
        if not subscriber.may("subscribe"):
            return
        consumer = Consumer(
            subscriber.id,
            publisher.id,
            rtc_configuration(self._ice_servers),
            on_failed=self._consumer_failed,
        )
        consumer.paused_kinds = dict(subscriber.paused.get(publisher.id, {}))
        subscriber.consumers[publisher.id] = consumer
        try:
            offer = await consumer.offer(producer.forwarders)
        except Exception:
            logger.warning(
                "room %s: cannot offer %s to %s",
                self.room_id,
                publisher.id,
                subscriber.id,
                exc_info=True,
            )
            subscriber.consumers.pop(publisher.id, None)
            await consumer.close()
            return
        await self._send(
            Handshake(
                connection="consumer",
                producer_id=publisher.id,
                participant_id=subscriber.id,
                sdp=SessionDescription(type="offer", sdp=offer.sdp),
            )
        )

    async def _unpublish(self, participant: Participant) -> None:
        """Close a participant's producer and every consumer carrying it."""
        producer = participant.producer
        participant.producer = None
        for other in self._participants.values():
            consumer = other.consumers.pop(participant.id, None)
            if consumer is not None:
                await consumer.close()
        if producer is not None:
            await producer.close()

    async def _disconnect(self, participant: Participant) -> None:
        """Close all of a participant's connections; it stays in the room."""
        await self._unpublish(participant)
        consumers = list(participant.consumers.values())
        participant.consumers.clear()
        for consumer in consumers:
            await consumer.close()

    async def _remove(self, participant: Participant) -> None:
        await self._disconnect(participant)
        if self._participants.get(participant.id) is participant:
            del self._participants[participant.id]
        for other in self._participants.values():
            other.paused.pop(participant.id, None)

    # -- events from peer connections --------------------------------------------------

    def _producer_failed(self, producer: Producer) -> None:
        if self._tasks.closed:  # the room is closing every connection anyway
            return
        self._tasks.spawn(self._drop_producer(producer), f"drop-producer-{producer.participant_id}")

    async def _drop_producer(self, producer: Producer) -> None:
        async with self._lock:
            participant = self._participants.get(producer.participant_id)
            if participant is not None and participant.producer is producer:
                logger.warning(
                    "room %s: %s's producer connection failed; closing its connections",
                    self.room_id,
                    participant.id,
                )
                await self._disconnect(participant)
            else:
                await producer.close()

    def _consumer_failed(self, consumer: Consumer) -> None:
        if self._tasks.closed:
            return
        self._tasks.spawn(
            self._drop_consumer(consumer),
            f"drop-consumer-{consumer.producer_id}-{consumer.subscriber_id}",
        )

    async def _drop_consumer(self, consumer: Consumer) -> None:
        async with self._lock:
            participant = self._participants.get(consumer.subscriber_id)
            current = participant.consumers.get(consumer.producer_id) if participant else None
            if participant is not None and current is consumer:
                logger.warning(
                    "room %s: consumer %s -> %s failed",
                    self.room_id,
                    consumer.producer_id,
                    consumer.subscriber_id,
                )
                del participant.consumers[consumer.producer_id]
            await consumer.close()

    def _relay(self, producer: Producer, raw: str | bytes) -> None:
        """Validate a data channel message and relay it by action (nothing escapes to aiortc)."""
        sender = self._participants.get(producer.participant_id)
        if sender is None or sender.producer is not producer:
            return
        if not sender.data_limit.allow():
            if (refusal := sender.data_limit.refusal("data channel messages")) is not None:
                producer.send(encode_message(error_message(refusal)))
            return
        try:
            message = parse_message(raw, allowed=self._channel_actions)
        except ProtocolError as exc:
            logger.info(
                "room %s: bad data channel message from %s: %s", self.room_id, sender.id, exc
            )
            producer.send(encode_message(error_message(exc)))
            return
        try:
            self._channel_handlers[message.action](sender, message)
        except Exception:
            logger.exception(
                "room %s: relaying %s from %s failed", self.room_id, message.action, sender.id
            )

    def _relay_data(self, sender: Participant, message: Message) -> None:
        """Stamp ``sender`` on a ``data`` message; relay it once to ``to`` or everyone else."""
        assert isinstance(message, DataMessage) and sender.producer is not None
        if not sender.may("data"):
            refused = ProtocolError(
                ErrorCode.FORBIDDEN, "your token does not allow sending data", DataMessage.action
            )
            sender.producer.send(encode_message(error_message(refused)))
            return
        text = encode_message(dataclasses.replace(message, sender=sender.id))
        if message.to is None:
            recipients = [pid for pid in self._participants if pid != sender.id]
        else:
            recipients = [pid for pid in dict.fromkeys(message.to) if pid != sender.id]
        unreachable = [pid for pid in recipients if not self._deliver(pid, text)]
        if unreachable and message.to is not None:
            error = ProtocolError(
                ErrorCode.PARTICIPANT_NOT_FOUND,
                "not delivered to: " + ", ".join(unreachable)[:900],
                DataMessage.action,
            )
            sender.producer.send(encode_message(error_message(error)))
        elif unreachable:
            logger.debug(
                "room %s: data %s from %s not delivered to %s",
                self.room_id,
                message.id,
                sender.id,
                unreachable,
            )

    def _set_subscription(self, subscriber: Participant, message: Message) -> None:
        """Pause or resume the media of ``message.producer_id`` sent to ``subscriber``."""
        assert isinstance(message, Subscription) and subscriber.producer is not None
        producer_id = message.producer_id
        if producer_id == subscriber.id or producer_id not in self._participants:
            refused = ProtocolError(
                ErrorCode.PARTICIPANT_NOT_FOUND,
                f"no other participant '{producer_id}' in the room",
                Subscription.action,
            )
            subscriber.producer.send(encode_message(error_message(refused)))
            return
        wanted = {"video": not message.video, "audio": not message.audio}
        if any(wanted.values()):
            subscriber.paused[producer_id] = wanted
        else:
            subscriber.paused.pop(producer_id, None)
        consumer = subscriber.consumers.get(producer_id)
        if consumer is not None:
            consumer.paused_kinds = dict(wanted)
            for kind, paused in wanted.items():
                consumer.set_paused(kind, paused)
        logger.debug(
            "room %s: %s receives %s from %s",
            self.room_id,
            subscriber.id,
            ", ".join(k for k, p in wanted.items() if not p) or "nothing",
            producer_id,
        )

    def _channel_opened(self, producer: Producer) -> None:
        """A participant's data channel opened: repeat everyone else's latest track states."""
        for other in self._participants.values():
            if other.id == producer.participant_id:
                continue
            for state in other.track_states.values():
                producer.send(encode_message(state))

    def _deliver(self, participant_id: str, text: str) -> bool:
        recipient = self._participants.get(participant_id)
        return (
            recipient is not None
            and recipient.producer is not None
            and (recipient.producer.send(text))
        )

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
