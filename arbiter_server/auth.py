"""Join tokens, SFU bootstrap codes and refresh credentials.

Tokens (join tokens and the SFU's bootstrap code) are signed (HS256 JWT), expiring,
room-scoped and carry a ``jti`` that the session record remembers, so each admits one
connection once. Refresh credentials are ``<session id>.<random>``: only a SHA-256 digest of
the random part is stored, and each use replaces it with a new one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Literal

import jwt

from arbiter_protocol import ALL_GRANTS, is_valid_id

__all__ = [
    "Claims",
    "TokenError",
    "issue_participant_token",
    "issue_sfu_token",
    "new_refresh_credential",
    "new_token_id",
    "refresh_digest_matches",
    "split_refresh_credential",
    "verify_token",
]

_ISSUER = "arbiter"


class TokenError(ValueError):
    """The token is malformed, forged, expired or otherwise unusable."""


@dataclass(frozen=True)
class Claims:
    """What a verified token says."""

    room_id: str
    role: Literal["participant", "sfu"]
    subject: str
    "The participant id, or the SFU id."
    expires_at: int
    name: str = ""
    grants: tuple[str, ...] = field(default_factory=tuple)
    token_id: str = ""


def new_token_id() -> str:
    """A fresh ``jti`` for a token (the session record keeps the one it may admit)."""
    return uuid.uuid4().hex


def issue_participant_token(
    secret: str,
    room_id: str,
    participant_id: str,
    name: str,
    ttl: int,
    grants: tuple[str, ...] = ALL_GRANTS,
    now: float | None = None,
    token_id: str | None = None,
) -> tuple[str, int]:
    """A participant's join token and its expiry (Unix seconds)."""
    return _issue(secret, room_id, "participant", participant_id, ttl, now, name, grants, token_id)


def issue_sfu_token(
    secret: str,
    room_id: str,
    sfu_id: str,
    ttl: int,
    now: float | None = None,
    token_id: str | None = None,
) -> tuple[str, int]:
    """An SFU's bootstrap code: admits that one SFU instance of one room, once."""
    return _issue(secret, room_id, "sfu", sfu_id, ttl, now, "", (), token_id)


def _issue(
    secret: str,
    room_id: str,
    role: str,
    subject: str,
    ttl: int,
    now: float | None,
    name: str,
    grants: tuple[str, ...],
    token_id: str | None,
) -> tuple[str, int]:
    issued = int(now if now is not None else time.time())
    expires = issued + ttl
    payload = {
        "iss": _ISSUER,
        "sub": subject,
        "room": room_id,
        "role": role,
        "name": name,
        "grants": list(grants),
        "iat": issued,
        "exp": expires,
        "jti": token_id or new_token_id(),
    }
    return jwt.encode(payload, secret, algorithm="HS256"), expires


def verify_token(secret: str, token: str, now: float | None = None) -> Claims:
    """Check signature, expiry and shape; raise :class:`TokenError` saying what is wrong.

    An expired token is refused, however recently it expired.
    """
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=_ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "jti"], "verify_exp": False},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token has expired") from None
    except jwt.InvalidSignatureError:
        raise TokenError("token signature is invalid") from None
    except jwt.PyJWTError as exc:
        raise TokenError(f"token is invalid: {exc}") from None
    if int(payload["exp"]) <= (now if now is not None else time.time()):
        raise TokenError("token has expired")
    role = payload.get("role")
    room = payload.get("room")
    if role not in ("participant", "sfu") or not isinstance(room, str):
        raise TokenError("token does not name a room and a role")
    grants = payload.get("grants") or []
    return Claims(
        room_id=room,
        role=role,
        subject=str(payload["sub"]),
        expires_at=int(payload["exp"]),
        name=str(payload.get("name", "")),
        grants=tuple(str(g) for g in grants),
        token_id=str(payload.get("jti", "")),
    )


def new_refresh_credential(session_id: str) -> tuple[str, str]:
    """A new refresh credential for ``session_id`` and the digest to store instead of it."""
    secret = secrets.token_urlsafe(32)
    return f"{session_id}.{secret}", _digest(secret)


def split_refresh_credential(credential: str) -> tuple[str, str] | None:
    """``(session id, digest)`` of a refresh credential, or None if it is not one."""
    session_id, dot, secret = credential.partition(".")
    if not dot or not is_valid_id(session_id) or not 20 <= len(secret) <= 128:
        return None
    return session_id, _digest(secret)


def refresh_digest_matches(stored: str | None, presented: str) -> bool:
    """Constant-time comparison of a stored digest with a presented credential's digest."""
    return stored is not None and hmac.compare_digest(stored, presented)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
