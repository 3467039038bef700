"""The public hook for what runs alongside a room: :class:`Attachment` and :class:`RoomHandle`.

The recorder, the audio player and the notebook view use it, and so can an application's
own helpers: ``room.attach(x)`` makes the room await ``x.stop()`` when it closes, and
``room.detach(x)`` undoes that (``x.stop()`` calls it when stopped early).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ._events import ConnectionState
from ._participant import LocalParticipant, RemoteParticipant

__all__ = ["Attachment", "RoomHandle"]


class Attachment(Protocol):
    """Something that runs with a room and must stop when the room closes."""

    async def stop(self) -> None:
        """Stop, and release what it holds; idempotent. The room awaits it when closing."""


class RoomHandle(Protocol):
    """What an attachment may use of its room (a :class:`~arbiter_client.Room` is one)."""

    @property
    def url(self) -> str:
        """The room URL."""

    @property
    def room_id(self) -> str:
        """The room's id."""

    @property
    def connection_state(self) -> ConnectionState:
        """The room's connection state."""

    @property
    def local_participant(self) -> LocalParticipant:
        """This client."""

    @property
    def participants(self) -> Mapping[str, RemoteParticipant]:
        """The other participants, by id."""

    def attach(self, attachment: Attachment) -> None:
        """Stop ``attachment`` when the room closes."""

    def detach(self, attachment: Attachment) -> None:
        """Forget ``attachment`` (a no-op if it is not attached)."""
