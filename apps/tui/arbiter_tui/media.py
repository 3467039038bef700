"""What the terminal app publishes, and how loud a received audio frame is."""

from __future__ import annotations

import glob
import sys
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from arbiter_client import FileSource, MediaSource, Publish, TrackSource

__all__ = ["Devices", "NoDevices", "audio_level", "find_devices", "open_devices", "publish_for"]


class NoDevices(Exception):
    """``--source auto`` found neither a camera nor a microphone."""


@dataclass(frozen=True)
class Devices:
    """Capture devices found on this machine (Linux: V4L2 cameras and ALSA capture)."""

    camera: str | None
    microphone: str | None


def find_devices() -> Devices:
    """The first V4L2 camera and whether ALSA has a capture device (Linux only)."""
    if not sys.platform.startswith("linux"):
        return Devices(None, None)
    cameras = sorted(glob.glob("/dev/video[0-9]*"))
    captures = glob.glob("/dev/snd/pcmC*D*c")
    return Devices(cameras[0] if cameras else None, "default" if captures else None)


def open_devices(devices: Devices) -> MediaSource:
    """A source publishing the camera and/or the microphone through aiortc's MediaPlayer."""
    video = audio = None
    if devices.camera is not None:
        camera = FileSource(devices.camera, format="v4l2", options={"video_size": "640x480"})
        video = camera.video
    if devices.microphone is not None:
        audio = FileSource(devices.microphone, format="alsa").audio
    return TrackSource(video=video, audio=audio)


def publish_for(source: list[str]) -> Publish:
    """What to pass to ``Room.join(publish=...)`` for ``--source``: ``auto`` (camera and
    microphone, error if there are none), ``pattern``, ``file PATH`` or ``none``."""
    match source:
        case ["pattern"]:
            return "test"
        case ["none"]:
            return None
        case ["file", path]:
            return f"file:{path}"
        case ["auto"]:
            devices = find_devices()
            if devices.camera is None and devices.microphone is None:
                raise NoDevices(
                    "no camera or microphone found: choose what to publish with "
                    "--source pattern (a test pattern and tone), --source file PATH, "
                    "or --source none (watch only)"
                )
            return open_devices(devices)
    raise ValueError(f"--source must be auto, pattern, 'file PATH' or none, not {source!r}")


def audio_level(samples: npt.NDArray[np.generic]) -> float:
    """The RMS level of one audio frame's samples in ``0..1`` (signed 16-bit or float)."""
    if samples.size == 0:
        return 0.0
    data = samples.astype(np.float64)
    if np.issubdtype(samples.dtype, np.integer):
        data /= float(np.iinfo(samples.dtype).max)  # type: ignore[type-var]
    return float(min(1.0, np.sqrt(np.mean(np.square(data)))))
