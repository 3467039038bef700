"""SfuService: a Room connected to signaling, with reconnection and its session.

The launcher hands the SFU a single-use bootstrap code; the first ``identify`` spends it
and ``identified`` returns a refresh credential. The service renews that credential with
``refresh`` when half its lifetime is gone, keeps its socket busy with ``keepalive`` (API
Gateway closes a quiet one) and takes a socket whose keepalive goes unanswered for dead.
After a dropped socket (the age limit, a network blip) it ``resume``s with the credential:
the same SFU on a new socket, its room and peer connections untouched; what the room sent
meanwhile waits in a bounded outbox and goes out once the new socket is identified.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiortc import RTCIceServer

from arbiter_protocol import (
    Identified,
    Identify,
    KeepaliveAck,
    Message,
    Refresh,
    Refreshed,
    Resume,
    refresh_delay,
)
from arbiter_rtc import SocketKeepalive

from . import textguard
from .room import Room
from .signaling import SignalingConnection, SignalingError, SignalingRefused

__all__ = ["SfuConfig", "SfuService"]

logger = logging.getLogger(__name__)

OUTBOX_SIZE = 256
"Messages the room may send while the SFU has no socket; older ones are dropped past it."


@dataclass
class SfuConfig:
    """Everything one SFU process needs."""

    room_id: str
    "The room to serve."
    signaling_url: str
    "Signaling WebSocket URL, ``ws://host:port/ws``."
    token: str
    "The bootstrap code for the first ``identify`` (single-use, minutes long)."
    ice_servers: list[RTCIceServer] = field(default_factory=list)
    "STUN/TURN servers for the peer connections (may be empty)."
    connect_attempts: int = 5
    "Connection attempts before giving up, at start and after losing the connection."
    retry_delay: float = 1.0
    "Seconds before the first retry; doubles after each failure (at most 10 s)."
    open_timeout: float = 10.0
    "Seconds to open the WebSocket and receive ``identified``."
    state_file: Path | None = None
    """Where to keep a JSON snapshot of :meth:`Room.stats`, the process id and its number of
    asyncio tasks (for operators, tests and the soak benchmark); touched every
    ``state_interval`` as the SFU's heartbeat (:mod:`arbiter_server.heartbeat`)."""
    state_interval: float = 0.25
    "Seconds between checks for a changed snapshot (and heartbeats)."
    data_rate: tuple[int, float] = (200, 10.0)
    "Data-channel messages one participant may send per so many seconds."


