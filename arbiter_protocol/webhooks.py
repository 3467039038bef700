"""Webhook events: what Arbiter posts to the app's URL, and how the app checks the signature.

Each delivery is ``POST <url>`` with the event as a JSON body and the header
``Arbiter-Signature: t=<unix seconds>,v1=<hex>``, where ``v1`` is
``HMAC-SHA256(api_key, "<t>." + body)``. :func:`verify_webhook` checks it (in constant
time, and that ``t`` is recent, against replays) and returns the event. The header
``Arbiter-Event`` repeats the event's ``id``: a retried delivery carries the same id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Literal

from ._codec import from_dict, to_dict
from ._json import decode_json
from .errors import ProtocolError
from .messages import ID_FIELD, MediaKind, ParticipantInfo

__all__ = [
    "EVENT_HEADER",
    "MAX_WEBHOOK_BYTES",
    "SIGNATURE_HEADER",
    "WEBHOOK_EVENTS",
    "WebhookError",
    "WebhookEvent",
    "WebhookEventType",
    "decode_webhook",
    "encode_webhook",
    "verify_webhook",
    "webhook_signature",
]

SIGNATURE_HEADER = "Arbiter-Signature"
"The header carrying ``t=<unix seconds>,v1=<hex HMAC-SHA256>``."

EVENT_HEADER = "Arbiter-Event"
"The header carrying the event id (the same on every retry of one event)."

MAX_WEBHOOK_BYTES = 16 * 1024
"Largest webhook body."

WebhookEventType = Literal[
    "room_started", "room_ended", "participant_joined", "participant_left", "track_published"
]
"What happened."

WEBHOOK_EVENTS: tuple[WebhookEventType, ...] = (
    "room_started",
    "room_ended",
    "participant_joined",
    "participant_left",
    "track_published",
)
"Every event type."


class WebhookError(ValueError):
    """A webhook request whose signature, age or body is not acceptable."""


@dataclass
class WebhookEvent:
    """One event of a room, as posted to the app."""

    id: str = field(metadata={"max_len": 64, "min_len": 1})
    "Unique per event; retries of a delivery repeat it (de-duplicate on it)."
    event: WebhookEventType
    "What happened."
    room_id: str = field(metadata=ID_FIELD)
    "The room."
    created_at: int
    "When it happened, Unix milliseconds."
    participant: ParticipantInfo | None = None
    "Who (``participant_*``, ``track_published``)."
    kind: MediaKind | None = None
    "The track's kind (``track_published``)."
    reason: str | None = field(default=None, metadata={"max_len": 64})
    "Why a participant left (``left``, ``disconnected``, ``removed``...) or the room ended."


def encode_webhook(event: WebhookEvent) -> bytes:
    """The JSON body of a delivery."""
    return json.dumps(to_dict(event), separators=(",", ":")).encode("utf-8")


def decode_webhook(body: bytes | str) -> WebhookEvent:
    """Read a delivery's body (raises :class:`ProtocolError` for anything else)."""
    return from_dict(WebhookEvent, decode_json(body, max_bytes=MAX_WEBHOOK_BYTES, what="body"))


def webhook_signature(body: bytes, key: str, timestamp: int) -> str:
    """The ``Arbiter-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(key.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_webhook(
    body: bytes | str,
    signature: str | None,
    key: str,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> WebhookEvent:
    """Check a delivery's ``Arbiter-Signature`` and return its event.

    ``body`` must be the raw request body (the bytes as received, not re-serialised JSON);
    ``key`` is the deployment's API key. A signature older (or newer) than ``tolerance``
    seconds is refused, so a captured request cannot be replayed later. Raises
    :class:`WebhookError` saying what is wrong.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    fields = dict(part.split("=", 1) for part in (signature or "").split(",") if "=" in part)
    timestamp, given = fields.get("t", ""), fields.get("v1", "")
    if not timestamp.isdigit() or not given:
        raise WebhookError(f"the {SIGNATURE_HEADER} header is missing or malformed")
    current = now if now is not None else time.time()
    if abs(current - int(timestamp)) > tolerance:
        raise WebhookError(
            f"the signature is {abs(current - int(timestamp)):.0f} s old; at most {tolerance:g}"
        )
    expected = webhook_signature(raw, key, int(timestamp)).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise WebhookError("the signature does not match the body (another key, or altered)")
    try:
        return decode_webhook(raw)
    except ProtocolError as exc:
        raise WebhookError(f"the body is not a webhook event: {exc.message}") from None
