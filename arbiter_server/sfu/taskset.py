"""TaskSet: the owner of a group of background tasks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

__all__ = ["TaskSet"]

logger = logging.getLogger(__name__)


class TaskSet:
    """Owns background tasks: keeps a reference, logs failures, cancels and awaits them.

    Every task the SFU starts is spawned through a :class:`TaskSet` whose owner calls
    :meth:`close` in its own ``close()``.
    """

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called; :meth:`spawn` then refuses new work."""
        return self._closed

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any] | None:
        """Start ``coro`` as an owned task; returns ``None`` (and closes it) after close."""
        if self._closed:
            coro.close()
            return None
        task = asyncio.get_running_loop().create_task(coro, name=f"{self._owner}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            logger.error("task %s failed", task.get_name(), exc_info=exc)

    async def close(self) -> None:
        """Cancel every task and wait until all have exited. Idempotent."""
        self._closed = True
        await self.cancel_all()

    async def drain(self, timeout: float) -> None:
        """Refuse new work, give current tasks ``timeout`` seconds to finish, cancel the rest."""
        self._closed = True
        current = asyncio.current_task()
        tasks = {t for t in self._tasks if t is not current}
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        await self.cancel_all()

    async def cancel_all(self) -> None:
        """Cancel the current tasks and wait for them, without closing the set."""
        current = asyncio.current_task()
        tasks = {t for t in self._tasks if t is not current}
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
