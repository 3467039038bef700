"""Received media: :class:`RemoteTrack`, one reader per track fanned out to its consumers.

aiortc queues every decoded frame of a received track in an unbounded queue until someone
calls ``recv()``. A :class:`RemoteTrack` therefore always reads its track (one task per
track, owned by the room) from subscription on, keeps the latest frame, measures the frame
rate and the audio level, and hands each frame to every consumer: ``recv()`` callers share
one small buffer, and each ``frames()`` iterator has its own bounded buffer that drops the
oldest frame (``latest=True``: keeps only the newest one). Nobody's backlog grows.
"""

from __future__ import annotations

import asyncio
import collections
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any, Literal, cast

import av
import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from arbiter_protocol import TrackSource

__all__ = ["RemoteTrack", "audio_ndarray", "rms_level"]

TrackKind = Literal["audio", "video"]

SPEAKING_THRESHOLD = 0.02
"Audio level (RMS, 0..1) above which a participant counts as speaking."
SPEAKING_HOLD = 0.5
"Seconds a participant still counts as speaking after the level last crossed the threshold."
_STALE = 0.5
_RECV_BUFFER = {"video": 4, "audio": 50}
_ITER_BUFFER = {"video": 8, "audio": 100}


class _Subscriber:
    """One consumer's bounded, drop-oldest frame buffer."""

    def __init__(self, maxsize: int) -> None:
        self.frames: collections.deque[av.VideoFrame | av.AudioFrame] = collections.deque(
            maxlen=maxsize
        )
        self.wakeup = asyncio.Event()
        self.ended = False
        self.dropped = 0

    def put(self, frame: av.VideoFrame | av.AudioFrame) -> None:
        if len(self.frames) == self.frames.maxlen:
            self.dropped += 1
        self.frames.append(frame)
        self.wakeup.set()

    def end(self) -> None:
        self.ended = True
        self.wakeup.set()

    async def get(self) -> av.VideoFrame | av.AudioFrame:
        while not self.frames:
            if self.ended:
                raise MediaStreamError
            self.wakeup.clear()
            await self.wakeup.wait()
        return self.frames.popleft()


def rms_level(samples: npt.NDArray[np.generic]) -> float:
    """The RMS of PCM ``samples`` scaled to 0..1 (int16 full scale, or float -1..1)."""
    if samples.size == 0:
        return 0.0
    values = samples.astype(np.float32)
    if np.issubdtype(samples.dtype, np.integer):
        values /= 32768.0
    return float(min(1.0, np.sqrt(np.mean(values * values))))


def audio_ndarray(frame: av.AudioFrame, format: str = "s16") -> npt.NDArray[np.generic]:
    """``frame``'s samples shaped ``(channels, samples)``: int16 (``s16``) or float32 (``f32``).

    Packed (interleaved) and planar frames give the same shape.
    """
    if format not in ("s16", "f32"):
        raise ValueError(f"audio format must be 's16' or 'f32', not {format!r}")
    data: npt.NDArray[Any] = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if not frame.format.is_planar:
        data = data.reshape(-1, channels).T
    if np.issubdtype(data.dtype, np.floating):
        if format == "s16":
            return np.asarray(np.clip(data * 32768.0, -32768, 32767), dtype=np.int16)
        return np.ascontiguousarray(data, dtype=np.float32)
    if data.dtype != np.int16:  # s32 and friends: keep the top 16 bits
        shift = 8 * data.dtype.itemsize - 16
        data = (data >> shift).astype(np.int16)
    if format == "f32":
        return data.astype(np.float32) / 32768.0
    return np.ascontiguousarray(data)


