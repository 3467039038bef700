"""The people in a room: :class:`RemoteParticipant` and :class:`LocalParticipant`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from ._track import RemoteTrack

if TYPE_CHECKING:
    from ._media import LocalTrack

__all__ = ["LocalParticipant", "RemoteParticipant", "TrackKind", "WaitingParticipant"]

TrackKind = Literal["audio", "video"]
"The kind of a media track."


class RemoteParticipant:
    """Another participant in the room, as this client sees it.

    ``video`` and ``audio`` are the :class:`RemoteTrack` objects received from the
    participant's camera and microphone (``None`` until subscribed, and again after the
    participant left): ``async for image in participant.video.frames(): ...`` or
    ``await participant.video.recv()`` (an :class:`av.VideoFrame`). ``tracks`` has every
    track received from it by track id (a participant may publish more than one video
    track, e.g. a screen beside its camera).

    ``audio_muted`` / ``video_muted`` / ``screen_muted`` follow the participant's
    ``track_state`` messages (``False`` until one says otherwise); ``audio_level`` is
    measured on the received audio, which the room always reads; ``is_speaking`` is what
    the SFU says (``room.active_speakers``); ``name`` and ``hand_raised`` are what the
    participant last said of itself (:class:`ParticipantUpdated`).
    """

    def __init__(
        self,
        participant_id: str,
        name: str,
        identity: str | None = None,
        metadata: str | None = None,
        hand_raised: bool = False,
    ) -> None:
        self._id = participant_id
        self._name = name
        self._identity = identity
        self._metadata = metadata
        self._hand_raised = hand_raised
        self._speaking = False
        self._tracks: dict[str, RemoteTrack] = {}
        self._muted: dict[str, bool] = {}
        "Mute state by track id (``microphone``, ``camera``, ``screen`` ...)."
        self._locked: dict[TrackKind, str] = {}

    @property
    def identity(self) -> str | None:
        """The app's id for this user (from the grant it joined with; None for a plain join)."""
        return self._identity

    @property
    def metadata(self) -> str | None:
        """The app's data about this participant (its grant's, or set by the server API)."""
        return self._metadata

    @property
    def locked(self) -> Mapping[TrackKind, str]:
        """Kinds a moderator holds muted, and who (a participant id, or ``app``)."""
        return MappingProxyType(self._locked)

    @property
    def id(self) -> str:
        """The participant id, unique within the room."""
        return self._id

    @property
    def name(self) -> str:
        """The display name (chosen at join, or since with ``room.set_name``)."""
        return self._name

    @property
    def hand_raised(self) -> bool:
        """True while the participant has its hand raised."""
        return self._hand_raised

    @property
    def tracks(self) -> Mapping[str, RemoteTrack]:
        """Every track received from the participant, by track id."""
        return MappingProxyType(self._tracks)

    @property
    def video(self) -> RemoteTrack | None:
        """Its camera (or else its first video track), ``None`` while not subscribed."""
        return self._main("video", "camera")

    @property
    def audio(self) -> RemoteTrack | None:
        """Its microphone (or else its first audio track), ``None`` while not subscribed."""
        return self._main("audio", "microphone")

    @property
    def screen(self) -> RemoteTrack | None:
        """Its shared screen, ``None`` while it shares none (or it is not subscribed)."""
        return next((t for t in self._tracks.values() if t.source == "screen"), None)

    def _main(self, kind: TrackKind, source: str) -> RemoteTrack | None:
        tracks = [t for t in self._tracks.values() if t.kind == kind and t.source != "screen"]
        return next((t for t in tracks if t.source == source), tracks[0] if tracks else None)

    @property
    def audio_muted(self) -> bool:
        """True if the participant said its audio (microphone) is muted."""
        return self._muted.get("microphone", False)

    @property
    def video_muted(self) -> bool:
        """True if the participant said its video (camera) is muted."""
        return self._muted.get("camera", False)

    @property
    def screen_muted(self) -> bool:
        """True if the participant paused its shared screen."""
        return self._muted.get("screen", False)

    @property
    def audio_level(self) -> float:
        """RMS level (0..1) of the latest audio frame received; 0 if muted or silent.

        Updated for every received audio frame (about 50 times a second), whether or not
        anybody reads the audio; 0 when no audio came in the last half second.
        """
        track = self.audio
        if track is None or self.audio_muted:
            return 0.0
        return track.audio_level

    @property
    def is_speaking(self) -> bool:
        """True while the SFU lists the participant among the active speakers."""
        return self._speaking

    def __repr__(self) -> str:
        kinds = ",".join(sorted(self._tracks))  # track ids
        return f"<RemoteParticipant id={self._id!r} name={self._name!r} tracks=[{kinds}]>"


class LocalParticipant:
    """This client in the room: its id, its name, the tracks it publishes and their mute state."""

    def __init__(
        self,
        participant_id: str,
        name: str,
        video: LocalTrack | None,
        audio: LocalTrack | None,
    ) -> None:
        self._id = participant_id
        self._name = name
        self._video = video
        self._audio = audio
        self._screen: LocalTrack | None = None
        self._hand_raised = False
        self._speaking = False
        self._locked: dict[TrackKind, str] = {}

    @property
    def locked(self) -> Mapping[TrackKind, str]:
        """Kinds a moderator holds muted, and who: they cannot be unmuted until it lets go."""
        return MappingProxyType(self._locked)

    @property
    def id(self) -> str:
        """This client's participant id (assigned by the server at join)."""
        return self._id

    @property
    def name(self) -> str:
        """This client's display name (``room.set_name`` changes it)."""
        return self._name

    @property
    def hand_raised(self) -> bool:
        """True while this client's hand is raised (``room.set_hand_raised``)."""
        return self._hand_raised

    @property
    def is_speaking(self) -> bool:
        """True while the SFU lists this client among the active speakers."""
        return self._speaking

    @property
    def screen(self) -> LocalTrack | None:
        """The shared screen (``room.publish_screen``), ``None`` while none is shared."""
        return self._screen

    @property
    def screen_muted(self) -> bool:
        """True while the shared screen is paused (or none is shared)."""
        return self._screen is None or self._screen.muted

    @property
    def video(self) -> LocalTrack | None:
        """The published video track, or ``None`` if no video is published."""
        return self._video

    @property
    def audio(self) -> LocalTrack | None:
        """The published audio track, or ``None`` if no audio is published."""
        return self._audio

    @property
    def audio_muted(self) -> bool:
        """True while the microphone is off (or no audio is published)."""
        return self._audio is None or self._audio.muted

    @property
    def video_muted(self) -> bool:
        """True while the camera is off (or no video is published)."""
        return self._video is None or self._video.muted

    def __repr__(self) -> str:
        return f"<LocalParticipant id={self._id!r} name={self._name!r}>"


@dataclass(frozen=True)
class WaitingParticipant:
    """Someone waiting in the room's lobby, as moderators see them (``room.waiting``)."""

    id: str
    "Its participant id: ``room.admit(id)`` or ``room.deny(id)``."
    name: str
    "The display name."
    identity: str | None = None
    "The app's id for the user, if it joined with a grant."
    metadata: str | None = None
    "The app's data about it, if any."
