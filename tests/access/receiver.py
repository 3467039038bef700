"""A webhook receiver on loopback: records every delivery, fails the first ones if told."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Delivery:
    """One request the receiver got."""

    body: bytes
    signature: str | None
    event_id: str | None
    status: int
    "What the receiver answered."


@dataclass
class Receiver:
    """``POST /hook`` on 127.0.0.1; the first ``fail`` requests are answered 500."""

    fail: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        await web.SockSite(self._runner, sock).start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        status = 500 if self.fail > 0 else 200
        self.fail -= 1
        self.deliveries.append(
            Delivery(
                body,
                request.headers.get("Arbiter-Signature"),
                request.headers.get("Arbiter-Event"),
                status,
            )
        )
        self.changed.set()
        return web.Response(status=status)

    async def wait(self, count: int, timeout: float = 10.0) -> None:
        """Until ``count`` deliveries were answered 200."""

        async def until() -> None:
            while sum(d.status == 200 for d in self.deliveries) < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(until(), timeout)
