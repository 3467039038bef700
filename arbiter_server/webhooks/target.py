"""Where events go: the URL set through the server API, else the configured one."""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections.abc import Callable

from arbiter_protocol import ErrorCode, ProtocolError

from ..store import Store, StoreUnavailable

__all__ = ["WEBHOOK_URL_KEY", "WebhookTarget", "check_webhook_url"]

logger = logging.getLogger(__name__)

WEBHOOK_URL_KEY = "webhook_url"
"The store's configuration key of the URL set with ``PUT /v1/webhook``."


def check_webhook_url(url: str) -> str:
    """``url`` if it is an absolute ``http(s)`` URL; ``invalid_message`` otherwise."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE, "the webhook URL must be an absolute http(s) URL"
        )
    return url


class WebhookTarget:
    """The current webhook URL, read from the store at most every ``ttl`` seconds.

    The store's value (``PUT /v1/webhook``) wins over ``default`` (``dev --webhook-url``,
    ``deploy --webhook-url``); a ``PUT`` of none falls back to ``default``.
    """

    def __init__(
        self,
        store: Store,
        default: str | None,
        *,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._default = default
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: str | None = None
        self._read_at: float | None = None

    def url(self) -> str | None:
        """The URL to post to now (None: webhooks are off)."""
        now = self._clock()
        with self._lock:
            if self._read_at is None or now - self._read_at >= self._ttl:
                try:
                    self._cached = self._store.get_config(WEBHOOK_URL_KEY)
                    self._read_at = now
                except StoreUnavailable as exc:
                    logger.warning("webhook URL not read: %s", exc)
            return self._cached or self._default

    def forget(self) -> None:
        """Read the store again at the next :meth:`url` (after a ``PUT`` in this process)."""
        with self._lock:
            self._read_at = None
