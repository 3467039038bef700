"""What the terminal app publishes: ``--source auto|pattern|file PATH|none``."""

from __future__ import annotations

from arbiter_client import CameraSource, DeviceNotFound, MediaSource, Publish

__all__ = ["NoDevices", "open_capture", "publish_for"]


class NoDevices(Exception):
    """``--source auto`` found neither a camera nor a microphone."""


def open_capture() -> MediaSource:
    """The local camera and microphone; either alone if only one can be opened.

    **Raises:** :class:`NoDevices` (saying what to choose instead) if neither opens.
    """
    errors: list[str] = []
    for camera, microphone in (("", ""), ("", None), (None, "")):
        try:
            return CameraSource(camera, microphone)
        except DeviceNotFound as exc:
            errors.append(str(exc))
    reasons = "; ".join(dict.fromkeys(errors))
    raise NoDevices(
        f"no camera or microphone could be opened ({reasons}). Choose what to publish: "
        "--source pattern (a test pattern and a tone), --source file PATH, "
        "or --source none (watch only)"
    )


def publish_for(source: list[str]) -> Publish:
    """What to pass to ``Room.join(publish=...)`` for ``--source``.

    ``auto`` opens the camera and microphone (a :class:`MediaSource` the caller must
    close); ``pattern`` is the SDK's test pattern and tone; ``file PATH`` plays a file;
    ``none`` publishes nothing.
    """
    match source:
        case ["auto"]:
            return open_capture()
        case ["pattern"]:
            return "test"
        case ["none"]:
            return None
        case ["file", path]:
            return f"file:{path}"
    raise ValueError(f"--source must be auto, pattern, 'file PATH' or none, not {source!r}")
