"""AWS: events go to an SQS FIFO queue (one message group per room, so each room's events
stay in order); the delivery function posts them (:mod:`arbiter_server.lambdas.webhooks`)."""

from __future__ import annotations

import logging
from typing import Any

from arbiter_protocol import WebhookEvent, encode_webhook

from .base import WebhookSink
from .target import WebhookTarget

__all__ = ["SqsWebhooks"]

logger = logging.getLogger(__name__)


class SqsWebhooks(WebhookSink):
    """Sends each event as one message (``client`` is a botocore SQS client).

    Nothing is sent while no webhook URL is set (the URL is read every few seconds).
    A failed send is logged and the event dropped: the handler's work is done either way.
    """

    def __init__(self, client: Any, queue_url: str, target: WebhookTarget) -> None:
        self._client = client
        self._queue_url = queue_url
        self._target = target

    def emit(self, event: WebhookEvent) -> None:
        """Send ``event`` to the queue, if webhooks are on."""
        try:
            if self._target.url() is None:
                return
            self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=encode_webhook(event).decode("utf-8"),
                MessageGroupId=event.room_id,
                MessageDeduplicationId=event.id,
            )
        except Exception:
            logger.exception("webhook %s %s not queued", event.event, event.id)
