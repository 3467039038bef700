"""What a moderator does from a client: remove, mute, end the room, answer the lobby.

A base class of :class:`~arbiter_client.Room`. Signaling refuses these unless the
participant's grant holds ``moderator`` (minted by the app's backend): each method raises
the refusal (:class:`Unauthorized`, ``forbidden``) or returns once its effect reached this
client.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from arbiter_protocol import Grant, Moderate

from ._exceptions import ConnectionLost
from ._participant import TrackKind, WaitingParticipant

if TYPE_CHECKING:
    from ._connection import RoomConnection

__all__ = ["Moderator"]


class Moderator:
    """The moderation half of :class:`~arbiter_client.Room`."""

    _c: RoomConnection

    @property
    def grants(self) -> tuple[Grant, ...]:
        """What this participant may do (``publish``, ``subscribe``, ``data``, ``screen``,
        ``moderator``), as the join response said."""
        return self._c.grants

    @property
    def is_moderator(self) -> bool:
        """True if this participant may remove, mute, end the room and answer the lobby."""
        return "moderator" in self._c.grants

    @property
    def waiting(self) -> Mapping[str, WaitingParticipant]:
        """Who waits in the room's lobby, by participant id (moderators are told; a
        :class:`ParticipantWaiting` event announces each newcomer)."""
        return MappingProxyType(self._c.moderation.waiting)

    async def remove_participant(self, participant_id: str, *, reason: str | None = None) -> None:
        """Remove a participant: its session ends (it gets ``Disconnected(reason="removed")``),
        everyone gets :class:`ParticipantRemoved` and :class:`ParticipantLeft`. ``reason`` is
        shown to it. Returns once it left this client's roster.

        **Raises:** :class:`Unauthorized` without the ``moderator`` grant;
        :class:`ServerError` (``participant_not_found``) for someone not in the room.
        """
        self._c.require_connected("remove a participant")
        await self._c.moderation.run(
            Moderate(op="remove", participant_id=participant_id, reason=reason),
            lambda: self._c.roster.get(participant_id) is None,
        )

    async def mute_participant(
        self, participant_id: str, kind: TrackKind, *, muted: bool = True
    ) -> None:
        """Hold a participant's audio or video muted: the SFU stops forwarding it and the
        participant cannot unmute it until a moderator calls this with ``muted=False``.
        Everyone gets :class:`TrackMuted` with ``by``. Returns once that reached this client.
        """
        self._c.require_connected("mute a participant")

        def done() -> bool:
            target = self._c.roster.get(participant_id)
            return target is not None and (kind in target.locked) == muted

        await self._c.moderation.run(
            Moderate(op="mute", participant_id=participant_id, kind=kind, muted=muted), done
        )

    async def end_room(self, *, reason: str | None = None) -> None:
        """End the room for everyone: each participant (this one too) ends with
        ``Disconnected(reason="room_ended")`` and the room is gone. Returns once this room
        is closed."""
        self._c.require_connected("end the room")
        try:
            await self._c.moderation.run(
                Moderate(op="end_room", reason=reason), lambda: self._c.state.value != "connected"
            )
        except ConnectionLost as exc:  # the room ended under us: what we asked for
            if exc.code != "room_ended":
                raise
        await self._c.wait_closed()

    async def admit(self, participant_id: str) -> None:
        """Let a participant waiting in the lobby in (see :attr:`waiting`)."""
        self._c.require_connected("admit a participant")
        await self._c.moderation.run(
            Moderate(op="admit", participant_id=participant_id),
            lambda: participant_id not in self._c.moderation.waiting,
        )

    async def deny(self, participant_id: str, *, reason: str | None = None) -> None:
        """Refuse a participant waiting in the lobby: its join fails with
        :class:`AdmissionDenied`."""
        self._c.require_connected("deny a participant")
        await self._c.moderation.run(
            Moderate(op="deny", participant_id=participant_id, reason=reason),
            lambda: participant_id not in self._c.moderation.waiting,
        )
