"""Roster: the other participants of a room, their tracks, mute states and subscriptions."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

from aiortc import MediaStreamTrack

from arbiter_protocol import ParticipantInfo, Subscription, TrackInfo, TrackState
from arbiter_rtc import TaskSet

from . import _events as ev
from ._events import Event
from ._participant import LocalParticipant, RemoteParticipant, TrackKind
from ._progress import RoomLog
from ._track import RemoteTrack

__all__ = ["Roster"]


class Roster:
    """Who else is in the room, as this client knows it; every change is an event.

    ``emit`` receives the events (:class:`~arbiter_client.ParticipantJoined`,
    ``TrackSubscribed`` ...).
    """

    def __init__(self, emit: Callable[[Event], None], tasks: TaskSet, log: RoomLog) -> None:
        self._emit = emit
        self._tasks = tasks
        self._log = log
        self._participants: dict[str, RemoteParticipant] = {}
        self._early_states: dict[str, dict[str, TrackState]] = {}
        self.subscriptions: dict[tuple[str, str | None], Subscription] = {}
        """(participant id, track id or ``None``) -> what this client asked for there, with
        the quality in force (kept to tell a new SFU)."""
        self.local_id: str | None = None
        "This client's own participant id, once known (never listed)."
        self.local: LocalParticipant | None = None
        "This client, once joined."
        self.speakers: list[str] = []
        "The active speakers' ids, loudest first (as the SFU last said)."

    @property
    def view(self) -> Mapping[str, RemoteParticipant]:
        """The participants by id (a live read-only view)."""
        return MappingProxyType(self._participants)

    def get(self, participant_id: str) -> RemoteParticipant | None:
        """The participant ``participant_id``, if present."""
        return self._participants.get(participant_id)

    def joined(self, participant_id: str, name: str, info: ParticipantInfo | None = None) -> None:
        """A participant is present (joined, or known from ``identified``); a known one
        takes what ``info`` says of it now (name, hand, identity, metadata)."""
        if participant_id == self.local_id:
            return
        participant = self._participants.get(participant_id)
        if participant is not None:
            if info is not None:
                self.updated(info)
            else:
                participant._name = name
            return
        participant = RemoteParticipant(
            participant_id,
            name,
            identity=info.identity if info is not None else None,
            metadata=info.metadata if info is not None else None,
            hand_raised=bool(info is not None and info.hand_raised),
        )
        for state in self._early_states.pop(participant_id, {}).values():
            _apply(participant, state)
        participant._speaking = participant_id in self.speakers
        self._participants[participant_id] = participant
        self._emit(ev.ParticipantJoined(participant))

    def updated(self, info: ParticipantInfo) -> None:
        """A participant's state changed (``participant_updated``; this client's own too):
        its name, its hand, the app's data about it."""
        participant: RemoteParticipant | LocalParticipant | None
        participant = self.local if info.id == self.local_id else self._participants.get(info.id)
        if participant is None:
            return
        hand = bool(info.hand_raised)
        changed = (participant._name, participant._hand_raised) != (info.name, hand)
        participant._name, participant._hand_raised = info.name, hand
        if isinstance(participant, RemoteParticipant):
            app = (info.identity, info.metadata)
            changed = changed or (participant._identity, participant._metadata) != app
            participant._identity, participant._metadata = app
        if changed:
            self._emit(ev.ParticipantUpdated(participant))

    def active_speakers(self, speakers: list[str]) -> None:
        """The SFU says who speaks now (``active_speakers``), loudest first."""
        if speakers == self.speakers:
            return
        self.speakers = list(speakers)
        speaking = set(speakers)
        for participant in self._participants.values():
            participant._speaking = participant.id in speaking
        if self.local is not None:
            self.local._speaking = self.local.id in speaking
        self._emit(ev.ActiveSpeakersChanged(tuple(self.speaker_list())))

    def speaker_list(self) -> list[RemoteParticipant | LocalParticipant]:
        """The active speakers (known participants and this client), loudest first."""
        found: list[RemoteParticipant | LocalParticipant] = []
        for pid in self.speakers:
            participant = self.local if pid == self.local_id else self._participants.get(pid)
            if participant is not None:
                found.append(participant)
        return found

    def left(self, participant_id: str, reason: str) -> None:
        """A participant is gone (its tracks are unsubscribed first)."""
        for key in [k for k in self.subscriptions if k[0] == participant_id]:
            del self.subscriptions[key]
        participant = self._participants.get(participant_id)
        if participant is not None:
            self.unsubscribe(participant_id)
            del self._participants[participant_id]
            self._emit(ev.ParticipantLeft(participant=participant, reason=reason))

    def remember(self, message: Subscription) -> None:
        """Keep what this client asked for (with the quality in force) to tell a new SFU."""
        key = (message.producer_id, message.track_id)
        previous = self.subscriptions.get(key)
        quality = message.quality or (previous.quality if previous is not None else None)
        if message.video and message.audio and quality in (None, "high"):
            self.subscriptions.pop(key, None)
        else:
            self.subscriptions[key] = dataclasses.replace(message, quality=quality)

    def absent(self, present: Iterable[str]) -> list[str]:
        """Ids of the participants not in ``present`` (they left while we were away)."""
        keep = set(present)
        return [pid for pid in self._participants if pid not in keep]

    def add_track(self, info: TrackInfo, received: MediaStreamTrack) -> RemoteTrack | None:
        """A track of ``info.participant_id`` arrived on ``received``: announce it.

        The consumer connection feeds the returned track (:meth:`RemoteTrack._on_frame`).
        """
        participant_id = info.participant_id
        if participant_id is None:
            return None
        participant = self._participants.get(participant_id)
        if participant is None:
            self._log.debug("a track of %s before participant_joined", participant_id)
            self.joined(participant_id, participant_id)
            participant = self._participants.get(participant_id)
            if participant is None:  # our own id
                return None
        kind: TrackKind = "video" if received.kind == "video" else "audio"
        track = RemoteTrack(received, participant_id, kind, track_id=info.id, source=info.source)
        old = participant._tracks.get(info.id)
        if old is not None:
            self.end_track(old)
        participant._tracks[info.id] = track
        self._emit(
            ev.TrackSubscribed(participant=participant, kind=kind, track=track, source=info.source)
        )
        return track

    def end_track(self, track: RemoteTrack) -> None:
        """``track`` is no longer received: take it off its participant and say so."""
        if track.ended:
            return
        track._finish()
        participant = self._participants.get(track.participant_id)
        if participant is not None and participant._tracks.get(track.track_id) is track:
            del participant._tracks[track.track_id]
            kind: TrackKind = "video" if track.kind == "video" else "audio"
            self._emit(ev.TrackUnsubscribed(participant=participant, kind=kind, track=track))

    def unsubscribe(self, participant_id: str | None = None) -> None:
        """End the tracks of one participant (of everyone when ``None``)."""
        if participant_id is None:
            chosen = list(self._participants.values())
        else:
            found = self._participants.get(participant_id)
            chosen = [found] if found is not None else []
        for participant in chosen:
            for track in list(participant._tracks.values()):
                self.end_track(track)

    def track_state(self, message: TrackState) -> None:
        """A participant's mute state changed (``track_state`` from the SFU)."""
        if message.sender is None:
            self._log.warning("ignoring a track_state without sender")
            return
        track_id = message.track_id or ("microphone" if message.kind == "audio" else "camera")
        participant = self._participants.get(message.sender)
        if participant is None:  # the data channel overtook participant_joined
            self._early_states.setdefault(message.sender, {})[track_id] = message
            return
        if _apply(participant, message):
            self._emit(
                ev.TrackMuted(
                    participant=participant,
                    kind=message.kind,
                    muted=message.muted,
                    track_id=track_id,
                    by=message.by,
                )
            )


def _apply(participant: RemoteParticipant, state: TrackState) -> bool:
    """Take a ``track_state`` (per track; a moderator's lock, with ``by``, per kind); True
    if anything changed."""
    kind = state.kind
    track_id = state.track_id or ("microphone" if kind == "audio" else "camera")
    if (
        participant._muted.get(track_id, False) == state.muted
        and participant._locked.get(kind) == state.by
    ):
        return False
    participant._muted[track_id] = state.muted
    if state.by is None:
        participant._locked.pop(kind, None)
    else:
        participant._locked[kind] = state.by
    return True
