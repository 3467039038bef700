"""What a room publishes: the source chosen at join and one :class:`LocalTrack` per kind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
from typing import Any, Literal

from ._media import (
    CameraSource,
    FileSource,
    LocalTrack,
    MediaSource,
    NumpyVideoTrack,
    TestPatternSource,
)
from ._participant import TrackKind

__all__ = ["LocalMedia", "Publish", "make_source"]

Publish = str | MediaSource | None
"""What ``Room.join`` publishes: ``"test"`` (a test pattern and a tone), ``"camera"`` or
``"camera:DEVICE"`` (the local camera and microphone), ``"file:PATH"`` (a file through
aiortc's MediaPlayer), a :class:`MediaSource`, or ``None`` (receive only)."""


class LocalMedia:
    """The published tracks of one room; they outlive every producer connection.

    A source the room made (``owns``) is closed with the room; one given by the caller
    is left open.
    """

    def __init__(self, source: MediaSource | None, *, owns: bool, video: bool, audio: bool) -> None:
        self._source = source
        self._owns = owns
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
        """The published track of ``kind`` (``audio`` or ``video``), if any."""
        return self.audio if kind == "audio" else self.video

    def tracks(self) -> list[LocalTrack]:
        """The published tracks, audio first (the order of the producer's m-lines)."""
        return [t for t in (self.audio, self.video) if t is not None]

    def muted(self) -> list[TrackKind]:
        """The kinds whose published track is muted."""
        kinds: tuple[TrackKind, ...] = ("audio", "video")
        return [k for k in kinds if (t := self.track(k)) is not None and t.muted]

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
        loop = asyncio.get_running_loop()
        count = 0
        try:
            start = loop.time()
            async for image in frames:
                track.put(image)
                count += 1
                delay = start + count / fps - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)  # pacing, not synchronisation
                elif delay < -1.0:
                    start = loop.time() - count / fps
        finally:
            track.end()
            if local.source is track:
                local.replace_source(previous)
        return count

    def close(self) -> None:
        """Close the source if the room made it, and stop the published tracks."""
        if self._source is not None and self._owns:
            self._source.close()
        for local in (self.video, self.audio):
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
