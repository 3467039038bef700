"""What a client publishes: a :class:`MediaSource` gives at most one video and one audio track.

* :class:`TestPatternSource`: a synthetic moving pattern in a colour derived from the
  participant's name, plus a sine tone (48 kHz). The default for bots.
* :class:`FileSource`: a file, stream or device read by aiortc's ``MediaPlayer``.
* :class:`TrackSource`: any ``MediaStreamTrack`` objects you made yourself.
"""

from __future__ import annotations

import asyncio
import fractions
import hashlib
import time
from abc import ABC, abstractmethod

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError

__all__ = [
    "FileSource",
    "MediaSource",
    "TestPatternSource",
    "TestPatternVideoTrack",
    "ToneAudioTrack",
    "TrackSource",
    "color_for_name",
]

VIDEO_CLOCK_RATE = 90_000


class MediaSource(ABC):
    """Something to publish: at most one video and one audio track.

    A source passed to ``Room.join(publish=...)`` belongs to the caller, who closes it;
    a source the room made from a string (``"test"``, ``"file:PATH"``) is closed on leave.
    """

    @property
    @abstractmethod
    def video(self) -> MediaStreamTrack | None:
        """The video track to publish, if any."""

    @property
    @abstractmethod
    def audio(self) -> MediaStreamTrack | None:
        """The audio track to publish, if any."""

    def close(self) -> None:
        """Stop the source's tracks."""
        for track in (self.video, self.audio):
            if track is not None:
                track.stop()


def color_for_name(name: str) -> tuple[int, int, int]:
    """A stable, saturated RGB colour for ``name``, so test patterns are told apart."""
    digest = hashlib.sha256(name.encode()).digest()
    hue = digest[0] / 255 * 6
    sector, frac = int(hue) % 6, hue - int(hue)
    hi, lo, mid_up, mid_down = 220, 40, int(40 + 180 * frac), int(220 - 180 * frac)
    return [
        (hi, mid_up, lo),
        (mid_down, hi, lo),
        (lo, hi, mid_up),
        (lo, mid_down, hi),
        (mid_up, lo, hi),
        (hi, lo, mid_down),
    ][sector]


class _PacedTrack(MediaStreamTrack):
    """A track that hands out frame ``n`` no earlier than ``n * interval`` after the first."""

    def __init__(self, interval: float) -> None:
        super().__init__()
        self._interval = interval
        self._start: float | None = None
        self._count = 0

    async def _next_index(self) -> int:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            wait = self._start + self._count * self._interval - now
            if wait > 0:
                await asyncio.sleep(wait)
        index = self._count
        self._count += 1
        return index


