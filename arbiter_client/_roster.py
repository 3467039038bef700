"""Roster: the other participants of a room, their tracks, mute states and subscriptions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

from aiortc import MediaStreamTrack

from arbiter_protocol import ParticipantInfo, Subscription, TrackState
from arbiter_rtc import TaskSet

from . import _events as ev
from ._events import Event
from ._participant import RemoteParticipant, TrackKind
from ._progress import RoomLog
from ._track import RemoteTrack

__all__ = ["Roster"]


class Roster:
    """Who else is in the room, as this client knows it; every change is an event.

    ``emit`` receives the events (:class:`~arbiter_client.ParticipantJoined`,
    ``TrackSubscribed`` ...); each subscribed track's reader runs in ``tasks``.
    """

    def __init__(self, emit: Callable[[Event], None], tasks: TaskSet, log: RoomLog) -> None:
        self._emit = emit
        self._tasks = tasks
        self._log = log
        self._participants: dict[str, RemoteParticipant] = {}
        self._early_states: dict[str, dict[TrackKind, TrackState]] = {}
        self.subscriptions: dict[str, Subscription] = {}
        "Participant id -> the pause this client asked for (kept for a new SFU)."
        self.local_id: str | None = None
        "This client's own participant id, once known (never listed)."

    @property
    def view(self) -> Mapping[str, RemoteParticipant]:
        """The participants by id (a live read-only view)."""
        return MappingProxyType(self._participants)

    def get(self, participant_id: str) -> RemoteParticipant | None:
        """The participant ``participant_id``, if present."""
        return self._participants.get(participant_id)

    def joined(self, participant_id: str, name: str, info: ParticipantInfo | None = None) -> None:
        """A participant is present (joined, or known from ``identified``); renames a known one.

        ``info`` (from signaling) brings its identity and metadata.
        """
        if participant_id == self.local_id:
            return
        participant = self._participants.get(participant_id)
        if participant is not None:
            participant._name = name
            if info is not None:
                participant._identity, participant._metadata = info.identity, info.metadata
            return
        participant = RemoteParticipant(
            participant_id,
            name,
            identity=info.identity if info is not None else None,
            metadata=info.metadata if info is not None else None,
        )
        for state in self._early_states.pop(participant_id, {}).values():
            _apply(participant, state)
        self._participants[participant_id] = participant
        self._emit(ev.ParticipantJoined(participant))

    def updated(self, info: ParticipantInfo) -> None:
        """A participant's app data changed (``participant_updated``)."""
        participant = self._participants.get(info.id)
        if participant is not None:
            participant._metadata = info.metadata
            self._emit(ev.ParticipantUpdated(participant))

    def left(self, participant_id: str, reason: str) -> None:
        """A participant is gone (its tracks are unsubscribed first)."""
        self.subscriptions.pop(participant_id, None)
        participant = self._participants.pop(participant_id, None)
        if participant is not None:
            self.unsubscribe(participant_id)
            self._emit(ev.ParticipantLeft(participant=participant, reason=reason))

    def absent(self, present: Iterable[str]) -> list[str]:
        """Ids of the participants not in ``present`` (they left while we were away)."""
        keep = set(present)
        return [pid for pid in self._participants if pid not in keep]

    def subscribe(self, producer_id: str, received: Iterable[MediaStreamTrack]) -> None:
        """Tracks of ``producer_id`` arrived: replace its old ones, announce the new ones."""
        participant = self._participants.get(producer_id)
        if participant is None:
            self._log.debug("consumer for %s before participant_joined", producer_id)
            self.joined(producer_id, producer_id)
            participant = self._participants[producer_id]
        for track in received:
            kind: TrackKind = "video" if track.kind == "video" else "audio"
            remote = RemoteTrack(track, producer_id, kind)
            old = participant._tracks.get(kind)
            if old is not None:
                self._emit(ev.TrackUnsubscribed(participant=participant, kind=kind, track=old))
                old._finish()
            participant._tracks[kind] = remote
            self._tasks.spawn(remote._run(), f"track:{producer_id}:{kind}")
            self._emit(ev.TrackSubscribed(participant=participant, kind=kind, track=remote))

    def unsubscribe(self, participant_id: str | None = None) -> None:
        """End the tracks of one participant (of everyone when ``None``)."""
        if participant_id is None:
            chosen = list(self._participants.values())
        else:
            found = self._participants.get(participant_id)
            chosen = [found] if found is not None else []
        for participant in chosen:
            tracks, participant._tracks = participant._tracks, {}
            for kind, track in tracks.items():
                track._finish()
                self._emit(ev.TrackUnsubscribed(participant=participant, kind=kind, track=track))

    def track_state(self, message: TrackState) -> None:
        """A participant's mute state changed (``track_state`` from the SFU)."""
        if message.sender is None:
            self._log.warning("ignoring a track_state without sender")
            return
        participant = self._participants.get(message.sender)
        if participant is None:  # the data channel overtook participant_joined
            self._early_states.setdefault(message.sender, {})[message.kind] = message
            return
        if _apply(participant, message):
            self._emit(
                ev.TrackMuted(
                    participant=participant, kind=message.kind, muted=message.muted, by=message.by
                )
            )


def _apply(participant: RemoteParticipant, state: TrackState) -> bool:
    """Take a ``track_state`` (a moderator's lock with ``by``); True if anything changed."""
    kind = state.kind
    if participant._muted[kind] == state.muted and participant._locked.get(kind) == state.by:
        return False
    participant._muted[kind] = state.muted
    if state.by is None:
        participant._locked.pop(kind, None)
    else:
        participant._locked[kind] = state.by
    return True
