"""Sessions: what admits a participant or an SFU, what resumes it, and how long it lasts.

A session is created by ``POST /rooms/{id}/join`` (a participant) or by starting an SFU.
It holds, as a :class:`~arbiter_server.store.SessionRecord`:

- the ``jti`` of the one unused token that may still ``identify`` (a join token, or an
  SFU's bootstrap code): identify consumes it, so a token admits one connection once and
  a replayed, stolen or re-fetched token admits nothing;
- the digest of the current refresh credential: ``resume`` (take over on a new socket)
  and ``refresh`` (renew ahead of expiry) need it, and each use replaces it, so an old
  credential is spent;
- when the session ends (participants: ``Settings.session_lifetime`` after the join).

Nothing else issues tokens or takes over participants.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from arbiter_protocol import ErrorCode, ProtocolError

from ..auth import (
    Claims,
    TokenError,
    issue_participant_token,
    issue_sfu_token,
    new_refresh_credential,
    new_token_id,
    refresh_digest_matches,
    split_refresh_credential,
    verify_token,
)
from ..store import SessionRecord
from . import limits
from .services import Services

__all__ = [
    "Credentials",
    "admit_token",
    "end_session",
    "rotate_refresh",
    "start_participant_session",
    "start_sfu_session",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    """What a new session (or a rotation) hands its holder."""

    refresh_token: str
    "The refresh credential (only its digest is stored)."
    refresh_expires_at: int
    "When it stops working."
    session_expires_at: int | None
    "When the session ends (None: an SFU's, which ends when the SFU is replaced)."


def start_participant_session(
    services: Services,
    room_id: str,
    participant_id: str,
    name: str,
    grants: tuple[str, ...],
    *,
    identity: str | None = None,
    metadata: str | None = None,
    lobby: bool = False,
) -> tuple[str, int, Credentials]:
    """Create a participant's session: its join token, the token's expiry, credentials.

    ``identity`` and ``metadata`` come from the app's grant; ``lobby``: it waits for a
    moderator at identify.
    """
    settings, now = services.settings, services.clock()
    token_id = new_token_id()
    token, expires = issue_participant_token(
        settings.secret,
        room_id,
        participant_id,
        name,
        settings.token_ttl,
        grants=grants,
        now=now,
        token_id=token_id,
    )
    credential, digest = new_refresh_credential(participant_id)
    ends = now + settings.session_lifetime
    refresh_expires = min(now + settings.refresh_ttl, ends)
    created = services.store.create_session(
        SessionRecord(
            session_id=participant_id,
            room_id=room_id,
            role="participant",
            created_at=now,
            refresh_expires_at=refresh_expires,
            name=name,
            grants=",".join(grants),
            ends_at=ends,
            refresh_digest=digest,
            token_id=token_id,
            identity=identity,
            metadata=metadata,
            lobby=lobby,
        )
    )
    if not created:  # a random 72-bit id collided
        raise ProtocolError(ErrorCode.INTERNAL_ERROR, "could not create the session; try again")
    return token, expires, Credentials(credential, int(refresh_expires), int(ends))


def start_sfu_session(services: Services, room_id: str, sfu_id: str) -> str:
    """Create an SFU instance's session; return its single-use bootstrap code."""
    settings, now = services.settings, services.clock()
    token_id = new_token_id()
    token, expires = issue_sfu_token(
        settings.secret, room_id, sfu_id, settings.sfu_bootstrap_ttl, now, token_id=token_id
    )
    services.store.create_session(
        SessionRecord(
            session_id=sfu_id,
            room_id=room_id,
            role="sfu",
            created_at=now,
            refresh_expires_at=expires,
            token_id=token_id,
        )
    )
    return token


def admit_token(services: Services, token: str) -> tuple[Claims, SessionRecord]:
    """Check a token and spend it: it admits one connection, once.

    Raises ``unauthorized`` for a forged or expired token, one whose session is gone, or
    one that was used (or replaced) already; ``session_expired`` once the session ended.
    """
    now = services.clock()
    try:
        claims = verify_token(services.settings.secret, token, now=now)
    except TokenError as exc:
        raise ProtocolError(ErrorCode.UNAUTHORIZED, str(exc), "identify") from None
    limits.check_session(services, claims.subject, "identify")
    session = services.store.get_session(claims.subject)
    if session is None or session.room_id != claims.room_id or session.role != claims.role:
        raise ProtocolError(
            ErrorCode.UNAUTHORIZED, "this token's session is over or unknown", "identify"
        )
    _check_not_ended(session, now, "identify")
    if not services.store.update_session(
        session.session_id, {"token_id": claims.token_id}, token_id=None
    ):
        raise ProtocolError(
            ErrorCode.UNAUTHORIZED,
            "this token was used already: a token admits one connection once "
            "(resume with the refresh credential instead)",
            "identify",
        )
    session.token_id = None
    return claims, session


def rotate_refresh(
    services: Services, credential: str, action: str, session_id: str | None = None
) -> tuple[SessionRecord, Credentials]:
    """Spend the current refresh credential and issue the next one.

    ``session_id``, when given, is the session the connection already belongs to. Raises
    ``unauthorized`` for anything but the current, unexpired credential of a live session
    (and ``session_expired`` once the session has ended).
    """
    parts = split_refresh_credential(credential)
    if parts is None:
        raise ProtocolError(ErrorCode.UNAUTHORIZED, "this is not a refresh credential", action)
    sid, digest = parts
    if session_id is not None and sid != session_id:
        raise ProtocolError(
            ErrorCode.UNAUTHORIZED, "this refresh credential is someone else's", action
        )
    now = services.clock()
    session = services.store.get_session(sid)
    if session is None or not refresh_digest_matches(session.refresh_digest, digest):
        raise ProtocolError(
            ErrorCode.UNAUTHORIZED,
            "this refresh credential is spent, replaced or unknown",
            action,
        )
    _check_not_ended(session, now, action)
    if session.refresh_expires_at <= now:
        raise ProtocolError(ErrorCode.UNAUTHORIZED, "this refresh credential has expired", action)
    new_credential, new_digest = new_refresh_credential(sid)
    ttl = services.settings.refresh_ttl
    expires = now + ttl if session.ends_at is None else min(now + ttl, session.ends_at)
    if not services.store.update_session(
        sid,
        {"refresh_digest": session.refresh_digest},
        refresh_digest=new_digest,
        refresh_expires_at=expires,
    ):
        raise ProtocolError(
            ErrorCode.UNAUTHORIZED, "this refresh credential was spent just now", action
        )
    session.refresh_digest, session.refresh_expires_at = new_digest, expires
    ends = int(session.ends_at) if session.ends_at is not None else None
    return session, Credentials(new_credential, int(expires), ends)


def end_session(services: Services, session_id: str | None) -> None:
    """Forget a session: its refresh credential and any unused token stop working."""
    if session_id:
        services.store.delete_session(session_id)


def _check_not_ended(session: SessionRecord, now: float, action: str) -> None:
    if session.ends_at is not None and session.ends_at <= now:
        raise ProtocolError(
            ErrorCode.SESSION_EXPIRED,
            "the session has reached its lifetime; join again for a new one",
            action,
        )
