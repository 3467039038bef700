"""One event to one URL: signed ``POST`` with bounded retries and backoff (stdlib only)."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from arbiter_protocol import WebhookEvent, encode_webhook, webhook_signature
from arbiter_protocol.webhooks import EVENT_HEADER, SIGNATURE_HEADER

__all__ = ["Delivery", "Poster", "post"]

logger = logging.getLogger(__name__)

Poster = Callable[[str, bytes, dict[str, str], float], int]
"Sends one request: ``(url, body, headers, timeout) -> HTTP status`` (0: no answer)."


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """``POST`` with urllib; the status, or 0 when nothing answered in time."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        logger.debug("webhook POST %s failed: %s", url, exc)
        return 0


class Delivery:
    """Posts events signed with the deployment's API ``key``.

    An answer in 2xx delivers; anything else (an error status, no answer within
    ``timeout``) is tried again after ``backoff`` seconds, doubled each time up to
    ``backoff_max``, ``attempts`` times in all. Each attempt is signed anew (its
    ``t=`` is the time of sending) and carries the event's id in ``Arbiter-Event``.
    ``wait(seconds)`` sleeps between attempts and returns True to give up early (a
    stopping server).
    """

    def __init__(
        self,
        key: str,
        *,
        attempts: int = 6,
        backoff: float = 0.5,
        backoff_max: float = 8.0,
        timeout: float = 5.0,
        send: Poster = post,
        wait: Callable[[float], bool] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.key = key
        self.attempts = attempts
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.timeout = timeout
        self._send = send
        self._wait = wait or _sleep
        self._clock = clock

    def deliver(
        self, event: WebhookEvent, url: str, wait: Callable[[float], bool] | None = None
    ) -> bool:
        """Post ``event`` to ``url`` until it is taken or the attempts are spent.

        ``wait`` replaces the ``wait`` given at construction for this delivery.
        """
        wait = wait or self._wait
        body = encode_webhook(event)
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "arbiter-webhooks",
                SIGNATURE_HEADER: webhook_signature(body, self.key, int(self._clock())),
                EVENT_HEADER: event.id,
            }
            status = self._send(url, body, headers, self.timeout)
            if 200 <= status < 300:
                logger.debug("webhook %s %s delivered (attempt %d)", event.event, event.id, attempt)
                return True
            logger.info(
                "webhook %s %s: attempt %d/%d answered %s",
                event.event,
                event.id,
                attempt,
                self.attempts,
                status or "nothing",
            )
            if attempt == self.attempts or wait(delay):
                break
            delay = min(delay * 2, self.backoff_max)
        logger.warning("webhook %s %s to %s given up", event.event, event.id, url)
        return False


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False
