"""Local capture and playback devices: what :func:`list_devices` finds, and opening one to
switch a published track to it (``room.switch_camera`` / ``room.switch_microphone``).

On Linux cameras are the V4L2 devices (``/sys/class/video4linux``: ``/dev/videoN`` and
their names) and microphones and speakers the ALSA PCM devices (``/proc/asound/pcm``:
``hw:CARD,DEVICE``), plus ALSA's ``default`` for each. Elsewhere only ``default`` is
listed (PyAV has no device enumeration): pass your platform's device names to
``CameraSource`` or the switch methods.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aiortc import MediaStreamTrack

from ._exceptions import DeviceNotFound
from ._media import CameraSource

__all__ = ["DeviceKind", "MediaDevice", "list_devices", "open_device"]

DeviceKind = Literal["camera", "microphone", "speaker"]
"What a device does: capture video, capture audio, play audio."


@dataclass(frozen=True)
class MediaDevice:
    """One local device."""

    kind: DeviceKind
    "``camera``, ``microphone`` or ``speaker``."
    id: str
    """What to pass to open it: ``/dev/video0``, ``hw:1,0``, ``default`` (to
    ``room.switch_camera``, ``room.switch_microphone``, ``CameraSource``,
    ``room.play_audio``)."""
    label: str
    "A name for people (from the driver)."


def list_devices(kind: DeviceKind | None = None, *, root: Path = Path("/")) -> list[MediaDevice]:
    """The local devices of ``kind`` (all kinds when ``None``), cameras first.

    ``root`` is where ``sys`` and ``proc`` are read (for tests on a copy of them).
    """
    found: list[MediaDevice] = []
    if sys.platform.startswith("linux"):
        found += _v4l2(root)
        found += _alsa(root)
    found += [
        MediaDevice("microphone", "default", "default microphone"),
        MediaDevice("speaker", "default", "default speaker"),
    ]
    return [d for d in found if kind is None or d.kind == kind]


def _v4l2(root: Path) -> list[MediaDevice]:
    base = root / "sys" / "class" / "video4linux"
    devices = []
    for entry in sorted(base.glob("video*"), key=lambda p: int(p.name[5:] or 0)):
        if not entry.name[5:].isdigit():
            continue
        try:
            label = (entry / "name").read_text(encoding="utf-8").strip()
            index = (entry / "index").read_text(encoding="utf-8").strip()
        except OSError:
            label, index = entry.name, "0"
        if index not in ("", "0"):
            continue  # a second node of the same camera (metadata), not its picture
        devices.append(MediaDevice("camera", f"/dev/{entry.name}", label or entry.name))
    return devices


def _alsa(root: Path) -> list[MediaDevice]:
    """``/proc/asound/pcm`` lines: ``00-00: ALC892 Analog : ALC892 Analog : playback 1 :
    capture 1``."""
    try:
        text = (root / "proc" / "asound" / "pcm").read_text(encoding="utf-8")
    except OSError:
        return []
    devices = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(":")]
        if len(parts) < 3 or "-" not in parts[0]:
            continue
        card, _, device = parts[0].partition("-")
        if not (card.isdigit() and device.isdigit()):
            continue
        ident = f"hw:{int(card)},{int(device)}"
        label = parts[1] or ident
        if any(p.startswith("capture") for p in parts[3:]):
            devices.append(MediaDevice("microphone", ident, label))
        if any(p.startswith("playback") for p in parts[3:]):
            devices.append(MediaDevice("speaker", ident, label))
    return devices


def open_device(
    kind: Literal["camera", "microphone"],
    device: str,
    *,
    size: tuple[int, int] = (640, 480),
    fps: float = 30.0,
) -> tuple[MediaStreamTrack, Callable[[], None]]:
    """Open a camera or microphone (PyAV capture, as :class:`CameraSource`): its track and
    how to close it. Raises :class:`DeviceNotFound`."""
    if kind == "camera":
        source = CameraSource(device, None, size=size, fps=fps)
        track = source.video
    else:
        source = CameraSource(None, device)
        track = source.audio
    if track is None:
        source.close()
        raise DeviceNotFound(f"the {kind} {device!r} gave no track")
    return track, source.close
