"""The demo bot ``arbiter-server dev`` puts in its demo room: a test pattern and a tone.

Run on its own: ``python -m arbiter_server.demo_bot ROOM_URL [--name NAME]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from arbiter_client import Disconnected, Room

__all__ = ["main", "run"]

logger = logging.getLogger("arbiter.demo_bot")


async def run(url: str, name: str) -> int:
    """Join ``url`` and publish until stopped; returns an exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    room = await Room.join(url, name=name)
    logger.info("demo bot joined %s as %s", url, room.participant_id)
    lost = asyncio.Event()

    async def watch() -> None:
        async for event in room.events():
            if isinstance(event, Disconnected):
                logger.warning("demo bot disconnected: %s", event.reason)
                lost.set()
                return

    watcher = asyncio.create_task(watch())
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(lost.wait())]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for task in (*waiters, watcher):
        task.cancel()
    await asyncio.gather(*waiters, watcher, return_exceptions=True)
    await room.leave()
    return 1 if lost.is_set() and not stop.is_set() else 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m arbiter_server.demo_bot",
        description="Join a room and publish a test pattern.",
    )
    parser.add_argument("url", help="room URL, e.g. http://127.0.0.1:8080/rooms/demo")
    parser.add_argument("--name", default="demo-bot")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    return asyncio.run(run(args.url, args.name))


if __name__ == "__main__":
    raise SystemExit(main())
