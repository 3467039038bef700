"""Helpers of the access tests: an event collector for Python clients, grants, a stack."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from arbiter_client import Event, Room
from arbiter_protocol import Grant, mint_grant
from arbiter_server.local import LocalStack, LocalStackConfig

T = TypeVar("T")
STEP = 20.0
"Seconds for any one step."


class Collector:
    """Every event of a room, kept, with a way to wait for the first that matches."""

    def __init__(self, room: Room) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._run(room))

    async def _run(self, room: Room) -> None:
        async for event in room.events(maxsize=4096):
            self.events.append(event)
            self._changed.set()

    async def wait_for(self, match: Callable[[Event], bool], what: str) -> Event:
        """The first event (seen so far or coming) that matches."""

        async def find() -> Event:
            while True:
                for event in self.events:
                    if match(event):
                        return event
                self._changed.clear()
                await self._changed.wait()

        return await within(find(), what)

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def within(awaitable: Awaitable[T], what: str, timeout: float = STEP) -> T:
    """``awaitable``'s result, or an AssertionError naming ``what`` after ``timeout``."""
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


async def until(predicate: Callable[[], bool], what: str, timeout: float = STEP) -> None:
    """Poll ``predicate`` (every 20 ms) until it holds; AssertionError after ``timeout``."""

    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    await within(poll(), what, timeout)


def grant(
    stack: LocalStack,
    room_id: str,
    identity: str,
    grants: tuple[Grant, ...] = ("publish", "subscribe", "data", "screen"),
    **kwargs: object,
) -> str:
    """A grant minted with the stack's API key."""
    return mint_grant(stack.api_key, room_id, identity, grants=grants, **kwargs)  # type: ignore[arg-type]


MODERATOR: tuple[Grant, ...] = ("publish", "subscribe", "data", "screen", "moderator")


@asynccontextmanager
async def running_stack(data_dir: Path, **config: object) -> AsyncIterator[LocalStack]:
    """A real local stack (SFU processes), stopped (and its SFUs killed) afterwards."""
    import os
    import signal

    stack = LocalStack(LocalStackConfig(data_dir=data_dir, port=0, pool_size=0, **config))  # type: ignore[arg-type]
    await stack.start()
    try:
        yield stack
    finally:
        launcher = stack.launcher
        pids = list(launcher.pids()) if launcher is not None and hasattr(launcher, "pids") else []
        await stack.stop()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
