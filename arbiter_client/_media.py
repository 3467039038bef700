"""What a client publishes: a :class:`MediaSource` gives at most one video and one audio track.

* :class:`TestPatternSource`: a synthetic moving pattern in a colour derived from the
  participant's name, plus a sine tone (48 kHz). The default for bots.
* :class:`FileSource`: a file, stream or device read by aiortc's ``MediaPlayer``.
* :class:`TrackSource`: any ``MediaStreamTrack`` objects you made yourself.
* :class:`CameraSource`: the local camera and microphone (PyAV capture devices).
* :class:`NumpyVideoTrack`: video from numpy arrays you push (``room.publish_frames``).

What is actually sent is a :class:`LocalTrack` per kind: it forwards its source's frames,
sends black frames / silence while muted, and can switch sources without renegotiating.
"""

from __future__ import annotations

import asyncio
import fractions
import hashlib
import os
import sys
import time
from abc import ABC, abstractmethod
from typing import Literal, cast

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError

from ._exceptions import DeviceNotFound, MediaSourceError

__all__ = [
    "CameraSource",
    "FileSource",
    "LocalTrack",
    "MediaSource",
    "NumpyVideoTrack",
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
            elif wait < -0.5:  # nobody read us for a while: re-anchor rather than burst
                self._start = now - self._count * self._interval
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

    **Raises:** :class:`MediaSourceError` when ``path`` cannot be opened as media.
    """

    def __init__(
        self,
        path: str,
        *,
        format: str | None = None,
        options: dict[str, str] | None = None,
        loop: bool = False,
    ) -> None:
        try:
            self._player = MediaPlayer(path, format=format, options=options or {}, loop=loop)
        except (av.FFmpegError, OSError) as exc:
            raise MediaSourceError(f"cannot open {path!r} to publish: {exc}") from exc

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


def _device_defaults() -> tuple[str, str, str, str]:
    """(camera device, camera format, microphone device, microphone format) for this OS."""
    if sys.platform == "darwin":
        return "default", "avfoundation", "none:default", "avfoundation"
    if sys.platform.startswith("win"):
        return "video=Integrated Camera", "dshow", "audio=Microphone", "dshow"
    return "/dev/video0", "v4l2", "default", "pulse"


def _open_device(what: str, device: str, format: str, options: dict[str, str]) -> MediaPlayer:
    if format == "v4l2" and not os.path.exists(device):
        raise DeviceNotFound(f"no {what}: {device} does not exist (is a camera connected?)")
    try:
        return MediaPlayer(device, format=format, options=options)
    except Exception as exc:  # PyAV raises FFmpegError subclasses, ValueError, OSError
        raise DeviceNotFound(f"cannot open the {what} {device!r} ({format}): {exc}") from exc


class CameraSource(MediaSource):
    """The local camera and microphone, captured with PyAV (``publish="camera"``).

    Defaults per platform: Linux ``/dev/video0`` (v4l2) and PulseAudio ``default``;
    macOS avfoundation ``default``; Windows dshow (pass ``camera=`` and ``microphone=``
    with your device names). ``microphone=None`` captures no audio, ``camera=None`` no
    video.

    **Raises:** :class:`DeviceNotFound` when a device is missing or cannot be opened.
    """

    def __init__(
        self,
        camera: str | None = "",
        microphone: str | None = "",
        *,
        size: tuple[int, int] = (640, 480),
        fps: float = 30.0,
        camera_format: str | None = None,
        microphone_format: str | None = None,
    ) -> None:
        cam_dev, cam_fmt, mic_dev, mic_fmt = _device_defaults()
        self._camera: MediaPlayer | None = None
        self._microphone: MediaPlayer | None = None
        if camera is not None:
            options = {"video_size": f"{size[0]}x{size[1]}", "framerate": f"{fps:g}"}
            self._camera = _open_device(
                "camera", camera or cam_dev, camera_format or cam_fmt, options
            )
        if microphone is not None:
            try:
                self._microphone = _open_device(
                    "microphone", microphone or mic_dev, microphone_format or mic_fmt, {}
                )
            except DeviceNotFound:
                if self._camera is not None and self._camera.video is not None:
                    self._camera.video.stop()
                raise

    @property
    def video(self) -> MediaStreamTrack | None:
        """The camera track, if a camera was opened."""
        return self._camera.video if self._camera is not None else None

    @property
    def audio(self) -> MediaStreamTrack | None:
        """The microphone track, if a microphone was opened."""
        return self._microphone.audio if self._microphone is not None else None


class NumpyVideoTrack(MediaStreamTrack):
    """A video track made from numpy arrays you :meth:`put` (what ``publish_frames`` uses).

    ``recv()`` waits for the next array put and returns it as an :class:`av.VideoFrame`;
    a producer faster than the sender only loses intermediate arrays (latest wins).

    **Parameters:**

    * **format** - ``"rgb24"`` (``(h, w, 3)`` uint8, default), ``"bgr24"`` (OpenCV) or
      ``"gray"`` (``(h, w)`` uint8). Width and height must be even.
    """

    kind = "video"

    def __init__(self, *, format: Literal["rgb24", "bgr24", "gray"] = "rgb24") -> None:
        super().__init__()
        if format not in ("rgb24", "bgr24", "gray"):
            raise ValueError(f"format must be rgb24, bgr24 or gray, not {format!r}")
        self._format = format
        self._pending: np.ndarray | None = None
        self._wakeup = asyncio.Event()
        self._ended = False
        self._start: float | None = None

    def put(self, image: np.ndarray) -> None:
        """Make ``image`` the next frame to send (replacing one not yet sent)."""
        want = 2 if self._format == "gray" else 3
        if image.dtype != np.uint8 or image.ndim != want or (want == 3 and image.shape[2] != 3):
            shape = "(h, w)" if want == 2 else "(h, w, 3)"
            raise ValueError(
                f"{self._format} frames must be {shape} uint8 arrays, "
                f"not {image.shape} {image.dtype}"
            )
        if image.shape[0] % 2 or image.shape[1] % 2 or image.shape[0] < 16 or image.shape[1] < 16:
            raise ValueError(f"frame width and height must be even and >= 16, not {image.shape}")
        self._pending = image
        self._wakeup.set()

    def end(self) -> None:
        """No more frames: ``recv()`` raises ``MediaStreamError`` once the last one is sent."""
        self._ended = True
        self._wakeup.set()

    async def recv(self) -> av.VideoFrame:
        """The next array put, as a video frame with a wall-clock timestamp."""
        while self._pending is None:
            if self._ended or self.readyState != "live":
                raise MediaStreamError
            self._wakeup.clear()
            await self._wakeup.wait()
        image, self._pending = self._pending, None
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=self._format)
        now = time.monotonic()
        if self._start is None:
            self._start = now
        frame.pts = int((now - self._start) * VIDEO_CLOCK_RATE)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        return frame


_IDLE_VIDEO = 0.2  # black frames per second without a source: 5
_AUDIO_FRAME = 0.020


class LocalTrack(MediaStreamTrack):
    """A published track (``room.local_participant.video`` / ``.audio``).

    It forwards the frames of its current :attr:`source`; while :attr:`muted` it sends
    black frames (video) or silence (audio) in their place, paced by the source, so the
    connection and the other side's decoder stay warm and nothing is renegotiated.
    Without a source (it ended, or none was given) it sends black at 5 fps or silence.
    Timestamps are its own, so switching sources never makes them jump back.
    """

    def __init__(self, kind: Literal["audio", "video"], source: MediaStreamTrack | None) -> None:
        super().__init__()
        self.kind = kind
        self._source = source
        self._muted = False
        self._changed = asyncio.Event()
        self._start: float | None = None
        self._last_pts = -1
        self._samples = 0
        self._size = (640, 480)
        self._times: list[float] = []
        self._count = 0
        self._black: dict[tuple[int, int], np.ndarray] = {}

    @property
    def source(self) -> MediaStreamTrack | None:
        """The track whose frames are sent (``None`` when it ended or was removed)."""
        return self._source

    @property
    def muted(self) -> bool:
        """True while black frames / silence are sent instead of the source's media."""
        return self._muted

    @property
    def frames_sent(self) -> int:
        """Frames handed to the sender so far."""
        return self._count

    @property
    def fps(self) -> float | None:
        """Frames per second handed to the sender over about the last second."""
        now = time.monotonic()
        times = [t for t in self._times if now - t <= 1.0]
        if len(times) < 2:
            return None
        return (len(times) - 1) / (times[-1] - times[0]) if times[-1] > times[0] else None

    def stop(self) -> None:
        """Ignored: a published track outlives its peer connections.

        aiortc's sender stops its track when its connection ends, also when the far end
        closed it (an SFU stopped or restarted); the room then publishes the same track on a
        new connection. :meth:`close` ends the track.
        """

    def close(self) -> None:
        """End the track for good (the room was left)."""
        super().stop()

    def set_muted(self, muted: bool) -> None:
        """Send black/silence (``True``) or the source's media (``False``)."""
        self._muted = muted

    def replace_source(self, source: MediaStreamTrack | None) -> MediaStreamTrack | None:
        """Send ``source``'s frames from now on; returns the previous source."""
        if source is not None and source.kind != self.kind:
            raise ValueError(f"cannot send a {source.kind} track as {self.kind}")
        previous, self._source = self._source, source
        self._changed.set()
        return previous

    async def recv(self) -> av.VideoFrame | av.AudioFrame:
        """The next frame to send (called by aiortc's sender)."""
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            source = self._source
            if source is None:
                frame = await self._idle_frame()
                if frame is None:
                    continue
            else:
                try:
                    frame = cast(av.VideoFrame | av.AudioFrame, await source.recv())
                except MediaStreamError:
                    if self._source is source:
                        self._source = None
                    continue
                if self._source is not source:
                    continue  # switched while waiting: take the new source's next frame
                if self._muted:
                    frame = self._blank_like(frame)
            return self._stamp(frame)

    async def _idle_frame(self) -> av.VideoFrame | av.AudioFrame | None:
        self._changed.clear()
        interval = _IDLE_VIDEO if self.kind == "video" else _AUDIO_FRAME
        try:
            await asyncio.wait_for(self._changed.wait(), interval)
            return None  # a new source: read it instead
        except TimeoutError:
            pass
        if self.kind == "video":
            return self._black_frame(*self._size)
        return _silence(960, "s16", "mono", 48_000)

    def _blank_like(self, frame: av.VideoFrame | av.AudioFrame) -> av.VideoFrame | av.AudioFrame:
        if isinstance(frame, av.VideoFrame):
            return self._black_frame(frame.width - frame.width % 2, frame.height - frame.height % 2)
        return _silence(frame.samples, frame.format.name, frame.layout.name, frame.sample_rate)

    def _black_frame(self, width: int, height: int) -> av.VideoFrame:
        image = self._black.get((width, height))
        if image is None:
            image = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
            image[:height] = 16
            self._black = {(width, height): image}
        return av.VideoFrame.from_ndarray(image, format="yuv420p")

    def _stamp(self, frame: av.VideoFrame | av.AudioFrame) -> av.VideoFrame | av.AudioFrame:
        now = time.monotonic()
        self._count += 1
        self._times = [t for t in self._times[-60:] if now - t <= 1.0] + [now]
        if isinstance(frame, av.VideoFrame):
            self._size = (frame.width - frame.width % 2, frame.height - frame.height % 2)
            if self._start is None:
                self._start = now
            pts = max(int((now - self._start) * VIDEO_CLOCK_RATE), self._last_pts + 1)
            self._last_pts = pts
            frame.pts = pts
            frame.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        else:
            rate = frame.sample_rate or 48_000
            frame.pts = self._samples
            frame.time_base = fractions.Fraction(1, rate)
            self._samples += frame.samples
        return frame


def _silence(samples: int, format: str, layout: str, rate: int) -> av.AudioFrame:
    frame = av.AudioFrame(format=format, layout=layout, samples=samples)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.sample_rate = rate
    return frame