class TestPatternVideoTrack(_PacedTrack):
    """Synthetic video: a solid colour with a bright bar that moves every frame.

    **Parameters:**

    * **size** - ``(width, height)`` in pixels; both must be even.
    * **fps** - frames per second.
    * **color** - the background RGB colour (see :func:`color_for_name`).
    """

    __test__ = False  # not a pytest test class
    kind = "video"

    def __init__(
        self,
        *,
        size: tuple[int, int] = (640, 480),
        fps: float = 15.0,
        color: tuple[int, int, int] = (40, 120, 220),
    ) -> None:
        width, height = size
        if width < 16 or height < 16 or width % 2 or height % 2:
            raise ValueError(f"video size must be even and at least 16x16, not {size}")
        if not 0 < fps <= 120:
            raise ValueError(f"fps must be in (0, 120], not {fps}")
        super().__init__(1 / fps)
        self._fps = fps
        self._width, self._height = width, height
        r, g, b = color
        y = int(0.257 * r + 0.504 * g + 0.098 * b + 16)
        u = int(-0.148 * r - 0.291 * g + 0.439 * b + 128)
        v = int(0.439 * r - 0.368 * g - 0.071 * b + 128)
        # yuv420p as one (height * 3/2, width) plane: Y rows, then U and V packed.
        self._background = np.empty((height * 3 // 2, width), dtype=np.uint8)
        self._background[:height] = y
        self._background[height : height + height // 4] = u
        self._background[height + height // 4 :] = v
        self._bar = max(4, width // 16)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of every frame."""
        return (self._width, self._height)

    async def recv(self) -> av.VideoFrame:
        """The next frame, paced at ``fps``."""
        index = await self._next_index()
        image = self._background.copy()
        x = (index * max(2, self._width // 60)) % (self._width - self._bar)
        image[: self._height, x : x + self._bar] = 235
        frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
        frame.pts = int(index * VIDEO_CLOCK_RATE / self._fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        return frame


class ToneAudioTrack(_PacedTrack):
    """Synthetic audio: a mono sine tone, 20 ms frames of signed 16-bit samples."""

    kind = "audio"

    def __init__(
        self, *, frequency: float = 440.0, sample_rate: int = 48_000, volume: float = 0.2
    ) -> None:
        if not 0 <= volume <= 1:
            raise ValueError("volume must be between 0 and 1")
        super().__init__(0.020)
        self._frequency = frequency
        self._rate = sample_rate
        self._volume = volume
        self._samples = sample_rate // 50

    async def recv(self) -> av.AudioFrame:
        """The next 20 ms of tone, paced in real time."""
        index = await self._next_index()
        first = index * self._samples
        t = (first + np.arange(self._samples)) / self._rate
        wave = np.sin(2 * np.pi * self._frequency * t) * self._volume * 32767
        frame = av.AudioFrame.from_ndarray(
            wave.astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = self._rate
        frame.pts = first
        frame.time_base = fractions.Fraction(1, self._rate)
        return frame


class TestPatternSource(MediaSource):
    """A :class:`TestPatternVideoTrack` in the name's colour and a :class:`ToneAudioTrack`.

    **Parameters:**

    * **name** - picks the colour (see :func:`color_for_name`).
    * **video**, **audio** - whether to make each track.
    * **size** - ``(width, height)`` of the video.
    * **fps** - video frames per second.
    * **frequency** - the tone's frequency in Hz.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        name: str = "guest",
        *,
        video: bool = True,
        audio: bool = True,
        size: tuple[int, int] = (640, 480),
        fps: float = 15.0,
        frequency: float = 440.0,
    ) -> None:
        self._video = (
            TestPatternVideoTrack(size=size, fps=fps, color=color_for_name(name)) if video else None
        )
        self._audio = ToneAudioTrack(frequency=frequency) if audio else None

    @property
    def video(self) -> MediaStreamTrack | None:
        """The pattern track, unless ``video=False``."""
        return self._video

    @property
    def audio(self) -> MediaStreamTrack | None:
        """The tone track, unless ``audio=False``."""
        return self._audio


class FileSource(MediaSource):
    """Publish a file, stream or capture device through aiortc's ``MediaPlayer``.

    ``FileSource("talk.mp4")``, ``FileSource("/dev/video0", format="v4l2",
    options={"video_size": "640x480"})``. ``loop=True`` restarts a file at its end.
    """

    def __init__(
        self,
        path: str,
        *,
        format: str | None = None,
        options: dict[str, str] | None = None,
        loop: bool = False,
    ) -> None:
        self._player = MediaPlayer(path, format=format, options=options or {}, loop=loop)

    @property
    def player(self) -> MediaPlayer:
        """The underlying ``MediaPlayer``."""
        return self._player

    @property
    def video(self) -> MediaStreamTrack | None:
        """The file's video track, if it has one."""
        return self._player.video

    @property
    def audio(self) -> MediaStreamTrack | None:
        """The file's audio track, if it has one."""
        return self._player.audio


class TrackSource(MediaSource):
    """Publish tracks you made yourself (for example frames from numpy arrays)."""

    def __init__(
        self, *, video: MediaStreamTrack | None = None, audio: MediaStreamTrack | None = None
    ) -> None:
        if video is not None and video.kind != "video":
            raise ValueError(f"video track has kind {video.kind!r}")
        if audio is not None and audio.kind != "audio":
            raise ValueError(f"audio track has kind {audio.kind!r}")
        self._video = video
        self._audio = audio

    @property
    def video(self) -> MediaStreamTrack | None:
        """The video track given, if any."""
        return self._video

    @property
    def audio(self) -> MediaStreamTrack | None:
        """The audio track given, if any."""
        return self._audio
