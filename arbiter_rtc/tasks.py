"""Owned background tasks: every task a room (client or SFU), a forwarder or a recorder
starts is kept in its :class:`TaskSet` and cancelled on close."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["TaskSet"]

logger = logging.getLogger("arbiter_rtc")

T = TypeVar("T")


class TaskSet:
    """A set of tasks with one owner.

    The owner keeps a reference to every task it starts here; finished tasks leave the set
    by themselves and a task that fails is logged. :meth:`close` refuses new tasks,
    cancels every task still running and waits until each has exited (the owner calls it
    in its own ``close()``).
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` or :meth:`drain` was called; :meth:`spawn` then refuses."""
        return self._closed

    def spawn(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """Start ``coro`` as a task owned by this set; ``RuntimeError`` after close."""
        if self._closed:
            coro.close()
            raise RuntimeError(f"{self._name}: cannot start {name!r} after close")
        task = asyncio.get_running_loop().create_task(coro, name=f"{self._name}:{name}")
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
        """Refuse new tasks, cancel the running ones (except the caller) and await them.

        Idempotent."""
        self._closed = True
        current = asyncio.current_task()
        while True:
            pending = [t for t in self._tasks if t is not current and not t.done()]
            if not pending:
                return
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def drain(self, timeout: float) -> None:
        """Refuse new tasks, give the running ones ``timeout`` seconds, then :meth:`close`."""
        self._closed = True
        current = asyncio.current_task()
        pending = {t for t in self._tasks if t is not current}
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        await self.close()
