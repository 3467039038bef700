"""What ``room.publish_screen`` shares: a video track from a file, an X11 display, your own
track, or numpy frames.

:func:`screen_track` opens what the caller names and returns the track to send and how
to close what was opened; numpy frames go through :class:`~._media.NumpyVideoTrack`, fed
by :func:`feed_frames`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterable, Callable
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer

from ._exceptions import DeviceNotFound
from ._media import MediaSource, NumpyVideoTrack

__all__ = ["ScreenInput", "feed_frames", "is_display", "screen_track"]

ScreenInput = MediaStreamTrack | MediaSource | str | AsyncIterable[Any]
"""What ``room.publish_screen`` accepts: a video ``MediaStreamTrack``, a
:class:`MediaSource` (its video), ``"x11"`` / ``"x11:DISPLAY"`` (an X11 display through
PyAV's ``x11grab``), a path or ``"file:PATH"`` (played once), or an async iterable of
numpy images (as ``room.publish_frames`` takes)."""


def is_display(name: str) -> bool:
    """True for ``"x11"``, ``"x11:DISPLAY"`` or an X11 display name such as ``:0.0``."""
    return name == "x11" or name.startswith("x11:") or name.startswith(":")


def screen_track(
    source: MediaStreamTrack | MediaSource | str, *, fps: float, size: tuple[int, int] | None
) -> tuple[MediaStreamTrack, Callable[[], None] | None]:
    """The video track to share for ``source`` and how to close what this opened
    (``None`` for what the caller gave and keeps).

    **Raises:** :class:`DeviceNotFound` for a display that cannot be captured (no X11
    display, or a PyAV without ``x11grab``); ``ValueError`` for a file or source without
    video, or an audio track.
    """
    if isinstance(source, MediaStreamTrack):
        if source.kind != "video":
            raise ValueError(f"a screen is a video track, not {source.kind!r}")
        return source, None
    if isinstance(source, MediaSource):
        if source.video is None:
            raise ValueError("this MediaSource has no video to share")
        return source.video, None
    if is_display(source):
        return _display(source, fps, size)
    path = source.removeprefix("file:")
    if not os.path.exists(path):
        raise ValueError(f"nothing to share at {path!r}: no such file")
    player = MediaPlayer(path)
    if player.video is None:
        raise ValueError(f"{path!r} has no video to share")
    video = player.video
    audio = player.audio
    return video, lambda: _stop(video, audio)


def _display(
    name: str, fps: float, size: tuple[int, int] | None
) -> tuple[MediaStreamTrack, Callable[[], None]]:
    display = name.removeprefix("x11").removeprefix(":") if name.startswith("x11") else name
    display = display or os.environ.get("DISPLAY", "")
    if display and not display.startswith(":"):
        display = f":{display}"
    if "x11grab" not in av.formats_available:
        raise DeviceNotFound("cannot capture the screen: this PyAV (FFmpeg) has no x11grab")
    if not display:
        raise DeviceNotFound("cannot capture the screen: no X11 display (DISPLAY is not set)")
    options = {"framerate": f"{fps:g}"}
    if size is not None:
        options["video_size"] = f"{size[0]}x{size[1]}"
    try:
        player = MediaPlayer(display, format="x11grab", options=options)
    except Exception as exc:  # FFmpeg errors, OSError
        raise DeviceNotFound(f"cannot capture the X11 display {display!r}: {exc}") from exc
    video = player.video
    if video is None:
        raise DeviceNotFound(f"the X11 display {display!r} gave no video")
    return video, lambda: _stop(video, None)


def _stop(video: MediaStreamTrack | None, audio: MediaStreamTrack | None) -> None:
    for track in (video, audio):
        if track is not None:
            track.stop()


async def feed_frames(frames: AsyncIterable[Any], track: NumpyVideoTrack, fps: float) -> int:
    """Put ``frames`` into ``track``, at most ``fps`` a second (the iterator is read more
    slowly), then end the track. Returns how many were put."""
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
    return count
