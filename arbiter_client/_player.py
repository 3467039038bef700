"""Playing the room's audio on the speaker: :class:`AudioPlayer` from ``room.play_audio()``."""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np
import numpy.typing as npt

from arbiter_rtc import TaskSet

from ._exceptions import DeviceNotFound
from ._mixer import AUDIO_RATE, AudioMixer

if TYPE_CHECKING:
    from ._attachment import RoomHandle

__all__ = ["AudioPlayer"]

logger = logging.getLogger("arbiter_client")

_CHUNK = AUDIO_RATE // 50  # 20 ms
_SYSTEM_ALSA_CONFIG = Path("/usr/share/alsa/alsa.conf")


class AudioPlayer:
    """Mixes every remote participant's audio and plays it on an ALSA device.

    ```python
    player = await room.play_audio()          # the default device
    ...
    await player.stop()
    ```

    The mix (muted participants left out) is made every 20 ms on the event loop and
    written as 48 kHz stereo by a worker thread, which the device paces. ``device`` is an
    ALSA PCM name: ``"default"``, ``"hw:0"``, ``"pulse"`` or ``"null"`` (discards the
    sound; for tests). Leaving the room stops the player.
    """

    def __init__(self, room: RoomHandle, device: str) -> None:
        self._room = room
        self._device = device
        self._tasks = TaskSet("arbiter-client:player")
        self._mixer = AudioMixer(room, self._tasks)
        self._chunks: queue.Queue[npt.NDArray[np.int16] | None] = queue.Queue(maxsize=10)
        self._thread: threading.Thread | None = None
        self._container: av.container.OutputContainer | None = None
        self._stream: av.AudioStream | None = None
        self._written = 0
        self._error: BaseException | None = None

    @property
    def device(self) -> str:
        """The ALSA device played on."""
        return self._device

    @property
    def seconds_played(self) -> float:
        """Seconds of sound handed to the device so far."""
        return self._written / AUDIO_RATE

    @property
    def peak(self) -> float:
        """Loudest sample mixed so far, 0..1 (0 if nobody was heard)."""
        return self._mixer.peak

    async def start(self) -> None:
        """Open the device and start playing (``room.play_audio`` does it); leaving the room
        stops the player. Raises :class:`DeviceNotFound` if the device cannot be opened."""
        if self._thread is not None:
            return
        await asyncio.to_thread(self._open)
        try:
            self._room.attach(self)
        except BaseException:
            await asyncio.to_thread(self._close)
            raise
        self._thread = threading.Thread(target=self._write_loop, name="arbiter-audio-out")
        self._thread.start()
        self._tasks.spawn(self._mix_loop(), "audio-mix")

    def _open(self) -> None:
        # PyAV's bundled ALSA library looks for its configuration where it was built
        if "ALSA_CONFIG_PATH" not in os.environ and _SYSTEM_ALSA_CONFIG.exists():
            os.environ["ALSA_CONFIG_PATH"] = str(_SYSTEM_ALSA_CONFIG)
        try:
            container = av.open(self._device, mode="w", format="alsa")
            stream = container.add_stream("pcm_s16le", rate=AUDIO_RATE, layout="stereo")
            self._container, self._stream = container, stream
            self._write(np.zeros((_CHUNK, 2), dtype=np.int16))  # fails now if it will
        except (av.FFmpegError, OSError, ValueError) as exc:
            self._close()
            raise DeviceNotFound(
                f"cannot play audio on ALSA device {self._device!r}: {exc}"
            ) from exc

    async def _mix_loop(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        mixed = 0
        while True:
            self._mixer.follow()
            wanted = round((loop.time() - start) * AUDIO_RATE)
            if wanted - mixed >= _CHUNK:
                mono = self._mixer.mix(wanted - mixed)
                mixed = wanted
                pcm = (mono * 32767).astype(np.int16)
                try:
                    self._chunks.put_nowait(np.repeat(pcm[:, None], 2, axis=1))
                except queue.Full:
                    logger.debug("audio output is behind; a chunk was dropped")
            await asyncio.sleep(_CHUNK / AUDIO_RATE)

    def _write_loop(self) -> None:
        while True:
            chunk = self._chunks.get()
            if chunk is None:
                return
            try:
                self._write(chunk)
            except Exception as exc:  # the device went away: stop playing, say why
                logger.error("audio output on %s failed: %r", self._device, exc)
                self._error = exc
                return

    def _write(self, stereo: npt.NDArray[np.int16]) -> None:
        container, stream = self._container, self._stream
        assert container is not None and stream is not None
        frame = av.AudioFrame.from_ndarray(stereo.reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._written
        for packet in stream.encode(frame):
            container.mux(packet)
        self._written += len(stereo)

    def _close(self) -> None:
        container, self._container, self._stream = self._container, None, None
        if container is not None:
            try:
                container.close()
            except (av.FFmpegError, OSError) as exc:
                logger.debug("closing the audio output: %r", exc)

    async def stop(self) -> None:
        """Stop playing and release the device. Idempotent."""
        await self._tasks.close()
        thread, self._thread = self._thread, None
        if thread is not None:
            self._chunks.put(None)
            await asyncio.to_thread(thread.join)
            await asyncio.to_thread(self._close)
        self._room.detach(self)