class RemoteTrack(MediaStreamTrack):
    """A track received from another participant (``participant.video`` / ``.audio``).

    ```python
    async for image in participant.video.frames():       # HxWx3 uint8 (rgb24)
        ...
    async for pcm in participant.audio.frames(latest=False):  # (channels, samples) int16
        ...
    frame = await participant.video.recv()                # an av.VideoFrame, as in aiortc
    ```

    The room reads the underlying aiortc track from the moment it is subscribed, so
    frames never pile up unread; each consumer gets its own bounded buffer and only
    the consumer that falls behind loses (the oldest) frames. ``recv()`` callers share one
    buffer (4 video / 50 audio frames): two tasks calling ``recv()`` split the frames
    between them, two ``frames()`` iterators each get every frame.

    It is a ``MediaStreamTrack``, so it can be published again (``room.publish_track``)
    or given to aiortc's ``MediaRecorder``.
    """

    def __init__(
        self,
        track: MediaStreamTrack,
        participant_id: str,
        kind: TrackKind,
        *,
        track_id: str | None = None,
        source: TrackSource = "unknown",
    ) -> None:
        super().__init__()
        self.kind = kind
        self._track = track
        self._participant_id = participant_id
        self._track_id = track_id or kind
        self._source: TrackSource = source
        self._subscribers: weakref.WeakSet[_Subscriber] = weakref.WeakSet()
        self._recv_buffer: _Subscriber | None = None
        self._latest: av.VideoFrame | av.AudioFrame | None = None
        self._latest_at = 0.0
        self._times: collections.deque[float] = collections.deque(maxlen=31)
        self._count = 0
        self._level = 0.0
        self._loud_at = -1.0
        self._finished = False

    # ------------------------------------------------------------------ reading

    async def _run(self) -> None:
        """Read the aiortc track until it ends (when nothing else reads it and feeds
        :meth:`_on_frame`)."""
        try:
            while True:
                frame = await self._track.recv()
                self._on_frame(cast(av.VideoFrame | av.AudioFrame, frame))
        except MediaStreamError:
            pass
        finally:
            self._finish()

    def _on_frame(self, frame: av.VideoFrame | av.AudioFrame) -> None:
        now = time.monotonic()
        self._latest, self._latest_at = frame, now
        self._times.append(now)
        self._count += 1
        if isinstance(frame, av.AudioFrame):
            self._level = rms_level(frame.to_ndarray())
            if self._level >= SPEAKING_THRESHOLD:
                self._loud_at = now
        for subscriber in list(self._subscribers):
            subscriber.put(frame)

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._level = 0.0
        for subscriber in list(self._subscribers):
            subscriber.end()
        super().stop()

    def _subscribe(self, maxsize: int) -> _Subscriber:
        subscriber = _Subscriber(maxsize)
        if self._finished:
            subscriber.end()
        else:
            self._subscribers.add(subscriber)
        return subscriber

    # ------------------------------------------------------------------ public

    @property
    def participant_id(self) -> str:
        """The id of the participant whose track this is."""
        return self._participant_id

    @property
    def track_id(self) -> str:
        """The id its publisher gave the track (``camera``, ``microphone``, ``screen`` ...)."""
        return self._track_id

    @property
    def source(self) -> TrackSource:
        """What the track shows or plays (``camera``, ``microphone``, ``screen`` ...)."""
        return self._source

    async def recv(self) -> av.VideoFrame | av.AudioFrame:
        """The next frame (:class:`av.VideoFrame` or :class:`av.AudioFrame`).

        Raises ``aiortc.mediastreams.MediaStreamError`` once the track has ended.
        """
        if self._recv_buffer is None:
            self._recv_buffer = self._subscribe(_RECV_BUFFER[self.kind])
        return await self._recv_buffer.get()

    async def frames(
        self, format: str | None = None, *, latest: bool = True
    ) -> AsyncIterator[npt.NDArray[np.generic]]:
        """Iterate the track's frames as numpy arrays until the track ends.

        **Video:** ``format`` is any PyAV pixel format ``to_ndarray`` supports; the default
        ``"rgb24"`` gives ``(height, width, 3)`` ``uint8`` arrays (``"bgr24"`` for OpenCV,
        ``"gray"`` gives ``(height, width)``).
        **Audio:** ``"s16"`` (default) gives ``int16`` arrays shaped ``(channels, samples)``
        (aiortc's Opus decoder gives 48 kHz stereo, 960 samples per 20 ms frame);
        ``"f32"`` gives ``float32`` in -1..1.

        ``latest=True`` (default) keeps only the newest frame while you are busy, so you
        always get the most recent picture and never a backlog; it also starts with the
        last frame already received, if any. ``latest=False`` keeps up to 8 video / 100
        audio frames (2 s) and then drops the oldest: use it for continuous audio.
        Each iterator gets every frame, independently of the others.
        """
        if format is None:
            format = "rgb24" if self.kind == "video" else "s16"
        if self.kind == "audio" and format not in ("s16", "f32"):
            raise ValueError(f"audio format must be 's16' or 'f32', not {format!r}")
        async for frame in self.av_frames(latest=latest):
            if isinstance(frame, av.AudioFrame):
                yield audio_ndarray(frame, format)
            else:
                yield frame.to_ndarray(format=format)

    async def av_frames(
        self, *, latest: bool = True
    ) -> AsyncIterator[av.VideoFrame | av.AudioFrame]:
        """Like :meth:`frames`, but yields the :class:`av.VideoFrame` / :class:`av.AudioFrame`
        objects themselves (no conversion): for re-encoding, scaling or your own formats."""
        subscriber = self._subscribe(1 if latest else _ITER_BUFFER[self.kind])
        if latest and self._latest is not None and not subscriber.ended:
            subscriber.put(self._latest)
        try:
            while True:
                try:
                    yield await subscriber.get()
                except MediaStreamError:
                    return
        finally:
            self._subscribers.discard(subscriber)

    @property
    def readers(self) -> int:
        """How many :meth:`frames` / :meth:`av_frames` iterators read this track now.

        An iterator that was closed or ran to the end is no longer counted (it keeps no
        buffer); ``recv()`` callers share one buffer, not counted here.
        """
        return sum(1 for s in self._subscribers if s is not self._recv_buffer)

    @property
    def latest_frame(self) -> av.VideoFrame | av.AudioFrame | None:
        """The most recent frame received (``None`` before the first one)."""
        return self._latest

    @property
    def frames_received(self) -> int:
        """How many frames were received so far."""
        return self._count

    @property
    def fps(self) -> float | None:
        """Frames per second over the last 30 frames; ``None`` if none came in the last 2 s."""
        times = self._times
        if len(times) < 2 or time.monotonic() - times[-1] > 2.0:
            return None
        span = times[-1] - times[0]
        return (len(times) - 1) / span if span > 0 else None

    @property
    def audio_level(self) -> float:
        """RMS of the latest audio frame, 0..1 (0 for video, stale (>0.5 s) or ended tracks)."""
        if self.kind != "audio" or time.monotonic() - self._latest_at > _STALE:
            return 0.0
        return self._level

    @property
    def is_speaking(self) -> bool:
        """True if the level crossed the speaking threshold in the last half second."""
        return self.kind == "audio" and time.monotonic() - self._loud_at <= SPEAKING_HOLD

    @property
    def ended(self) -> bool:
        """True once the track has ended (its participant left or the room closed)."""
        return self._finished

    def stop(self) -> None:
        """Stop delivering frames to this track's consumers (the room keeps reading)."""
        for subscriber in list(self._subscribers):
            subscriber.end()
        super().stop()

    def __repr__(self) -> str:
        return (
            f"<RemoteTrack kind={self.kind} participant={self._participant_id!r} "
            f"id={self._track_id!r} "
            f"frames={self._count}{' ended' if self._finished else ''}>"
        )
