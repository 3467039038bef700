"""What a room publishes: the source chosen at join and one :class:`LocalTrack` per kind."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from typing import Any, Literal

from aiortc import MediaStreamTrack

from ._exceptions import NotPublishing
from ._media import (
    CameraSource,
    FileSource,
    LocalTrack,
    MediaSource,
    NumpyVideoTrack,
    TestPatternSource,
)
from ._participant import TrackKind
from ._screen import feed_frames

__all__ = ["LocalMedia", "Publish", "make_source"]

Publish = str | MediaSource | None
"""What ``Room.join`` publishes: ``"test"`` (a test pattern and a tone), ``"camera"`` or
``"camera:DEVICE"`` (the local camera and microphone), ``"file:PATH"`` (a file through
aiortc's MediaPlayer), a :class:`MediaSource`, or ``None`` (receive only)."""


class LocalMedia:
    """The published tracks of one room; they outlive every producer connection.

    A source the room made (``owns``) is closed with the room; one given by the caller
    is left open. A shared screen (:attr:`screen`) comes and goes; its track object stays
    (a later share sends on it again). Sources the room opened later (a device switched
    to, a screen) are its own: closed when replaced and with the room.
    """

    def __init__(self, source: MediaSource | None, *, owns: bool, video: bool, audio: bool) -> None:
        self._source = source
        self._owns = owns
        self._screen: LocalTrack | None = None
        self.screen_published = False
        "True while the screen track is published."
        self._opened: dict[str, Callable[[], None]] = {}
        self.video = (
            LocalTrack("video", source.video)
            if source is not None and video and source.video is not None
            else None
        )
        "The published video track, if any."
        self.audio = (
            LocalTrack("audio", source.audio)
            if source is not None and audio and source.audio is not None
            else None
        )
        "The published audio track, if any."

    def track(self, kind: str) -> LocalTrack | None:
        """The published microphone (``audio``) or camera (``video``) track, if any."""
        return self.audio if kind == "audio" else self.video

    @property
    def screen(self) -> LocalTrack | None:
        """The shared screen's track while one is published."""
        return self._screen if self.screen_published else None

    def tracks(self) -> list[LocalTrack]:
        """The published tracks, audio first (the order of the producer's m-lines)."""
        return [t for t in (self.audio, self.video, self.screen) if t is not None]

    def muted(self) -> list[LocalTrack]:
        """The published tracks that are muted."""
        return [t for t in self.tracks() if t.muted]

    def share_screen(
        self, source: MediaStreamTrack, close: Callable[[], None] | None
    ) -> LocalTrack:
        """Publish ``source`` as the screen (the room then renegotiates); ``close`` ends
        it when it is replaced or unpublished. Returns the screen track."""
        if self._screen is None:
            self._screen = LocalTrack("video", None, track_id="screen", track_source="screen")
        self._screen.set_muted(False)
        self._replace("screen", self._screen, source, close)
        self.screen_published = True
        return self._screen

    def stop_screen(self) -> None:
        """Unpublish the screen (the room then renegotiates) and close its source."""
        self.screen_published = False
        if self._screen is not None:
            self._replace("screen", self._screen, None, None)

    def switch(
        self, kind: TrackKind, source: MediaStreamTrack, close: Callable[[], None] | None
    ) -> None:
        """Send ``source`` as the microphone or camera from now on, without renegotiating;
        the previous source is closed if the room opened it."""
        local = self.track(kind)
        if local is None:
            raise NotPublishing(f"this room publishes no {kind}: join with a source of it")
        self._replace(local.track_id, local, source, close)

    def _replace(
        self,
        track_id: str,
        local: LocalTrack,
        source: MediaStreamTrack | None,
        close: Callable[[], None] | None,
    ) -> None:
        local.replace_source(source)
        previous = self._opened.pop(track_id, None)
        if close is not None:
            self._opened[track_id] = close
        if previous is not None:
            previous()

    async def publish_frames(
        self,
        frames: AsyncIterable[Any],
        *,
        fps: float,
        format: Literal["rgb24", "bgr24", "gray"],
    ) -> int:
        """Send numpy images as the video until ``frames`` ends (see ``Room.publish_frames``)."""
        local = self.video
        assert local is not None
        track = NumpyVideoTrack(format=format)
        previous = local.replace_source(track)
        try:
            return await feed_frames(frames, track, fps)
        finally:
            if local.source is track:
                local.replace_source(previous)

    def withhold(self) -> None:
        """Publish nothing: the participant may not (a grant without ``publish``).

        The camera and microphone tracks are dropped (and a source the room made is
        closed), so the producer connection carries only the data channel."""
        for local in (self.video, self.audio):
            if local is not None:
                local.close()
        if self._source is not None and self._owns:
            self._source.close()
        self._source = None
        self.video = self.audio = None

    def close(self) -> None:
        """Close the sources the room made, and stop the published tracks."""
        if self._source is not None and self._owns:
            self._source.close()
        for close in self._opened.values():
            close()
        self._opened.clear()
        for local in (self.video, self.audio, self._screen):
            if local is not None:
                local.close()


def make_source(
    publish: Publish,
    name: str,
    video: bool,
    audio: bool,
    video_size: tuple[int, int],
    fps: float,
) -> tuple[MediaSource | None, bool]:
    """The source to publish and whether the room owns (and so closes) it."""
    if publish is None or not (video or audio):
        return None, False
    if isinstance(publish, MediaSource):
        return publish, False
    if publish == "test":
        return TestPatternSource(name, video=video, audio=audio, size=video_size, fps=fps), True
    if isinstance(publish, str) and publish.startswith("file:"):
        return FileSource(publish.removeprefix("file:")), True
    if publish == "camera" or (isinstance(publish, str) and publish.startswith("camera:")):
        device = publish.removeprefix("camera").removeprefix(":")
        return (
            CameraSource(
                device if video else None,
                "" if audio else None,
                size=video_size,
                fps=fps,
            ),
            True,
        )
    raise ValueError(
        "publish must be 'test', 'camera', 'camera:DEVICE', 'file:PATH', a MediaSource "
        f"or None, not {publish!r}"
    )
