"""The webhook delivery function (AWS): drains the SQS FIFO queue the handlers fill.

An SQS event source mapping hands it each room's events in order (one message group per
room). Each event is posted (:class:`~arbiter_server.webhooks.Delivery`, a few attempts);
one that is still refused is reported as a batch item failure, with every later message
of its room in the batch, so SQS hands them again after the queue's visibility timeout,
in the same order, until its receive count moves it to the dead-letter queue.
"""

from __future__ import annotations

import logging
from typing import Any

from arbiter_protocol import ProtocolError, decode_webhook

from ..webhooks import Delivery
from .services import Services, get_services

__all__ = ["handler"]

logger = logging.getLogger(__name__)


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Entry point: an SQS batch; returns the items to hand again (``batchItemFailures``)."""
    services = get_services()
    return deliver_batch(services, event.get("Records") or [])


def deliver_batch(services: Services, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Post each record's event in order; the failed ones (and their rooms' later ones)."""
    settings = services.settings
    target = services.webhook_target
    url = target.url() if target is not None else settings.webhook_url
    delivery = Delivery(
        settings.api_key or "",
        attempts=settings.webhook_attempts,
        backoff=settings.webhook_backoff,
        backoff_max=settings.webhook_backoff_max,
        timeout=settings.webhook_timeout,
    )
    failed: list[str] = []
    blocked: set[str] = set()
    for record in records:
        message_id = str(record.get("messageId", ""))
        group = str((record.get("attributes") or {}).get("MessageGroupId", ""))
        if group in blocked:
            failed.append(message_id)
            continue
        try:
            webhook = decode_webhook(str(record.get("body", "")))
        except ProtocolError as exc:
            logger.error("webhook message %s dropped: %s", message_id, exc.message)
            continue
        if url is None:
            logger.info("webhook %s dropped: no webhook URL is set", webhook.id)
            continue
        if not delivery.deliver(webhook, url):
            failed.append(message_id)
            blocked.add(group)
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
