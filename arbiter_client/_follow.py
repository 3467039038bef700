"""SpeakerFollower: receive video only from the participants who spoke last
(``room.follow_speakers(n)``), for bots that watch a large room.

It keeps the ``n`` participants who spoke most recently (at first: the first ``n``
present), asks the SFU for their video and pauses everyone else's
(``room.set_subscription``); each :class:`ActiveSpeakersChanged` moves the speakers to
the front, and whoever falls off the end is paused. Audio is left alone unless
``audio=False`` (then it follows the video). It uses callbacks, not an event stream, so
the room's event backlog stays for the application.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from arbiter_rtc import TaskSet

from ._attachment import Attachment
from ._events import ActiveSpeakersChanged, EventType, ParticipantJoined, ParticipantLeft
from ._exceptions import ArbiterError
from ._participant import RemoteParticipant

__all__ = ["SpeakerFollower"]

logger = logging.getLogger("arbiter_client")


class FollowedRoom(Protocol):
    """What the follower uses of its room (a :class:`~arbiter_client.Room` is one)."""

    @property
    def participants(self) -> Mapping[str, RemoteParticipant]:
        """The other participants, by id."""

    async def set_subscription(
        self, participant_id: str, *, video: bool = True, audio: bool = True
    ) -> None:
        """Ask the SFU for (or to pause) a participant's media."""

    def on(self, event: EventType, callback: Callable[[Any], object]) -> None:
        """Call ``callback`` for every event of one type."""

    def off(self, event: EventType, callback: Callable[[Any], object]) -> None:
        """Remove a callback."""

    def attach(self, attachment: Attachment) -> None:
        """Stop ``attachment`` when the room closes."""

    def detach(self, attachment: Attachment) -> None:
        """Forget ``attachment``."""


class SpeakerFollower:
    """Follows the last ``n`` speakers of a room (see the module docstring); stop it with
    ``await follower.stop()`` (leaving the room stops it too), which receives everyone's
    video again."""

    def __init__(self, room: FollowedRoom, n: int, *, audio: bool = True) -> None:
        if n < 1:
            raise ValueError(f"follow at least one speaker, not {n}")
        self._room = room
        self._n = n
        self._audio = audio
        self._followed: list[str] = []
        self._sent: dict[str, bool] = {}
        self._changed = asyncio.Event()
        self._tasks = TaskSet("arbiter-client:follow")
        self._stopped = False

    @property
    def followed(self) -> list[str]:
        """The ids of the participants whose video is received, the latest speaker first."""
        return list(self._followed)

    async def start(self) -> None:
        """Follow the first ``n`` participants present and apply it; then keep up."""
        self._followed = list(self._room.participants)[: self._n]
        self._room.on("active_speakers_changed", self._on_speakers)
        self._room.on("participant_joined", self._on_joined)
        self._room.on("participant_left", self._on_left)
        self._room.attach(self)
        await self._apply()
        self._tasks.spawn(self._run(), "follow")

    def _on_speakers(self, event: ActiveSpeakersChanged) -> None:
        remote = [p.id for p in event.speakers if isinstance(p, RemoteParticipant)]
        for pid in reversed(remote):  # the loudest ends up first
            if pid in self._followed:
                self._followed.remove(pid)
            self._followed.insert(0, pid)
        del self._followed[self._n :]
        self._changed.set()

    def _on_joined(self, event: ParticipantJoined) -> None:
        if len(self._followed) < self._n and event.participant.id not in self._followed:
            self._followed.append(event.participant.id)
        self._changed.set()

    def _on_left(self, event: ParticipantLeft) -> None:
        pid = event.participant.id
        self._sent.pop(pid, None)
        if pid in self._followed:
            self._followed.remove(pid)
            spare = [p for p in self._room.participants if p not in self._followed and p != pid]
            self._followed += spare[: self._n - len(self._followed)]
        self._changed.set()

    async def _run(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            await self._apply()

    async def _apply(self) -> None:
        """Send a ``subscription`` for each participant whose state changed."""
        followed = set(self._followed)
        for pid in list(self._room.participants):
            want = pid in followed
            if self._sent.get(pid) is want:
                continue
            try:
                await self._room.set_subscription(pid, video=want, audio=want or self._audio)
            except (ArbiterError, ValueError) as exc:
                logger.debug("following speakers: cannot change %s: %s", pid, exc)
                continue
            self._sent[pid] = want

    async def stop(self) -> None:
        """Stop following; everyone's video (and audio) is received again. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._room.off("active_speakers_changed", self._on_speakers)
        self._room.off("participant_joined", self._on_joined)
        self._room.off("participant_left", self._on_left)
        await self._tasks.close()
        self._room.detach(self)
        for pid, received in list(self._sent.items()):
            if not received and pid in self._room.participants:
                try:
                    await self._room.set_subscription(pid)
                except ArbiterError:
                    break  # the room is closing: nothing to restore
        self._sent.clear()
