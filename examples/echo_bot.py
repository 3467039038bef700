"""Echo bot: sends the first other participant's video and audio back into the room.

python examples/echo_bot.py http://127.0.0.1:8080/rooms/demo [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio

from arbiter_client import ParticipantLeft, Room, TrackSubscribed


async def main(url: str, *, seconds: float | None = None, name: str = "echo") -> None:
    """Join ``url`` and echo whoever is there first; runs ``seconds`` (or until Ctrl-C)."""
    async with Room.join(url, name=name, video_size=(320, 240)) as room:
        echoed: str | None = None

        async def echo() -> None:
            nonlocal echoed
            async for event in room.events():
                if isinstance(event, TrackSubscribed) and echoed in (None, event.participant.id):
                    echoed = event.participant.id
                    await room.publish_track(event.track)  # no renegotiation
                    print(f"echoing {event.participant.name}'s {event.kind}")
                elif isinstance(event, ParticipantLeft) and event.participant.id == echoed:
                    echoed = None  # the next one who publishes gets echoed

        task = asyncio.create_task(echo())
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
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    asyncio.run(main(args.url, seconds=args.seconds))
