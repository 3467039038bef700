"""Recording bot: joins without publishing and records the room to an MP4 file.

    python examples/recording_bot.py http://127.0.0.1:8080/rooms/demo call.mp4 --seconds 60

The file has one video track (a grid of everyone's latest picture) and one audio track
(everyone mixed). Stop early with Ctrl-C; the file is finished either way.
"""

from __future__ import annotations

import argparse
import asyncio

from arbiter_client import Room


async def main(
    url: str, path: str, *, seconds: float | None = None, publish: str | None = None
) -> int:
    """Record the room at ``url`` to ``path`` for ``seconds``; returns frames written."""
    async with Room.join(url, name="recorder", publish=publish) as room:
        recorder = room.record(path, fps=15, size=(640, 360))
        try:
            await asyncio.wait_for(room.wait_closed(), seconds)
        except TimeoutError:
            pass
        finally:
            await recorder.stop()
        print(f"wrote {recorder.frames_written} frames, {recorder.seconds_written:.1f} s to {path}")
        return recorder.frames_written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("path")
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.path, seconds=args.seconds))
