"""The data channel's messages: what ``room.send`` puts on it, and the events of what arrives."""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Literal

from arbiter_protocol import (
    CHAT_TOPIC,
    ActiveSpeakers,
    DataMessage,
    Error,
    ProtocolError,
    TrackState,
    parse_message,
)

from . import _events as ev
from ._events import Event
from ._progress import RoomLog
from ._roster import Roster

__all__ = ["DATA_ACTIONS", "DataReader", "data_message"]

DATA_ACTIONS = frozenset(
    {DataMessage.action, Error.action, TrackState.action, ActiveSpeakers.action}
)
"What the SFU may send on a client's data channel."


def data_message(
    data: str | bytes, to: str | Sequence[str] | None, topic: str | None
) -> DataMessage:
    """A validated ``data`` message: text as is, bytes in base64, a fresh id.

    Raises ``TypeError`` for data that is neither text nor bytes and ``ValueError`` for a
    message the protocol does not allow (too large, bad ids or topic).
    """
    if isinstance(data, bytes | bytearray | memoryview):
        kind: Literal["text", "bytes"] = "bytes"
        payload = base64.b64encode(bytes(data)).decode("ascii")
    elif isinstance(data, str):
        kind, payload = "text", data
    else:
        raise TypeError(f"data must be str or bytes, not {type(data).__name__}")
    recipients = [to] if isinstance(to, str) else (list(to) if to is not None else None)
    message = DataMessage(kind=kind, data=payload, id=uuid.uuid4().hex, to=recipients, topic=topic)
    DataMessage.from_dict(message.to_dict())  # validate before sending: raises ValueError
    return message


class DataReader:
    """Reads the producer's data channel: ``data`` (and chat), ``track_state``, ``error``,
    ``active_speakers``.

    Each becomes an event for ``emit``; mute states and speakers go to the ``roster``,
    except this client's own mute states (a moderator's lock), which go to ``on_own_state``.
    """

    def __init__(
        self,
        emit: Callable[[Event], None],
        roster: Roster,
        log: RoomLog,
        on_own_state: Callable[[TrackState], None] = lambda _: None,
    ) -> None:
        self._emit = emit
        self._roster = roster
        self._log = log
        self._on_own_state = on_own_state

    def __call__(self, raw: str | bytes) -> None:
        try:
            message = parse_message(raw, allowed=DATA_ACTIONS)
        except ProtocolError as exc:
            self._log.warning("ignoring a bad data channel message: %s", exc)
            return
        if isinstance(message, Error):
            self._log.warning("data channel error %s: %s", message.code, message.message)
            self._emit(
                ev.ErrorReceived(code=message.code, message=message.message, ref=message.ref)
            )
            return
        if isinstance(message, TrackState):
            if message.sender is not None and message.sender == self._roster.local_id:
                self._on_own_state(message)
            else:
                self._roster.track_state(message)
            return
        if isinstance(message, ActiveSpeakers):
            self._roster.active_speakers(message.speakers)
            return
        assert isinstance(message, DataMessage)
        data: str | bytes = message.data
        if message.kind == "bytes":
            try:
                data = base64.b64decode(message.data, validate=True)
            except (binascii.Error, ValueError):
                self._log.warning("ignoring a data message with invalid base64")
                return
        self._emit(
            ev.DataReceived(
                sender=message.sender, data=data, topic=message.topic, message_id=message.id
            )
        )
        if message.topic == CHAT_TOPIC and isinstance(data, str):
            sender = self._roster.get(message.sender or "")
            name = sender.name if sender is not None else (message.sender or "unknown")
            self._emit(
                ev.ChatMessage(
                    sender=message.sender,
                    name=name,
                    text=data,
                    timestamp=time.time(),
                    message_id=message.id,
                )
            )
