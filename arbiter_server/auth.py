"""Join tokens and SFU credentials: signed (HS256 JWT), expiring and room-scoped."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Literal

import jwt

from arbiter_protocol import ALL_GRANTS

__all__ = ["Claims", "TokenError", "issue_participant_token", "issue_sfu_token", "verify_token"]

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


def issue_participant_token(
    secret: str,
    room_id: str,
    participant_id: str,
    name: str,
    ttl: int,
    grants: tuple[str, ...] = ALL_GRANTS,
    now: float | None = None,
) -> tuple[str, int]:
    """A participant's join token and its expiry (Unix seconds)."""
    return _issue(secret, room_id, "participant", participant_id, ttl, now, name, grants)


def issue_sfu_token(
    secret: str, room_id: str, sfu_id: str, ttl: int, now: float | None = None
) -> tuple[str, int]:
    """An SFU credential for one room and one SFU instance."""
    return _issue(secret, room_id, "sfu", sfu_id, ttl, now, "", ())


def _issue(
    secret: str,
    room_id: str,
    role: str,
    subject: str,
    ttl: int,
    now: float | None,
    name: str,
    grants: tuple[str, ...],
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
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, secret, algorithm="HS256"), expires


def verify_token(secret: str, token: str, expired_grace: int = 0) -> Claims:
    """Check signature, expiry and shape; raise :class:`TokenError` saying what is wrong.

    ``expired_grace`` accepts a token that expired at most that many seconds ago (used only
    to rejoin as the same participant).
    """
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=_ISSUER,
            leeway=expired_grace,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token has expired") from None
    except jwt.InvalidSignatureError:
        raise TokenError("token signature is invalid") from None
    except jwt.PyJWTError as exc:
        raise TokenError(f"token is invalid: {exc}") from None
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
