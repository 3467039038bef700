"""The people in a room: :class:`RemoteParticipant` and :class:`LocalParticipant`."""

from __future__ import annotations

from typing import Literal

from aiortc import MediaStreamTrack

__all__ = ["LocalParticipant", "RemoteParticipant", "TrackKind"]

TrackKind = Literal["audio", "video"]
"The kind of a media track."


class RemoteParticipant:
    """Another participant in the room, as this client sees it.

    ``video`` and ``audio`` are the tracks received from the participant's producer
    (``None`` until subscribed, and again after the participant left). Read frames with
    ``await participant.video.recv()`` (an :class:`av.VideoFrame`).
    """

    def __init__(self, participant_id: str, name: str) -> None:
        self._id = participant_id
        self._name = name
        self._tracks: dict[TrackKind, MediaStreamTrack] = {}

    @property
    def id(self) -> str:
        """The participant id, unique within the room."""
        return self._id

    @property
    def name(self) -> str:
        """The display name chosen at join."""
        return self._name

    @property
    def video(self) -> MediaStreamTrack | None:
        """The received video track, or ``None`` while not subscribed."""
        return self._tracks.get("video")

    @property
    def audio(self) -> MediaStreamTrack | None:
        """The received audio track, or ``None`` while not subscribed."""
        return self._tracks.get("audio")

    def __repr__(self) -> str:
        kinds = ",".join(sorted(self._tracks))
        return f"<RemoteParticipant id={self._id!r} name={self._name!r} tracks=[{kinds}]>"


class LocalParticipant:
    """This client in the room: its id, its name and the tracks it publishes."""

    def __init__(
        self,
        participant_id: str,
        name: str,
        video: MediaStreamTrack | None,
        audio: MediaStreamTrack | None,
    ) -> None:
        self._id = participant_id
        self._name = name
        self._video = video
        self._audio = audio

    @property
    def id(self) -> str:
        """This client's participant id (assigned by the server at join)."""
        return self._id

    @property
    def name(self) -> str:
        """This client's display name."""
        return self._name

    @property
    def video(self) -> MediaStreamTrack | None:
        """The published video track, or ``None`` if no video is published."""
        return self._video

    @property
    def audio(self) -> MediaStreamTrack | None:
        """The published audio track, or ``None`` if no audio is published."""
        return self._audio

    def __repr__(self) -> str:
        return f"<LocalParticipant id={self._id!r} name={self._name!r}>"
