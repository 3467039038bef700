"""Webhooks: events of rooms posted, signed, to the app's URL, with bounded retries.

Handlers hand each event to a :class:`WebhookSink` (they never wait for the app): locally
:class:`LocalWebhooks` (an in-process queue and one delivery thread), on AWS
:class:`SqsWebhooks` (a FIFO queue; a delivery function drains it). Both deliver with the
same :class:`Delivery`, to the URL a :class:`WebhookTarget` reads.
"""

from .base import NullSink, WebhookSink, new_event
from .delivery import Delivery, post
from .local import LocalWebhooks
from .sqs import SqsWebhooks
from .target import WEBHOOK_URL_KEY, WebhookTarget, check_webhook_url

__all__ = [
    "WEBHOOK_URL_KEY",
    "Delivery",
    "LocalWebhooks",
    "NullSink",
    "SqsWebhooks",
    "WebhookSink",
    "WebhookTarget",
    "check_webhook_url",
    "new_event",
    "post",
]
