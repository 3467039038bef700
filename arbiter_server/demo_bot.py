"""The demo bot ``arbiter-server dev`` puts in its demo room: a test pattern and a tone.

Run on its own: ``python -m arbiter_server.demo_bot ROOM_URL [--name NAME]`` (with
``ARBITER_API_KEY`` set for a private room).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal

from arbiter_client import Disconnected, Room
from arbiter_protocol import mint_grant

__all__ = ["main", "run"]

logger = logging.getLogger("arbiter.demo_bot")


async def run(url: str, name: str) -> int:
    """Join ``url`` and publish until stopped; returns an exit code.

    When its session reaches its lifetime (``session_expired``) the bot joins again as a
    new participant; any other disconnection ends it (exit code 1).
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    while True:
        reason = await _stay(url, name, stop)
        if reason != "session_expired" or stop.is_set():
            return 1 if reason is not None and not stop.is_set() else 0
        logger.info("demo bot's session ended; joining again")


async def _stay(url: str, name: str, stop: asyncio.Event) -> str | None:
    """Be in the room until ``stop`` (None) or a disconnection (its reason).

    With ``ARBITER_API_KEY`` in the environment (``dev`` sets it), it joins with a grant
    minted for it, so it gets into a private demo room too.
    """
    key = os.environ.get("ARBITER_API_KEY")
    room_id = url.rstrip("/").rsplit("/", 1)[-1]
    token = mint_grant(key, room_id, name, ttl=600) if key else None
    room = await Room.join(url, name=name, token=token)
    logger.info("demo bot joined %s as %s", url, room.participant_id)
    lost: list[str] = []
    gone = asyncio.Event()

    async def watch() -> None:
        async for event in room.events():
            if isinstance(event, Disconnected):
                logger.warning("demo bot disconnected: %s", event.reason)
                lost.append(event.reason)
                gone.set()
                return

    watcher = asyncio.create_task(watch())
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(gone.wait())]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (*waiters, watcher):
            task.cancel()
        await asyncio.gather(*waiters, watcher, return_exceptions=True)
        await room.leave()
    return lost[0] if lost else None


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
