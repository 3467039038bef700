"""Helpers of the access tests: grants, a running stack, and the browser tests' event
collector for Python clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from arbiter_protocol import Grant, mint_grant
from arbiter_server.local import LocalStack, LocalStackConfig
from tests.web.test_browser import Collector, within

__all__ = ["MODERATOR", "Collector", "grant", "running_stack", "within"]


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
