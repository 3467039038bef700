"""DataRelay: what participants send each other on their producer data channels.

``data`` goes to everyone else (or to ``to``), stamped with its sender; ``track_state`` is
stamped, relayed and remembered for late joiners; ``subscription`` sets what the sender
receives. Anything else, or anything invalid, gets an ``error`` back on the sender's
channel.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping

from arbiter_protocol import (
    DataMessage,
    ErrorCode,
    Message,
    ProtocolError,
    Subscription,
    TrackState,
    encode_message,
    error_message,
    parse_message,
)

from .moderation import own_state
from .participant import Participant
from .producer import Producer

__all__ = ["DataRelay"]

logger = logging.getLogger(__name__)


class DataRelay:
    """Relays one room's data channel messages (see the module docstring).

    **Parameters:** the room id (for logs) and the room's participants by id (read live).
    """

    def __init__(self, room_id: str, participants: Mapping[str, Participant]) -> None:
        self.room_id = room_id
        self._participants = participants
        # What a client may send on its producer data channel.
        self._handlers: dict[str, Callable[[Participant, Message], None]] = {
            DataMessage.action: self._relay_data,
            TrackState.action: self._relay_track_state,
            Subscription.action: self._set_subscription,
        }
        self._actions = frozenset(self._handlers)

    def handle(self, producer: Producer, raw: str | bytes) -> None:
        """Validate a data channel message and relay it by action (nothing escapes to aiortc)."""
        sender = self._participants.get(producer.participant_id)
        if sender is None or sender.producer is not producer:
            return
        if not sender.data_limit.allow():
            if (refusal := sender.data_limit.refusal("data channel messages")) is not None:
                producer.send(encode_message(error_message(refusal)))
            return
        try:
            message = parse_message(raw, allowed=self._actions)
        except ProtocolError as exc:
            logger.info(
                "room %s: bad data channel message from %s: %s", self.room_id, sender.id, exc
            )
            producer.send(encode_message(error_message(exc)))
            return
        try:
            self._handlers[message.action](sender, message)
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

    def _relay_track_state(self, sender: Participant, message: Message) -> None:
        """Stamp and remember a ``track_state`` (per track); relay it to everyone else (an
        unmute of a track a moderator locked is refused: :func:`.moderation.own_state`)."""
        assert isinstance(message, TrackState) and sender.producer is not None
        stamped = own_state(sender, message)
        if isinstance(stamped, ProtocolError):
            sender.producer.send(encode_message(error_message(stamped)))
            return
        sender.remember(stamped)
        text = encode_message(stamped)
        for pid in self._participants:
            if pid != sender.id:
                self._deliver(pid, text)

    def broadcast(self, text: str) -> None:
        """Send ``text`` (an encoded message of the SFU) to every open data channel."""
        for pid in self._participants:
            self._deliver(pid, text)

    def _set_subscription(self, subscriber: Participant, message: Message) -> None:
        """Record what ``subscriber`` wants of ``message.producer_id`` (or one of its
        tracks) and pause, resume or change the quality of that media accordingly."""
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
        wish = subscriber.subscriptions.apply(message)
        if subscriber.consumer is not None:
            subscriber.consumer.apply_wishes()
        logger.debug(
            "room %s: %s receives %s from %s%s at %s quality",
            self.room_id,
            subscriber.id,
            ", ".join(k for k in ("video", "audio") if wish.receives(k)) or "nothing",
            producer_id,
            f" track {message.track_id}" if message.track_id else "",
            wish.quality,
        )

    def channel_opened(self, producer: Producer) -> None:
        """A participant's data channel opened: repeat everyone else's latest track states."""
        for other in self._participants.values():
            if other.id == producer.participant_id:
                continue
            for state in other.track_states.values():
                producer.send(encode_message(state))

    def deliver(self, participant_id: str, text: str) -> bool:
        """Send ``text`` on a participant's data channel; False if it has none open."""
        return self._deliver(participant_id, text)

    def _deliver(self, participant_id: str, text: str) -> bool:
        recipient = self._participants.get(participant_id)
        return (
            recipient is not None
            and recipient.producer is not None
            and (recipient.producer.send(text))
        )
