"""The webhook events handlers emit: a room starts or ends, participants come and go, a
track is published. Each is handed to ``services.webhooks`` and never waited for."""

from __future__ import annotations

from arbiter_protocol import Handshake, MediaKind, ParticipantInfo, WebhookEventType

from ..webhooks import new_event
from .services import Services

__all__ = ["participant_joined", "participant_left", "room_ended", "track_published"]


def _emit(
    services: Services,
    event: WebhookEventType,
    room_id: str,
    *,
    participant: ParticipantInfo | None = None,
    kind: MediaKind | None = None,
    reason: str | None = None,
) -> None:
    services.webhooks.emit(
        new_event(
            event, room_id, services.clock(), participant=participant, kind=kind, reason=reason
        )
    )


def participant_joined(
    services: Services, room_id: str, participant: ParticipantInfo, first: bool
) -> None:
    """A participant took a seat (``first``: the room was empty: it starts)."""
    if first:
        _emit(services, "room_started", room_id)
    _emit(services, "participant_joined", room_id, participant=participant)


def participant_left(
    services: Services, room_id: str, participant: ParticipantInfo, reason: str, last: bool
) -> None:
    """A participant is gone for ``reason`` (``last``: the room is empty now: it ends)."""
    _emit(services, "participant_left", room_id, participant=participant, reason=reason)
    if last:
        room_ended(services, room_id, "empty")


def room_ended(services: Services, room_id: str, reason: str) -> None:
    """The room has nobody left (``empty``) or was closed (``closed``)."""
    _emit(services, "room_ended", room_id, reason=reason)


def track_published(
    services: Services, room_id: str, participant: ParticipantInfo, answer: Handshake
) -> None:
    """The SFU accepted a producer offer: one event per audio or video it takes."""
    if answer.sdp is None or answer.sdp.type != "answer":
        return
    for kind in accepted_kinds(answer.sdp.sdp):
        _emit(services, "track_published", room_id, participant=participant, kind=kind)


def accepted_kinds(sdp: str) -> list[MediaKind]:
    """Kinds of the media sections an answer accepts (a port of 0 rejects one)."""
    kinds: list[MediaKind] = []
    for line in sdp.splitlines():
        if line.startswith(("m=audio ", "m=video ")):
            kind: MediaKind = "audio" if line.startswith("m=audio") else "video"
            port = line.split(" ", 2)[1]
            if port != "0" and kind not in kinds:
                kinds.append(kind)
    return kinds
