"""The local gateway: one aiohttp server for the HTTP Room API and the WebSocket API.

It plays API Gateway's part: matches routes, builds API Gateway events, calls the same
handler functions (in worker threads, as Lambda would run them, one message at a time per
connection) and delivers replies through :class:`~arbiter_server.poster.LocalPoster`. It
enforces API Gateway's limits on every WebSocket (:mod:`.limits`: idle timeout, connection
age, frame and message size) and answers ``keepalive`` itself, as the mock integration of
the deployed API does. :class:`~.stats.GatewayStats` counts what happens to the sockets.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import WSMsgType, web

from arbiter_protocol import (
    MAX_MESSAGE_BYTES,
    ErrorBody,
    ErrorCode,
    Keepalive,
    ProtocolError,
    decode_json,
    encode_body,
    encode_message,
    error_message,
    peek_action,
)

from ..lambdas import maintenance, room_api, signaling
from ..lambdas.routes import KEEPALIVE_REPLY, cors_headers, match_http_route
from ..poster import LocalPoster
from ..store import StoreUnavailable
from .events import http_event, websocket_event
from .limits import GOING_AWAY, MESSAGE_TOO_BIG, READ_LIMIT, SocketClock, SocketLimits, oversized
from .stats import GatewayStats

__all__ = ["LocalGateway"]

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], object], dict[str, Any]]


class LocalGateway:
    """Serves ``/ws`` and the Room API routes on one port and runs maintenance on a timer."""

    def __init__(
        self,
        poster: LocalPoster,
        sock: socket.socket,
        maintenance_interval: float = 5.0,
        workers: int = 8,
        after_maintenance: Callable[[], None] | None = None,
        limits: SocketLimits | None = None,
        expose_stats: bool = False,
    ) -> None:
        self.poster = poster
        self.sock = sock
        self.maintenance_interval = maintenance_interval
        self.after_maintenance = after_maintenance
        "Called (in a worker thread) after each maintenance pass, e.g. to recreate rooms."
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="handler")
        self._runner: web.AppRunner | None = None
        self._maintenance_task: asyncio.Task[None] | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self.limits = limits or SocketLimits()
        "API Gateway's limits on each WebSocket."
        self.expose_stats = expose_stats
        "Serve :attr:`stats` as JSON at ``GET /_dev/gateway`` (``dev --debug-stats``)."
        self.stats = GatewayStats()
        "What happened to the WebSockets so far."

    async def start(self) -> None:
        """Start serving."""
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_get("/ws", self._websocket)
        if self.expose_stats:
            app.router.add_get("/_dev/gateway", self._stats)
        app.router.add_route("*", "/{tail:.*}", self._http)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.SockSite(self._runner, self.sock).start()
        self._maintenance_task = asyncio.create_task(self._maintain())

    async def stop(self, timeout: float = 2.0) -> None:
        """Close every WebSocket (all at once, at most ``timeout`` s for their closing
        handshakes), stop serving and wait for running handlers without blocking the loop."""
        await self.stop_maintenance()
        closing = [asyncio.ensure_future(ws.close()) for ws in list(self._sockets)]
        if closing:
            await asyncio.wait(closing, timeout=timeout)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)

    async def stop_maintenance(self) -> None:
        """Stop the maintenance timer (idempotent): nothing restarts or stops SFUs any more."""
        task, self._maintenance_task = self._maintenance_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _call(self, handler: Handler, event: dict[str, Any]) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, handler, event, None)

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(self.maintenance_interval)
            try:
                await self._call(maintenance.handler, {"source": "arbiter.maintenance"})
                if self.after_maintenance is not None:
                    await asyncio.get_running_loop().run_in_executor(
                        self._executor, self.after_maintenance
                    )
            except StoreUnavailable as exc:  # tried again at the next interval
                logger.warning("maintenance skipped: %s", exc)
            except Exception:
                logger.exception("maintenance failed")

    # HTTP
    async def _http(self, request: web.Request) -> web.StreamResponse:
        """Answer as API Gateway with the deployer's CORS configuration does: a preflight
        gets the CORS headers and no route; every other answer gets the origin header."""
        origin = request.headers.get("Origin")
        if (
            request.method == "OPTIONS"
            and origin
            and "Access-Control-Request-Method" in request.headers
        ):
            return web.Response(status=204, headers=cors_headers(origin, preflight=True))
        response = await self._route(request)
        response.headers.update(cors_headers(origin, preflight=False))
        return response

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        route, params, known = match_http_route(request.method, path)
        if route is None:
            if known:
                return _error(
                    405, ErrorCode.METHOD_NOT_ALLOWED, f"{request.method} is not allowed on {path}"
                )
            return _error(404, ErrorCode.NOT_FOUND, f"no route for {path}")
        raw = await request.read()
        try:
            body: str | None = raw.decode("utf-8") if raw else None
        except UnicodeDecodeError:
            return _error(400, ErrorCode.MALFORMED_JSON, "body is not UTF-8")
        event = http_event(
            route,
            request.method,
            path,
            request.query_string,
            request.headers,
            params,
            body,
            request.remote or "",
        )
        return _to_aiohttp(await self._call(room_api.handler, event))

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats.snapshot())

    # WebSocket
    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        connection_id = base64.b64encode(os.urandom(12)).decode().replace("/", "_")
        domain = request.host
        connected = await self._call(
            signaling.handler,
            websocket_event(
                "$connect",
                connection_id,
                domain,
                headers=request.headers,
                source_ip=request.remote or "",
            ),
        )
        if int(connected.get("statusCode", 200)) >= 300:
            return _to_aiohttp(connected)  # refused before the upgrade, as API Gateway does
        # no protocol pings: API Gateway sends none, and they would not count as activity
        ws = web.WebSocketResponse(max_msg_size=READ_LIMIT)
        loop = asyncio.get_running_loop()
        clock = SocketClock(self.limits, loop.time())
        closing: list[str] = []

        async def send(text: str) -> None:
            await ws.send_str(text)
            self.stats.sent(text)

        async def close() -> None:
            closing.append("server")
            await ws.close()

        self.poster.register(connection_id, send, close)
        watch: asyncio.Task[None] | None = None
        try:
            await ws.prepare(request)
            self._sockets.add(ws)
            self.stats.opened += 1
            watch = asyncio.create_task(self._watch(ws, clock, closing))
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    if getattr(msg.data, "code", None) == MESSAGE_TOO_BIG:
                        closing.append("too_big")  # over 128 KB: refused unread
                    break
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                clock.message(loop.time())
                if oversized(msg.data):
                    closing.append("too_big")
                    await ws.close(code=MESSAGE_TOO_BIG, message=b"Message too big")
                    break
                if msg.type == WSMsgType.BINARY:
                    await ws.send_str(encode_message(error_message(_binary_refusal(msg.data))))
                    continue
                route = _select_route(msg.data)
                if route == Keepalive.action:
                    await self._keepalive(ws, clock, loop.time())
                    continue
                await self._call(
                    signaling.handler,
                    websocket_event(route, connection_id, domain, body=msg.data),
                )
        finally:
            if watch is not None:
                watch.cancel()
            self.stats.closed[closing[0] if closing else "client"] += 1
            self.poster.unregister(connection_id)
            self._sockets.discard(ws)
            await self._call(
                signaling.handler, websocket_event("$disconnect", connection_id, domain)
            )
        return ws

    async def _watch(
        self, ws: web.WebSocketResponse, clock: SocketClock, closing: list[str]
    ) -> None:
        """Close ``ws`` when it has been idle or open too long (API Gateway's clock)."""
        loop = asyncio.get_running_loop()
        while True:
            at, reason = clock.deadline()
            if loop.time() >= at:
                break
            await asyncio.sleep(at - loop.time())
        logger.info("closing a WebSocket: %s", "idle" if reason == "idle" else "too old")
        closing.append(reason)
        await ws.close(code=GOING_AWAY, message=b"Going away")

    async def _keepalive(self, ws: web.WebSocketResponse, clock: SocketClock, now: float) -> None:
        """Answer ``keepalive`` without the handlers (no store), within the socket's rate."""
        if clock.allow_keepalive(now):
            self.stats.keepalives += 1
            await ws.send_str(KEEPALIVE_REPLY)
            return
        self.stats.keepalives_limited += 1
        limits = self.limits
        refusal = ProtocolError(
            ErrorCode.RATE_LIMITED,
            f"more than {limits.keepalive_limit} keepalive in {limits.keepalive_window:g} s "
            "on this connection",
            Keepalive.action,
        )
        await ws.send_str(encode_message(error_message(refusal)))


def _select_route(body: str) -> str:
    """API Gateway's ``$request.body.action`` route selection (never raises)."""
    action = peek_action(body)
    if action == Keepalive.action:
        return action
    return action if action is not None and action in signaling.CLIENT_ACTIONS else "$default"


def _binary_refusal(data: bytes) -> ProtocolError:
    """Why a binary frame is refused: not UTF-8 JSON at all, or not sent as text."""
    try:
        decode_json(data, max_bytes=MAX_MESSAGE_BYTES)
    except ProtocolError as exc:
        return exc
    return ProtocolError(
        ErrorCode.INVALID_MESSAGE, "binary frames are not accepted; send JSON text"
    )


def _error(status: int, code: ErrorCode, message: str) -> web.Response:
    """The Room API's error response (``{"error": {"code", "message"}}``) for the gateway's own
    answers: unknown routes and files, a body that is not UTF-8."""
    return web.Response(
        status=status,
        text=encode_body(ErrorBody(code=code.value, message=message)),
        content_type="application/json",
    )


def _to_aiohttp(resp: dict[str, Any]) -> web.Response:
    """An HTTP API payload 2.0 response as API Gateway would send it."""
    headers = dict(resp.get("headers") or {})
    content_type = headers.pop("content-type", "application/json")
    body = resp.get("body", "")
    data = base64.b64decode(body) if resp.get("isBase64Encoded") else body.encode("utf-8")
    headers["Content-Type"] = content_type
    return web.Response(status=int(resp.get("statusCode", 200)), body=data, headers=headers)
