"""HeapKeeper: short garbage-collector pauses in a process that holds hundreds of peer
connections (an SFU, the benchmark's load generator).

CPython's full collection scans every object it tracks, with the event loop stopped: an
SFU holding 400 participants has about a million of them, and each full pass took
150-200 ms there (every consumer's media stalls that long), one every few seconds while
connections came. The keeper moves what exists into the permanent generation every
:data:`FREEZE_EVERY` seconds (``gc.freeze``, a list splice), so the collector's passes
scan only what is newer.

A frozen object that later becomes cyclic garbage (a closed connection's) stays until it
is unfrozen: :data:`CLEANUP_AFTER` seconds after the number of connections went down, and
every :data:`CLEANUP_EVERY` seconds anyway, the keeper unfreezes, collects everything once
and freezes again: one full pause then, instead of one every few seconds.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

__all__ = ["CLEANUP_AFTER", "CLEANUP_EVERY", "FREEZE_EVERY", "HeapKeeper"]

logger = logging.getLogger(__name__)

FREEZE_EVERY = 10.0
"Seconds between two freezes of what the process holds."

CLEANUP_AFTER = 30.0
"Seconds after connections went away before their garbage is collected (in one pass)."

CLEANUP_EVERY = 600.0
"Seconds between two full collections when no connection goes away."


class HeapKeeper:
    """Freezes the heap regularly and collects it fully now and then (see the module).

    ``connections`` tells how many peer connections the process holds (a drop means
    garbage to collect); ``cleanup_every`` None: no full collection but the ones
    :meth:`cleanup` is called for. It changes the whole process's collector: one per
    process.
    """

    def __init__(
        self, connections: Callable[[], int], *, cleanup_every: float | None = CLEANUP_EVERY
    ) -> None:
        self._connections = connections
        self._cleanup_every = cleanup_every
        self._count = 0
        self._frozen_at = float("-inf")
        self._cleaned_at = time.monotonic()
        self._dropped_at: float | None = None
        self.cleanups = 0
        "Full collections made so far."

    async def run(self, every: float = 1.0) -> None:
        """Tick every ``every`` seconds until cancelled."""
        while True:
            self.tick(time.monotonic())
            await asyncio.sleep(every)

    def tick(self, now: float) -> None:
        """Freeze, or collect everything, if it is time to."""
        count = self._connections()
        if count < self._count and self._dropped_at is None:
            self._dropped_at = now
        self._count = count
        dropped = self._dropped_at is not None and now - self._dropped_at >= CLEANUP_AFTER
        every = self._cleanup_every
        if dropped or (every is not None and now - self._cleaned_at >= every):
            self.cleanup(now)
        elif now - self._frozen_at >= FREEZE_EVERY:
            gc.freeze()
            self._frozen_at = now

    def cleanup(self, now: float | None = None) -> int:
        """Unfreeze, collect everything once, freeze again; the number of objects freed."""
        started = time.perf_counter()
        gc.unfreeze()
        collected = gc.collect()
        gc.freeze()
        self.cleanups += 1
        self._cleaned_at = self._frozen_at = time.monotonic() if now is None else now
        self._dropped_at = None
        logger.debug(
            "full collection: %d objects freed in %.0f ms",
            collected,
            (time.perf_counter() - started) * 1000,
        )
        return collected
