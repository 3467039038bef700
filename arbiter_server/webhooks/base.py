"""What handlers hand events to, and how an event is made."""

from __future__ import annotations

import abc
import uuid

from arbiter_protocol import MediaKind, ParticipantInfo, WebhookEvent, WebhookEventType

__all__ = ["NullSink", "WebhookSink", "new_event"]


class WebhookSink(abc.ABC):
    """Takes events for delivery; :meth:`emit` returns at once and never raises."""

    @abc.abstractmethod
    def emit(self, event: WebhookEvent) -> None:
        """Queue ``event`` for delivery (dropped, and logged, if it cannot be queued)."""


class NullSink(WebhookSink):
    """Delivers nothing (handlers run without webhooks, e.g. in unit tests)."""

    def emit(self, event: WebhookEvent) -> None:
        """Forget ``event``."""


def new_event(
    event: WebhookEventType,
    room_id: str,
    now: float,
    *,
    participant: ParticipantInfo | None = None,
    kind: MediaKind | None = None,
    reason: str | None = None,
) -> WebhookEvent:
    """A new event with a fresh id, happening at ``now`` (Unix seconds)."""
    return WebhookEvent(
        id=uuid.uuid4().hex,
        event=event,
        room_id=room_id,
        created_at=int(now * 1000),
        participant=participant,
        kind=kind,
        reason=reason,
    )
