"""Filter bot: takes the first other participant's video, runs a numpy filter on it and
publishes the result as its own video.

    python examples/filter_bot.py http://127.0.0.1:8080/rooms/demo [--filter invert|edges]

``frames(latest=True)`` always hands over the newest picture, so a slow filter lowers the
frame rate instead of building up delay. With OpenCV installed, use
``frames(format="bgr24")`` and any ``cv2`` function in :func:`apply` instead.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator

import numpy as np

from arbiter_client import RemoteTrack, Room, TrackSubscribed


def apply(name: str, image: np.ndarray) -> np.ndarray:
    """``invert`` the colours, or draw ``edges`` (gradient magnitude) in white on black."""
    if name == "invert":
        return 255 - image
    gray = image.mean(axis=2)
    gx = np.abs(np.diff(gray, axis=1, prepend=gray[:, :1]))
    gy = np.abs(np.diff(gray, axis=0, prepend=gray[:1, :]))
    edges = np.clip((gx + gy) * 4, 0, 255).astype(np.uint8)
    return np.repeat(edges[:, :, None], 3, axis=2)


async def filtered(track: RemoteTrack, name: str) -> AsyncIterator[np.ndarray]:
    """The track's pictures, filtered, until it ends."""
    async for image in track.frames(format="rgb24", latest=True):
        height, width = image.shape[0] & ~1, image.shape[1] & ~1
        yield apply(name, image[:height, :width])


async def main(
    url: str, *, filter: str = "invert", seconds: float | None = None, name: str = "filter"
) -> None:
    """Join ``url`` and publish the filtered video of the first participant with video."""
    async with Room.join(url, name=name, audio=False, video_size=(320, 240)) as room:

        async def run() -> None:
            async for event in room.events():
                if isinstance(event, TrackSubscribed) and event.kind == "video":
                    print(f"filtering {event.participant.name}'s video ({filter})")
                    await room.publish_frames(filtered(event.track, filter), fps=15)

        task = asyncio.create_task(run())
        try:
            await asyncio.wait_for(room.wait_closed(), seconds)
        except TimeoutError:
            pass
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--filter", choices=["invert", "edges"], default="invert")
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    asyncio.run(main(args.url, filter=args.filter, seconds=args.seconds))
