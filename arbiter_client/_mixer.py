"""Mixing the room's incoming audio: shared by the recorder and the audio player."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from arbiter_rtc import TaskSet

if TYPE_CHECKING:
    from ._attachment import RoomHandle
    from ._track import RemoteTrack

__all__ = ["AUDIO_RATE", "AudioMixer"]

AUDIO_RATE = 48_000
"Sample rate of every mix (aiortc's Opus decoder gives 48 kHz)."

_MAX_AUDIO_LAG = 0.25  # seconds of a participant's audio kept ahead of the mix


class AudioMixer:
    """Follows every remote participant's audio track and mixes them to mono float32.

    Call :meth:`follow` now and then (it starts a reader for each new audio track, in
    ``tasks``) and :meth:`mix` for the next ``count`` samples: a participant whose audio
    runs late is padded with silence, one more than 0.25 s ahead is cut, a muted one is
    left out.
    """

    def __init__(self, room: RoomHandle, tasks: TaskSet) -> None:
        self._room = room
        self._tasks = tasks
        self._audio: dict[str, npt.NDArray[np.float32]] = {}
        self._readers: dict[str, RemoteTrack] = {}
        self.peak = 0.0
        "Largest absolute sample mixed so far (0..1)."

    def follow(self) -> None:
        """Start reading new participants' audio; forget those who left."""
        for pid, participant in self._room.participants.items():
            track = participant.audio
            if track is not None and self._readers.get(pid) is not track:
                self._readers[pid] = track
                self._audio[pid] = np.zeros(0, dtype=np.float32)
                self._tasks.spawn(self._read(pid, track), f"audio:{pid}")
        for pid in list(self._audio):
            if pid not in self._room.participants:
                self._audio.pop(pid, None)
                self._readers.pop(pid, None)

    async def _read(self, pid: str, track: RemoteTrack) -> None:
        async for pcm in track.frames("f32", latest=False):
            if self._readers.get(pid) is not track:
                return
            mono = pcm.mean(axis=0).astype(np.float32)
            buffered = self._audio.get(pid, np.zeros(0, dtype=np.float32))
            self._audio[pid] = np.concatenate((buffered, mono))

    def mix(self, count: int) -> npt.NDArray[np.float32]:
        """The next ``count`` samples of the mix, clipped to -1..1."""
        mix = np.zeros(max(count, 0), dtype=np.float32)
        if count <= 0:
            return mix
        for pid, buffered in list(self._audio.items()):
            participant = self._room.participants.get(pid)
            take = buffered[:count]
            rest = buffered[count:]
            if len(rest) > _MAX_AUDIO_LAG * AUDIO_RATE:
                rest = rest[-int(_MAX_AUDIO_LAG * AUDIO_RATE) :]
            self._audio[pid] = rest
            if participant is not None and not participant.audio_muted:
                mix[: len(take)] += take
        mix = np.clip(mix, -1.0, 1.0)
        if len(mix):
            self.peak = max(self.peak, float(np.abs(mix).max()))
        return mix
