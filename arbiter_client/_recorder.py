"""Recording a room's incoming media to a file: :class:`Recorder` from ``room.record(path)``."""

from __future__ import annotations

import asyncio
import fractions
import logging
import math
from typing import TYPE_CHECKING

import av
import numpy as np
import numpy.typing as npt

from arbiter_rtc import TaskSet

from ._mixer import AUDIO_RATE, AudioMixer

if TYPE_CHECKING:
    from ._attachment import RoomHandle

__all__ = ["Recorder"]

logger = logging.getLogger("arbiter_client")


class Recorder:
    """Writes a room's incoming media to one file while the call runs.

    ```python
    recorder = room.record("call.mp4")
    ...
    await recorder.stop()
    ```

    **Video:** every ``1/fps`` seconds, one frame with a grid of tiles, one per remote
    participant, each showing that participant's latest picture (black while its video
    is muted or before its first frame); H.264 (``libx264``, ``ultrafast``) in ``yuv420p``.
    **Audio:** the participants' audio mixed to one mono 48 kHz AAC track, aligned on
    the wall clock (a participant whose audio runs late is padded with silence; more
    than 0.25 s ahead is dropped). Encoding runs in a worker thread, one frame at a time.
    """

    def __init__(self, room: RoomHandle, path: str, *, fps: float, size: tuple[int, int]) -> None:
        width, height = size
        if width % 2 or height % 2 or width < 64 or height < 64:
            raise ValueError(f"size must be even and at least 64x64, not {size}")
        if not 0 < fps <= 60:
            raise ValueError(f"fps must be in (0, 60], not {fps}")
        self._room = room
        self._path = path
        self._fps = fps
        self._size = size
        self._tasks = TaskSet("arbiter-client:recorder")
        self._stop = asyncio.Event()
        self._run_task: asyncio.Task[None] | None = None
        self._mixer = AudioMixer(room, self._tasks)
        self._container: av.container.OutputContainer | None = None
        self._video_stream: av.VideoStream | None = None
        self._audio_stream: av.AudioStream | None = None
        self._frames = 0
        self._samples = 0
        self._error: BaseException | None = None

    @property
    def path(self) -> str:
        """The file being written."""
        return self._path

    @property
    def frames_written(self) -> int:
        """Video frames written so far."""
        return self._frames

    @property
    def seconds_written(self) -> float:
        """Seconds of audio written so far."""
        return self._samples / AUDIO_RATE

    def start(self) -> None:
        """Start recording (``room.record`` does it); leaving the room stops it. Idempotent."""
        if self._run_task is None:
            self._room.attach(self)
            self._run_task = self._tasks.spawn(self._run(), "recorder")

    async def stop(self) -> None:
        """Finish the file (flush the encoders, write the trailer). Idempotent.

        Re-raises an error that made the recording fail (for example a path that cannot
        be written).
        """
        self._stop.set()
        if self._run_task is not None and not self._run_task.done():
            await asyncio.wait((self._run_task,))
        await self._tasks.close()
        self._room.detach(self)
        if self._error is not None:
            raise self._error

    async def _run(self) -> None:
        try:
            await asyncio.to_thread(self._open)
            loop = asyncio.get_running_loop()
            start = loop.time()
            tick = 0
            while not self._stop.is_set():
                tick += 1
                try:
                    await asyncio.wait_for(
                        self._stop.wait(), max(0.0, start + tick / self._fps - loop.time())
                    )
                except TimeoutError:
                    pass
                self._mixer.follow()
                image = self._compose()
                wanted = round((loop.time() - start) * AUDIO_RATE)
                mix = self._mixer.mix(wanted - self._samples)
                await asyncio.to_thread(self._encode, image, mix)
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError):
                logger.error("recording %s failed: %r", self._path, exc)
                self._error = exc
            raise
        finally:
            await asyncio.shield(asyncio.to_thread(self._close))

    # ------------------------------------------------------------------ media

    def _compose(self) -> npt.NDArray[np.uint8]:
        width, height = self._size
        canvas = np.zeros((height, width, 3), dtype=np.uint8)
        people = list(self._room.participants.values())
        if not people:
            return canvas
        cols = math.ceil(math.sqrt(len(people)))
        rows = math.ceil(len(people) / cols)
        tile_w, tile_h = (width // cols) & ~1, (height // rows) & ~1
        for index, participant in enumerate(people):
            track = participant.video
            frame = track.latest_frame if track is not None else None
            if not isinstance(frame, av.VideoFrame) or participant.video_muted:
                continue
            tile = frame.reformat(width=tile_w, height=tile_h, format="rgb24").to_ndarray()
            y, x = (index // cols) * tile_h, (index % cols) * tile_w
            canvas[y : y + tile_h, x : x + tile_w] = tile
        return canvas

    # ------------------------------------------------------------------ file (worker thread)

    def _open(self) -> None:
        container = av.open(self._path, mode="w")
        video = container.add_stream(
            "libx264",
            rate=fractions.Fraction(self._fps).limit_denominator(1000),
            options={"preset": "ultrafast", "tune": "zerolatency"},
        )
        video.width, video.height = self._size
        video.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        self._container, self._video_stream, self._audio_stream = container, video, audio

    def _encode(self, image: npt.NDArray[np.uint8], mix: npt.NDArray[np.float32]) -> None:
        container, video, audio = self._container, self._video_stream, self._audio_stream
        assert container is not None and video is not None and audio is not None
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = self._frames
        frame.time_base = fractions.Fraction(1, 1) / video.codec_context.framerate
        self._frames += 1
        container.mux(video.encode(frame))
        if len(mix):
            sound = av.AudioFrame.from_ndarray(mix.reshape(1, -1), format="flt", layout="mono")
            sound.sample_rate = AUDIO_RATE
            sound.pts = self._samples
            sound.time_base = fractions.Fraction(1, AUDIO_RATE)
            self._samples += len(mix)
            container.mux(audio.encode(sound))

    def _close(self) -> None:
        container = self._container
        if container is None:
            return
        self._container = None
        try:
            if self._video_stream is not None:
                container.mux(self._video_stream.encode(None))
            if self._audio_stream is not None:
                container.mux(self._audio_stream.encode(None))
        finally:
            container.close()