class SfuService:
    """Runs a :class:`~.room.Room` against signaling until stopped or signaling is gone.

    :meth:`run` connects (retrying), feeds signaling's messages to the room and
    reconnects when the connection drops; it raises :class:`~.signaling.SignalingError`
    when it gives up. :meth:`close` closes every peer connection.
    """

    def __init__(self, config: SfuConfig) -> None:
        self.config = config
        self.room = Room(
            config.room_id, self._send, ice_servers=config.ice_servers, data_rate=config.data_rate
        )
        self._connection: SignalingConnection | None = None
        self._refresh_token: str | None = None
        self._refresh_expires_at = 0.0
        self._refreshed = asyncio.Event()
        self._idle_timeout: int | None = None
        self._keepalive: SocketKeepalive | None = None
        self._outbox: collections.deque[Message] = collections.deque()

    async def run(self) -> None:
        """Serve until cancelled; raises ``SignalingError`` when signaling is gone for good."""
        textguard.install()
        if self.config.state_file is None:
            await self._serve()
            return
        writer = asyncio.create_task(self._write_state(self.config.state_file))
        try:
            await self._serve()
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    async def _write_state(self, path: Path) -> None:
        """Keep ``path`` equal to the room's stats, written atomically when they change and
        touched otherwise: its age is the SFU's heartbeat (:mod:`arbiter_server.heartbeat`)."""
        last: dict[str, object] | None = None
        while True:
            snapshot: dict[str, object] = {
                "room_id": self.config.room_id,
                "pid": os.getpid(),
                **dataclasses.asdict(self.room.stats()),
                "tasks": len(asyncio.all_tasks()),  # this process's, for leak checks (soak)
            }
            if snapshot != last:
                tmp = path.with_name(path.name + ".tmp")
                tmp.write_text(json.dumps(snapshot))
                tmp.replace(path)
                last = snapshot
            else:
                os.utime(path)
            await asyncio.sleep(self.config.state_interval)

    async def _serve(self) -> None:
        while True:
            connection = await self._connect()
            await self._flush(connection)  # what the room sent meanwhile goes first
            self._connection = connection
            helpers = [
                asyncio.create_task(self._renew(connection), name="sfu-refresh"),
                asyncio.create_task(self._keep_alive(connection), name="sfu-keepalive"),
            ]
            try:
                await connection.run()
            finally:
                for helper in helpers:
                    helper.cancel()
                await asyncio.gather(*helpers, return_exceptions=True)
                self._connection = None
                self._keepalive = None
                await connection.close()
            logger.warning("SFU for room %s lost signaling; resuming", self.config.room_id)

    async def _keep_alive(self, connection: SignalingConnection) -> None:
        """Keep ``connection`` busy; close it when its keepalive goes unanswered."""
        dead: list[str] = []
        keepalive = SocketKeepalive(self._idle_timeout, connection.send, dead.append)
        self._keepalive = keepalive
        await keepalive.run()
        if dead:
            await connection.close()  # run() returns and the service resumes

    def _heard(self) -> None:
        keepalive = self._keepalive
        if keepalive is not None:
            keepalive.heard()

    async def _renew(self, connection: SignalingConnection) -> None:
        """Send ``refresh`` whenever half of the refresh credential's lifetime is gone."""
        while self._refresh_token is not None:
            wait = refresh_delay(self._refresh_expires_at, time.time())
            self._refreshed.clear()
            try:
                await asyncio.wait_for(self._refreshed.wait(), wait)
                continue  # a new credential came: wait for its half-life
            except TimeoutError:
                pass
            await connection.send(Refresh(refresh_token=self._refresh_token))
            try:
                await asyncio.wait_for(self._refreshed.wait(), 10.0)
            except TimeoutError:
                logger.warning("no 'refreshed' within 10 s; trying again")

    async def _on_refreshed(self, message: Message) -> None:
        if isinstance(message, Refreshed):
            self._keep(message.refresh_token, message.refresh_expires_at)

    def _keep(self, token: str | None, expires_at: int | None) -> None:
        if token is not None:
            self._refresh_token = token
            self._refresh_expires_at = float(expires_at or 0)
            self._refreshed.set()

    async def _connect(self) -> SignalingConnection:
        config = self.config
        delay = config.retry_delay
        last: SignalingError | None = None
        handlers = {
            **self.room.handlers(),
            Refreshed.action: self._on_refreshed,
            KeepaliveAck.action: self._on_keepalive_ack,
        }
        for attempt in range(1, config.connect_attempts + 1):
            hello: Identify | Resume = (
                Resume(refresh_token=self._refresh_token)
                if self._refresh_token is not None
                else Identify(token=config.token)
            )
            connection = SignalingConnection(
                config.signaling_url,
                hello,
                handlers,
                open_timeout=config.open_timeout,
                heard=self._heard,
            )
            try:
                identified = await connection.connect()
            except SignalingRefused:
                raise
            except SignalingError as exc:
                last = exc
                logger.warning(
                    "signaling attempt %d/%d failed: %s", attempt, config.connect_attempts, exc
                )
                if attempt < config.connect_attempts:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)
                continue
            if identified.role != "sfu" or identified.room_id != config.room_id:
                await connection.close()
                raise SignalingError(
                    f"identified as {identified.role} of room {identified.room_id}, "
                    f"not as the SFU of room {config.room_id}"
                )
            self._identified(identified)
            await self.room.handle(identified)
            return connection
        raise SignalingError(
            f"signaling unreachable after {config.connect_attempts} attempts: {last}"
        )

    async def _on_keepalive_ack(self, message: Message) -> None:
        """The socket is alive (``heard`` saw it arrive); nothing else to do."""

    def _identified(self, identified: Identified) -> None:
        self._idle_timeout = identified.idle_timeout
        if identified.refresh_token is not None:
            self._keep(identified.refresh_token, identified.refresh_expires_at)
        elif not identified.resumed:
            # a signaling server without sessions: identify with the same code next time
            self._refresh_token = None

    async def _send(self, message: Message) -> None:
        """Send on the current socket; without one (resuming), keep it for the next."""
        connection = self._connection
        if connection is not None:
            try:
                await connection.send(message)
                return
            except SignalingError as exc:
                logger.info("signaling send failed (%s); keeping %s", exc, message.action)
        if len(self._outbox) >= OUTBOX_SIZE:
            dropped = self._outbox.popleft()
            logger.warning("signaling outbox full; %s dropped", dropped.action)
        self._outbox.append(message)

    async def _flush(self, connection: SignalingConnection) -> None:
        """Send what the room said while there was no socket, in order."""
        if self._outbox:
            logger.info("sending %d message(s) kept while resuming", len(self._outbox))
        while self._outbox:
            message = self._outbox[0]
            try:
                await connection.send(message)
            except SignalingError:
                return  # the new socket went too: kept for the next one
            self._outbox.popleft()

    async def close(self) -> None:
        """Close the signaling connection and every peer connection. Idempotent."""
        connection = self._connection
        self._connection = None
        if connection is not None:
            await connection.close()
        await self.room.close()
