"""A WebSocket signaling stand-in for the SFU process: identify, then route messages.

It accepts the SFU's connection (checking the bootstrap code, or the refresh credential of
a ``resume``), answers ``identified`` with the next refresh credential, answers
``refresh`` with ``refreshed``, and lets a test push messages to the SFU and see what it
sends. With :meth:`FakeSignaling.attach`,
in-process :class:`~tests.sfu.peers.Peer` clients talk to the SFU through it, the way the
real gateway routes handshakes (stamping ``participant_id``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from arbiter_protocol import (
    Error,
    Handshake,
    Identified,
    Identify,
    Message,
    ParticipantInfo,
    ParticipantJoined,
    Refresh,
    Refreshed,
    Resume,
    encode_message,
    parse_message,
)

from .peers import Peer


class FakeSignaling:
    """Serves ``ws://127.0.0.1:PORT/ws`` for one SFU of room ``room_id``."""

    def __init__(self, room_id: str = "room1", token: str = "sfu-secret") -> None:
        self.room_id = room_id
        self.token = token
        self.participants: list[ParticipantInfo] = []
        self.identifies: list[str] = []
        "Every hello's credential: the bootstrap code of an identify, a resume's credential."
        self.hellos: list[str] = []
        "The action of every hello (``identify`` or ``resume``)."
        self.credential_ttl = 3600
        "Seconds each refresh credential works (the SFU refreshes at half)."
        self.refreshes = 0
        self.credential: str | None = None
        "The SFU's current refresh credential."
        self._issued = 0
        self.from_sfu: asyncio.Queue[Message] = asyncio.Queue(maxsize=10000)
        self.connected = asyncio.Event()
        self.peers: dict[str, Peer] = {}
        self._sfu: ServerConnection | None = None
        self._server: Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/ws"

    async def start(self, port: int = 0) -> None:
        self._server = await serve(self._serve, "127.0.0.1", port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _next_credential(self) -> str:
        self._issued += 1
        self.credential = f"sfu-1.credential-{self._issued:020d}"
        return self.credential

    async def _serve(self, ws: ServerConnection) -> None:
        hello = parse_message(await ws.recv())
        assert isinstance(hello, Identify | Resume)
        presented = hello.token if isinstance(hello, Identify) else hello.refresh_token
        self.identifies.append(presented)
        self.hellos.append(hello.action)
        wanted = self.token if isinstance(hello, Identify) else self.credential
        if presented != wanted:
            await ws.send(encode_message(Error(code="unauthorized", message="bad token")))
            await ws.close()
            return
        if isinstance(hello, Identify):
            self.token = ""  # the bootstrap code is single-use
        await ws.send(
            encode_message(
                Identified(
                    room_id=self.room_id,
                    role="sfu",
                    sfu_ready=True,
                    participants=list(self.participants),
                    resumed=isinstance(hello, Resume),
                    refresh_token=self._next_credential(),
                    refresh_expires_at=int(time.time()) + self.credential_ttl,
                )
            )
        )
        self._sfu = ws
        self.connected.set()
        try:
            async for raw in ws:
                message = parse_message(raw)
                if isinstance(message, Refresh):
                    await self._refresh(ws, message)
                    continue
                self.from_sfu.put_nowait(message)
                peer = self.peers.get(getattr(message, "participant_id", None) or "")
                if peer is not None:
                    peer.deliver(message)
        except ConnectionClosed:
            pass  # the SFU went away (killed, or exited)
        finally:
            if self._sfu is ws:
                self._sfu = None
                self.connected.clear()

    async def _refresh(self, ws: ServerConnection, message: Refresh) -> None:
        if message.refresh_token != self.credential:
            await ws.send(
                encode_message(Error(code="unauthorized", message="spent", ref="refresh"))
            )
            return
        self.refreshes += 1
        await ws.send(
            encode_message(
                Refreshed(
                    refresh_token=self._next_credential(),
                    refresh_expires_at=int(time.time()) + self.credential_ttl,
                )
            )
        )

    async def to_sfu(self, message: Message) -> None:
        await asyncio.wait_for(self.connected.wait(), 10)
        assert self._sfu is not None
        await self._sfu.send(encode_message(message))

    async def drop_sfu(self) -> None:
        """Close the SFU's connection (as a gateway restart would)."""
        if self._sfu is not None:
            await self._sfu.close()

    async def join(self, participant_id: str, **kwargs: Any) -> Peer:
        """A peer joins: the SFU hears ``participant_joined``, then the peer publishes."""

        async def send(message: Message) -> None:
            if isinstance(message, Handshake):
                message = dataclasses.replace(message, participant_id=participant_id)
            await self.to_sfu(message)

        peer = Peer(participant_id, send, **kwargs)
        self.peers[participant_id] = peer
        info = ParticipantInfo(id=participant_id, name=participant_id)
        self.participants.append(info)
        await self.to_sfu(ParticipantJoined(participant=info))
        await peer.publish()
        return peer

    async def close_peers(self) -> None:
        for peer in self.peers.values():
            await peer.close()
        self.peers.clear()
