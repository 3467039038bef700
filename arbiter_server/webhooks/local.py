"""Local delivery: an in-process queue drained in order by one thread."""

from __future__ import annotations

import logging
import queue
import threading

from arbiter_protocol import WebhookEvent

from .base import WebhookSink
from .delivery import Delivery
from .target import WebhookTarget

__all__ = ["LocalWebhooks"]

logger = logging.getLogger(__name__)

_STOP = object()


class LocalWebhooks(WebhookSink):
    """Events queued in memory (at most ``maxsize``) and delivered one at a time, in order.

    Retries of an event hold up the ones after it, so the app sees the order things
    happened in. Handlers only put into the queue. :meth:`stop` ends the retries' waits at
    once; what is left undelivered then is dropped (and logged).
    """

    def __init__(self, target: WebhookTarget, delivery: Delivery, *, maxsize: int = 10_000) -> None:
        self._target = target
        self._queue: queue.Queue[object] = queue.Queue(maxsize=maxsize)
        self._stopping = threading.Event()
        self._delivery = delivery
        self._thread = threading.Thread(target=self._run, name="arbiter-webhooks", daemon=True)
        self._started = False
        self.dropped = 0
        "Events dropped because the queue was full."

    def start(self) -> None:
        """Start the delivery thread (once)."""
        if not self._started:
            self._started = True
            self._thread.start()

    def emit(self, event: WebhookEvent) -> None:
        """Queue ``event``; dropped (and logged) when the queue is full or stopping."""
        if self._stopping.is_set():
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                logger.warning("webhook queue full: %d event(s) dropped", self.dropped)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop delivering; waits at most ``timeout`` seconds for a delivery under way."""
        self._stopping.set()
        try:
            self._queue.put_nowait(_STOP)
        except queue.Full:
            pass
        if self._started:
            self._thread.join(timeout)
        left = self._queue.qsize()
        if left > 1:
            logger.info("webhooks: %d undelivered event(s) dropped at stop", left - 1)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP or self._stopping.is_set():
                return
            assert isinstance(item, WebhookEvent)
            try:
                url = self._target.url()
                if url is not None:
                    self._delivery.deliver(item, url, wait=self._stopping.wait)
            except Exception:  # the thread must go on with the next event
                logger.exception("webhook delivery of %s failed", item.id)
