"""The :class:`Admin` client: the server API with the deployment's API key."""

from __future__ import annotations

import json
from collections.abc import Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from arbiter_protocol import (
    DEFAULT_GRANTS,
    CreateRoomRequest,
    Done,
    ErrorBody,
    Grant,
    MediaKind,
    MuteRequest,
    ParticipantInfo,
    ParticipantList,
    ProtocolError,
    ReasonRequest,
    RoomInfo,
    RoomList,
    UpdateParticipantRequest,
    WebhookConfig,
    WebhookEvent,
    decode_body,
    encode_body,
    is_valid_id,
    mint_grant,
    verify_webhook,
)

from ._errors import ApiError

__all__ = ["Admin"]

B = TypeVar("B")


class Admin:
    """The app's backend talking to one Arbiter deployment.

    ```python
    from arbiter_admin import Admin

    async with Admin("http://127.0.0.1:8080", api_key) as admin:
        await admin.create_room("consult-7", private=True, lobby=True)
        grant = admin.mint_grant("consult-7", "dr-ada", name="Dr Ada", moderator=True)
        # hand `grant` to the user's browser: <ArbiterRoom url=... token={grant} />
        for p in await admin.list_participants("consult-7"):
            print(p.id, p.identity, p.name)
    ```

    ``url`` is the deployment's Room API (``arbiter-server dev`` prints it; ``deploy``
    shows it in ``status``); ``api_key`` is ``<data-dir>/api-key`` locally, SSM
    ``/arbiter/<prefix>/api-key`` on AWS. :meth:`mint_grant` and :meth:`verify_webhook`
    work offline; every other method is one HTTP request and raises :class:`ApiError`
    when refused.
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("the server API needs the deployment's API key")
        self.url = url.rstrip("/")
        "The Room API's base URL."
        self._key = api_key
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)

    # ------------------------------------------------------------------ offline

    def mint_grant(
        self,
        room_id: str,
        identity: str,
        *,
        name: str | None = None,
        grants: Sequence[Grant] = DEFAULT_GRANTS,
        moderator: bool = False,
        ttl: int = 3600,
        metadata: str | None = None,
        lobby: bool = False,
    ) -> str:
        """A join grant for ``identity`` (your user id) to join ``room_id``, signed here.

        ``grants`` defaults to ``publish``, ``subscribe``, ``data``, ``screen``;
        ``moderator=True`` adds ``moderator`` (remove, mute, end the room, admit from the
        lobby); ``["subscribe"]`` makes a viewer. The grant admits joins for ``ttl``
        seconds; ``metadata`` (up to 1 KB, e.g. JSON) is shown to everyone in the room;
        ``lobby=True`` makes this user wait for admission in a lobby room. No request.
        """
        wanted = list(grants) + (["moderator"] if moderator else [])
        return mint_grant(
            self._key,
            room_id,
            identity,
            name=name,
            grants=wanted,
            ttl=ttl,
            metadata=metadata,
            lobby=lobby,
        )

    def verify_webhook(self, body: bytes | str, signature: str | None) -> WebhookEvent:
        """Check a webhook delivery (raw body, ``Arbiter-Signature`` header) and return its
        event; raises :class:`~arbiter_protocol.WebhookError` if it is not genuine."""
        return verify_webhook(body, signature, self._key)

    # ------------------------------------------------------------------ rooms

    async def create_room(
        self, room_id: str | None = None, *, private: bool | None = None, lobby: bool = False
    ) -> RoomInfo:
        """Create ``room_id`` (or take a ready room from the pool) with its SFU started.

        ``private`` defaults to the deployment's (``deploy``: private, ``dev``: open);
        ``lobby=True`` makes joiners without a grant wait for a moderator.
        """
        request = CreateRoomRequest(room_id=room_id, private=private, lobby=lobby)
        return await self._call("POST", "/v1/rooms", RoomInfo, request)

    async def list_rooms(self) -> list[RoomInfo]:
        """Every room handed out, with its participants and lobby."""
        return (await self._call("GET", "/v1/rooms", RoomList)).rooms

    async def get_room(self, room_id: str) -> RoomInfo:
        """One room, with its participants and lobby."""
        return await self._call("GET", f"/v1/rooms/{_id(room_id)}", RoomInfo)

    async def close_room(self, room_id: str, *, reason: str | None = None) -> None:
        """End the room for everyone (each client ends with ``room_ended``) and delete it."""
        await self._call("POST", f"/v1/rooms/{_id(room_id)}/close", Done, ReasonRequest(reason))

    # ------------------------------------------------------------------ participants

    async def list_participants(self, room_id: str) -> list[ParticipantInfo]:
        """Who is in the room (not who waits in its lobby: see :meth:`get_room`)."""
        path = f"/v1/rooms/{_id(room_id)}/participants"
        return (await self._call("GET", path, ParticipantList)).participants

    async def remove_participant(
        self, room_id: str, participant_id: str, *, reason: str | None = None
    ) -> None:
        """End a participant's session; it and everyone else are told (``by`` = ``app``)."""
        await self._call(
            "POST", _participant(room_id, participant_id, "remove"), Done, ReasonRequest(reason)
        )

    async def mute_participant(
        self, room_id: str, participant_id: str, kind: MediaKind, *, muted: bool = True
    ) -> ParticipantInfo:
        """Hold its audio or video muted (the SFU stops forwarding it, it cannot unmute);
        ``muted=False`` lifts that."""
        return await self._call(
            "POST",
            _participant(room_id, participant_id, "mute"),
            ParticipantInfo,
            MuteRequest(kind=kind, muted=muted),
        )

    async def update_participant(
        self, room_id: str, participant_id: str, *, metadata: str | None
    ) -> ParticipantInfo:
        """Replace its app data (``None`` clears it); everyone in the room is told."""
        return await self._call(
            "PATCH",
            _participant(room_id, participant_id, None),
            ParticipantInfo,
            UpdateParticipantRequest(metadata=metadata),
        )

    async def admit(self, room_id: str, participant_id: str) -> None:
        """Let in a participant waiting in the room's lobby."""
        await self._call("POST", _participant(room_id, participant_id, "admit"), Done, Done())

    async def deny(self, room_id: str, participant_id: str, *, reason: str | None = None) -> None:
        """Refuse a participant waiting in the room's lobby (its session ends)."""
        await self._call(
            "POST", _participant(room_id, participant_id, "deny"), Done, ReasonRequest(reason)
        )

    # ------------------------------------------------------------------ webhooks

    async def set_webhook(self, url: str | None) -> str | None:
        """Post events to ``url`` from now on (``None``: back to the configured URL, if
        any); returns the URL now in use."""
        return (await self._call("PUT", "/v1/webhook", WebhookConfig, WebhookConfig(url))).url

    async def get_webhook(self) -> str | None:
        """The URL events are posted to (None: webhooks are off)."""
        return (await self._call("GET", "/v1/webhook", WebhookConfig)).url

    # ------------------------------------------------------------------ plumbing

    async def _call(self, method: str, path: str, answer: type[B], body: Any = None) -> B:
        content = encode_body(body) if body is not None else None
        try:
            reply = await self._http.request(
                method,
                self.url + path,
                content=content,
                headers={"x-api-key": self._key, "content-type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise ApiError("network_error", f"{method} {path}: {exc!r}") from exc
        if reply.is_error:
            raise _error(method, path, reply)
        try:
            return decode_body(answer, reply.content)
        except ProtocolError as exc:
            raise ApiError(
                "invalid_message", f"unexpected answer to {method} {path}: {exc.message}"
            ) from exc

    async def aclose(self) -> None:
        """Close the HTTP client (unless it was handed in)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Admin:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _id(value: str) -> str:
    if not is_valid_id(value):
        raise ValueError(f"not a room or participant id: {value!r}")
    return value


def _participant(room_id: str, participant_id: str, op: str | None) -> str:
    path = f"/v1/rooms/{_id(room_id)}/participants/{_id(participant_id)}"
    return f"{path}/{op}" if op else path


def _error(method: str, path: str, reply: httpx.Response) -> ApiError:
    try:
        error = decode_body(ErrorBody, json.dumps(json.loads(reply.content)["error"]))
    except (ValueError, KeyError, TypeError, ProtocolError):
        return ApiError(
            "http_error", f"{method} {path} failed with HTTP {reply.status_code}", reply.status_code
        )
    return ApiError(error.code, error.message, reply.status_code)
