"""Join grants: what the app's backend signs to let one user into one room, and as what.

A grant is a compact JWT (HS256, standard library only) signed with the deployment's API
key, so the app mints it without asking Arbiter anything:

    header   {"alg": "HS256", "typ": "JWT"}
    payload  {"iss": "arbiter-app", "typ": "join", "room": ..., "sub": <identity>,
              "name": ..., "grants": [...], "meta": ..., "lobby": false,
              "iat": ..., "exp": ..., "jti": ...}

``POST /rooms/{id}/join`` with ``{"grant": ...}`` checks it with :func:`read_grant`: the
signature, the expiry, and that it names that room. A grant may be used for several joins
until it expires (each join makes a new participant); keep ``ttl`` short. The server's own
tokens are signed with another secret and another issuer, so neither passes for the other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from ._codec import from_dict
from ._json import decode_json
from .errors import ErrorCode, ProtocolError
from .messages import (
    ALL_GRANTS,
    DEFAULT_GRANTS,
    ID_FIELD,
    MAX_METADATA,
    MAX_NAME,
    Grant,
    is_valid_id,
)

__all__ = [
    "GRANT_ISSUER",
    "MAX_GRANT_BYTES",
    "MAX_GRANT_TTL",
    "JoinGrant",
    "mint_grant",
    "read_grant",
]

GRANT_ISSUER = "arbiter-app"
"The ``iss`` of a join grant (the server's own tokens say ``arbiter``)."

MAX_GRANT_BYTES = 4096
"Longest grant accepted, in bytes."

MAX_GRANT_TTL = 30 * 24 * 3600
"Longest a grant may be valid for, in seconds (30 days)."

_HEADER = {"alg": "HS256", "typ": "JWT"}


@dataclass(frozen=True)
class JoinGrant:
    """What a verified grant says."""

    room_id: str
    "The one room it opens."
    identity: str
    "The app's id for the user (``[A-Za-z0-9_-]{1,64}``); participants show it."
    name: str
    "The display name everyone sees."
    grants: tuple[Grant, ...]
    "What the participant may do (``moderator`` included, if the app says so)."
    expires_at: int
    "Unix time after which no join accepts it."
    metadata: str | None = None
    "The app's data about the participant (at most 1 KB), shown to everyone in the room."
    lobby: bool = False
    "Wait in the room's lobby for a moderator even with this grant (lobby rooms only)."
    grant_id: str = ""
    "The grant's ``jti``."
    issued_at: int = 0
    "Unix time it was minted."


@dataclass
class _Claims:
    """The payload, validated field by field by the protocol's codec."""

    iss: Literal["arbiter-app"]
    typ: Literal["join"]
    room: str = field(metadata=ID_FIELD)
    sub: str = field(metadata=ID_FIELD)
    name: str = field(metadata={"max_len": MAX_NAME, "min_len": 1})
    grants: list[Grant] = field(metadata={"max_items": len(ALL_GRANTS)})
    iat: int
    exp: int
    jti: str = field(metadata={"max_len": 64, "min_len": 1})
    meta: str | None = field(default=None, metadata={"max_len": MAX_METADATA})
    lobby: bool = False

    def __post_init__(self) -> None:
        for name in ("room", "sub"):
            if not is_valid_id(getattr(self, name)):
                raise ProtocolError(
                    ErrorCode.INVALID_MESSAGE,
                    f"field '{name}' must be 1-64 characters of A-Z a-z 0-9 _ -",
                )


def mint_grant(
    key: str,
    room_id: str,
    identity: str,
    *,
    name: str | None = None,
    grants: Sequence[Grant] = DEFAULT_GRANTS,
    ttl: int = 3600,
    metadata: str | None = None,
    lobby: bool = False,
    now: float | None = None,
) -> str:
    """Sign a grant for ``identity`` to join ``room_id`` with the deployment's API ``key``.

    ``name`` defaults to ``identity``; ``grants`` to the default ones (``publish``,
    ``subscribe``, ``data``, ``screen``: add ``moderator`` for a host, keep only
    ``subscribe`` for a viewer). ``ttl`` is how many seconds it can be used to join.
    Raises ``ValueError`` for arguments the server would refuse.
    """
    if not key:
        raise ValueError("minting a grant needs the deployment's API key")
    if not 0 < ttl <= MAX_GRANT_TTL:
        raise ValueError(f"ttl must be 1..{MAX_GRANT_TTL} seconds, not {ttl}")
    issued = int(now if now is not None else time.time())
    payload = {
        "iss": GRANT_ISSUER,
        "typ": "join",
        "room": room_id,
        "sub": identity,
        "name": name if name is not None else identity,
        "grants": list(dict.fromkeys(grants)),
        "iat": issued,
        "exp": issued + int(ttl),
        "jti": uuid.uuid4().hex,
        "lobby": bool(lobby),
    }
    if metadata is not None:
        payload["meta"] = metadata
    try:
        from_dict(_Claims, payload)
    except ProtocolError as exc:
        raise ValueError(exc.message.replace("field '", "grant field '")) from None
    signing_input = _b64(_json(_HEADER)) + "." + _b64(_json(payload))
    token = signing_input + "." + _b64(_sign(key, signing_input))
    if len(token) > MAX_GRANT_BYTES:
        raise ValueError(f"the grant is {len(token)} bytes; at most {MAX_GRANT_BYTES}")
    return token


def read_grant(token: str, key: str, *, now: float | None = None) -> JoinGrant:
    """Verify a grant signed with ``key`` and return what it says.

    Raises :class:`ProtocolError` ``unauthorized`` naming what is wrong: malformed,
    signed with another key or altered, not a join grant, expired.
    """
    if not key:
        raise _refused("this deployment has no API key, so it accepts no grants")
    if len(token.encode("utf-8", "surrogatepass")) > MAX_GRANT_BYTES:
        raise _refused(f"grant is longer than {MAX_GRANT_BYTES} bytes")
    parts = token.split(".")
    if len(parts) != 3:
        raise _refused("grant is malformed: not three dot-separated parts")
    header = _decode_part(parts[0], "header")
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise _refused("grant is malformed: its header must name alg HS256")
    expected = _sign(key, f"{parts[0]}.{parts[1]}")
    if not hmac.compare_digest(_unb64(parts[2], "signature"), expected):
        raise _refused("grant signature is invalid (another key, or altered)")
    payload = _decode_part(parts[1], "payload")
    try:
        claims = from_dict(_Claims, payload)
    except ProtocolError as exc:
        raise _refused(f"grant is malformed: {exc.message}") from None
    if claims.exp <= (now if now is not None else time.time()):
        raise _refused("grant has expired")
    return JoinGrant(
        room_id=claims.room,
        identity=claims.sub,
        name=claims.name,
        grants=tuple(g for g in ALL_GRANTS if g in claims.grants),
        expires_at=claims.exp,
        metadata=claims.meta,
        lobby=claims.lobby,
        grant_id=claims.jti,
        issued_at=claims.iat,
    )


def _refused(message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.UNAUTHORIZED, message)


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise _refused(f"grant is malformed: its {what} is not base64url") from None


def _decode_part(text: str, what: str) -> object:
    try:
        return decode_json(_unb64(text, what), max_bytes=MAX_GRANT_BYTES, what=f"grant {what}")
    except ProtocolError as exc:
        raise _refused(f"grant is malformed: {exc.message}") from None


def _sign(key: str, signing_input: str) -> bytes:
    return hmac.new(key.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256).digest()
