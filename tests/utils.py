"""Helpers shared by the tests: a launcher that lets a test play the SFU, WebSocket peers."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from typing import Any

import websockets

from arbiter_server.launcher import Launcher


class ManualLauncher(Launcher):
    """Starts nothing; keeps each room's SFU credential so a test can identify as the SFU."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.alive: set[str] = set()
        self.started = threading.Event()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def start(self, room_id: str, sfu_token: str) -> str:
        with self._lock:
            handle = f"manual-{next(self._ids)}"
            self.tokens[room_id] = sfu_token
            self.alive.add(handle)
        self.started.set()
        return handle

    def stop(self, handle: str) -> None:
        with self._lock:
            self.alive.discard(handle)

    def is_alive(self, handle: str) -> bool:
        with self._lock:
            return handle in self.alive


class WsPeer:
    """A raw JSON WebSocket peer for signaling tests."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def connect(cls, url: str) -> WsPeer:
        return cls(await websockets.connect(url, max_size=None))

    async def send(self, data: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(data if isinstance(data, (str, bytes)) else json.dumps(data))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        result: dict[str, Any] = json.loads(raw)
        return result

    async def expect(self, action: str, timeout: float = 5.0) -> dict[str, Any]:
        msg = await self.recv(timeout)
        assert msg["action"] == action, f"expected {action}, got {msg}"
        return msg

    async def assert_silent(self, timeout: float = 0.3) -> None:
        try:
            msg = await asyncio.wait_for(self.ws.recv(), timeout)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message {msg}")

    async def close(self) -> None:
        await self.ws.close()
