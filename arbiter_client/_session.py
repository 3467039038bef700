"""Session: a room's signaling (HTTP join, identify, the read loop and its dispatch table,
keepalive on each WebSocket, resume on a new WebSocket with backoff, its refresh credential
kept fresh)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import httpx

from arbiter_protocol import (
    Error,
    ErrorBody,
    ErrorCode,
    Grant,
    IceServer,
    Identified,
    Identify,
    JoinRequest,
    JoinResponse,
    KeepaliveAck,
    Leave,
    Message,
    ProtocolError,
    Refreshed,
    decode_body,
    encode_body,
    parse_message,
)
from arbiter_rtc import SocketKeepalive, TaskSet

from ._credentials import RefreshCredential
from ._exceptions import (
    ArbiterError,
    ConnectionLost,
    JoinTimeout,
    ProtocolMismatch,
    RoomFull,
    RoomNotFound,
    Unauthorized,
    error_from_code,
)
from ._progress import Progress, RoomLog, set_result
from ._signaling import Signaling

__all__ = ["Session"]

M = TypeVar("M", bound=Message)

RETRY_FIRST = 0.25
"Seconds before the second reconnection attempt; the wait doubles after each failure..."
RETRY_MAX = 5.0
"... up to this many seconds."
ATTEMPT_TIMEOUT = 10.0
"Longest one reconnection attempt (WebSocket and resume) may take."
CLOSE_WAIT = 1.0
"Longest a leave waits for signaling: sending ``leave``, then the WebSocket's closing handshake."
CLOCK_SLACK = 30.0
"""Seconds by which this machine's clock may lag the server's: a resume refused this close
to the session's end is taken for the end (``session_expired``)."""


class Session:
    """One participant's signaling, across WebSockets.

    :meth:`join` asks the Room API for a token, :meth:`open` opens the WebSocket and
    identifies. Every message read is dispatched by action through the table that
    :meth:`route` fills. When the WebSocket drops while ``may_resume()`` says so, the
    session reconnects as the same participant (a new WebSocket, ``resume`` with the
    refresh credential) with backoff within ``reconnect_timeout`` seconds, then calls
    ``on_resumed``; otherwise, or when the server refuses, it calls ``on_failed``.
    :meth:`send` waits while a reconnection is under way. Once identified, it ``refresh``es
    the credential whenever half of its lifetime is gone, and each WebSocket sends
    ``keepalive`` as the server's idle timeout requires; one whose keepalive goes
    unanswered is taken for dead and replaced the same way.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str,
        grants: Sequence[Grant] | None,
        grant: str | None = None,
        timeout: float,
        reconnect_timeout: float,
        tasks: TaskSet,
        progress: Progress,
        log: RoomLog,
        may_resume: Callable[[], bool],
        on_identified: Callable[[Identified], None],
        on_waiting: Callable[[Identified], None] = lambda _: None,
        on_lost: Callable[[str], None],
        on_resumed: Callable[[Identified], None],
        on_failed: Callable[[ArbiterError], None],
    ) -> None:
        self._url = url
        self._name = name
        self._grants = list(grants) if grants is not None else None
        self._grant = grant
        self._timeout = timeout
        self._reconnect_timeout = reconnect_timeout
        self._tasks = tasks
        self._progress = progress
        self._log = log
        self._may_resume = may_resume
        self._on_identified = on_identified
        self._on_waiting = on_waiting
        self._on_lost = on_lost
        self._on_resumed = on_resumed
        self._on_failed = on_failed
        self._handlers: dict[str, Callable[[Message], None]] = {}
        self._identified: asyncio.Future[Identified] = asyncio.get_running_loop().create_future()
        self._signaling: Signaling | None = None
        self._keepalive: tuple[Signaling, SocketKeepalive, asyncio.Task[None]] | None = None
        self._fresh: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self._closing = False
        self.down = False
        "True while the WebSocket is being got back."
        self.credential: RefreshCredential | None = None
        "The session's refresh credential (what resumes it), once joined."
        self.signaling_url = ""
        "The WebSocket URL of the join response."
        self.ice_servers: list[IceServer] = []
        "STUN/TURN servers of the latest join response, resume or refresh."
        self.participant_id: str | None = None
        "This client's participant id, once identified."
        self.route(Identified, self._identified_message)
        self.route(Refreshed, self._refreshed)
        self.route(KeepaliveAck, lambda _: None)  # heard (see _receive); nothing else to do

    # ------------------------------------------------------------------ joining

    def route(self, cls: type[M], handler: Callable[[M], None]) -> None:
        """Dispatch every message of ``cls`` read from signaling to ``handler``."""

        def handle(message: Message) -> None:
            assert isinstance(message, cls)
            handler(message)

        self._handlers[cls.action] = handle

    async def join(self) -> JoinResponse:
        """``POST {url}/join``: a token, a refresh credential, the signaling URL, ICE servers."""
        join_url = f"{self._url}/join"
        request = JoinRequest(name=self._name, grants=self._grants, grant=self._grant)
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                reply = await http.post(
                    join_url,
                    content=encode_body(request),
                    headers={"content-type": "application/json"},
                )
        except httpx.TimeoutException as exc:
            raise JoinTimeout(f"POST {join_url} timed out") from exc
        except httpx.HTTPError as exc:
            raise ConnectionLost(f"POST {join_url} failed: {exc!r}") from exc
        if reply.is_error:
            raise _http_error(join_url, reply)
        try:
            return decode_body(JoinResponse, reply.content)
        except ProtocolError as exc:
            raise ProtocolMismatch(f"unexpected join response from {join_url}: {exc}") from exc

    async def open(self, response: JoinResponse) -> Identified:
        """Open the WebSocket of ``response``, identify, and return the ``identified`` reply."""
        self.credential = RefreshCredential(response)
        self.signaling_url = response.signaling_url
        self.ice_servers = list(response.ice_servers)
        self._signaling = Signaling(response.signaling_url)
        self._progress.step = "the signaling WebSocket"
        await self._signaling.connect()
        self._tasks.spawn(self._read_loop(self._signaling), "signaling")
        await self._signaling.send(Identify(token=response.token))
        self._progress.step = "identified"
        identified = await self._progress.until(self._identified)
        self.participant_id = identified.participant_id or response.participant_id
        self._up.set()
        self._keep_alive(self._signaling, identified.idle_timeout)
        self._keep_fresh()
        return identified

    def _identified_message(self, message: Identified) -> None:
        if message.role != "participant":
            self._on_failed(ProtocolMismatch(f"identified with role {message.role!r}"))
            return
        if self._identified.done():
            return
        if message.waiting:  # in the lobby: the next ``identified`` admits us
            if self._signaling is not None:  # the socket must stay open meanwhile,
                self._keep_alive(self._signaling, message.idle_timeout)
            self._keep_fresh()  # and the credential fresh (a moderator may take long)
            self._on_waiting(message)
            return
        self._on_identified(message)
        set_result(self._identified, message)

    def _keep_fresh(self) -> None:
        """Renew the refresh credential at its half-life from now on (once a session)."""
        if self._fresh is None and self.credential is not None:
            self._fresh = self._tasks.spawn(
                self.credential.keep_fresh(self.send), "session-refresh"
            )

    def _refreshed(self, message: Refreshed) -> None:
        if self.credential is not None and (ice := self.credential.update(message)):
            self.ice_servers = list(ice)

    # ------------------------------------------------------------------ messages

    async def _read_loop(self, signaling: Signaling) -> None:
        try:
            while True:
                message = await self._receive(signaling)
                if message is None:
                    continue
                try:
                    self.dispatch(message)
                except Exception:  # a bug handling one message must not end the room
                    self._log.exception("failed to handle %s", message.action)
        except ConnectionLost as exc:
            self._lost(signaling, exc)
        except ArbiterError as exc:
            self._on_failed(exc)

    async def _receive(self, signaling: Signaling) -> Message | None:
        """The next valid message (``None`` for a bad one, which is logged and skipped)."""
        raw = await signaling.receive()
        watch = self._keepalive
        if watch is not None and watch[0] is signaling:
            watch[1].heard()
        try:
            return parse_message(raw)
        except ProtocolError as exc:
            if exc.code is ErrorCode.UNSUPPORTED_VERSION:
                raise ProtocolMismatch(str(exc), code=exc.code.value) from exc
            self._log.warning("ignoring a bad signaling message: %s", exc)
            return None

    def dispatch(self, message: Message) -> None:
        """Hand ``message`` to the handler of its action (unrouted actions are ignored)."""
        self._log.debug("signaling < %s", message.action)
        handler = self._handlers.get(message.action)
        if handler is None:
            self._log.debug("ignoring %s on signaling", message.action)
            return
        handler(message)

    async def send(self, message: Message) -> None:
        """Send on signaling; while it is reconnecting, wait for it and send then."""
        while True:
            signaling = self._signaling
            if signaling is None:
                if not self.down or self._closing:
                    raise ConnectionLost("signaling is not connected")
                waiter = asyncio.ensure_future(self._up.wait())
                try:
                    await self._progress.until(waiter)
                finally:
                    waiter.cancel()
                continue
            try:
                await signaling.send(message)
                return
            except ConnectionLost as exc:
                self._lost(signaling, exc)
                if self._signaling is signaling or not self.down:
                    raise

    async def ping(self) -> float | None:
        """Round trip of a WebSocket ping in ms (``None`` without an answer or a socket)."""
        signaling = self._signaling
        return await signaling.ping() if signaling is not None else None

    # ------------------------------------------------------------------ keepalive

    def _keep_alive(self, signaling: Signaling, idle_timeout: int | None) -> None:
        """Send ``keepalive`` on ``signaling`` (the current socket) for as long as it lives."""
        self._stop_keepalive()
        keepalive = SocketKeepalive(
            idle_timeout,
            signaling.send,
            lambda reason: self._lost(signaling, ConnectionLost(reason)),
        )
        task = self._tasks.spawn(keepalive.run(), "keepalive")
        self._keepalive = (signaling, keepalive, task)

    def _stop_keepalive(self) -> None:
        watch, self._keepalive = self._keepalive, None
        if watch is not None:
            watch[2].cancel()

    # ------------------------------------------------------------------ reconnection

    def _lost(self, signaling: Signaling, exc: ArbiterError) -> None:
        """``signaling`` dropped: reconnect if the room may, else fail."""
        if signaling is not self._signaling:
            return  # an old connection, already replaced
        self._stop_keepalive()
        if self._closing or self._reconnect_timeout <= 0 or not self._may_resume():
            self._on_failed(exc)
            return
        self._log.warning("signaling lost (%s): reconnecting", exc)
        self._signaling = None
        self._up.clear()
        self.down = True
        self._tasks.spawn(signaling.close(), "signaling-close")
        self._on_lost(str(exc))
        self._tasks.spawn(self._reconnect(), "reconnect")

    async def _reconnect(self) -> None:
        """Get signaling back as the same participant, with backoff, within the budget."""
        loop = asyncio.get_running_loop()
        budget = self._reconnect_timeout
        deadline = loop.time() + budget
        delay = RETRY_FIRST
        last = "no attempt finished"
        attempt = 0
        while (remaining := deadline - loop.time()) > 0:
            attempt += 1
            try:
                async with asyncio.timeout(min(remaining, ATTEMPT_TIMEOUT)):
                    signaling, identified = await self._resume_once()
            except ArbiterError as exc:
                if exc.code == ErrorCode.SESSION_EXPIRED.value or (
                    _refused(exc) and self._session_over()
                ):
                    # the session reached its lifetime while the socket was down (the
                    # server may have forgotten it already): not a refusal, its end
                    self._on_failed(
                        ConnectionLost("session_expired", code=ErrorCode.SESSION_EXPIRED.value)
                    )
                    return
                if _refused(exc):
                    self._on_failed(
                        ConnectionLost(
                            f"reconnection refused: {exc}",
                            code=exc.code,
                            status_code=exc.status_code,
                        )
                    )
                    return
                last = str(exc)
            except TimeoutError:
                last = "the attempt timed out"
            else:
                self._signaling = signaling
                self._tasks.spawn(self._read_loop(signaling), "signaling")
                self._keep_alive(signaling, identified.idle_timeout)
                self.down = False
                self._up.set()
                self._on_resumed(identified)
                return
            self._log.debug("reconnection attempt %d failed: %s", attempt, last)
            pause = min(delay, deadline - loop.time())
            if pause > 0:
                await asyncio.sleep(pause)
            delay = min(delay * 2, RETRY_MAX)
        self._on_failed(
            ConnectionLost(f"could not reconnect within {budget:g} s (last error: {last})")
        )

    def _session_over(self) -> bool:
        """Whether the session's lifetime is (about) over, by this machine's clock."""
        credential = self.credential
        return credential is not None and time.time() + CLOCK_SLACK >= credential.session_expires_at

    async def _resume_once(self) -> tuple[Signaling, Identified]:
        """One attempt: a new WebSocket, ``resume`` with the refresh credential."""
        own = self.participant_id
        credential = self.credential
        assert credential is not None
        signaling = Signaling(self.signaling_url)
        try:
            await signaling.connect()
            await signaling.send(credential.resume_message())
            while True:
                message = await self._receive(signaling)
                if isinstance(message, Identified):
                    if message.role != "participant" or message.participant_id not in (None, own):
                        raise ProtocolMismatch(
                            f"identified as {message.role} {message.participant_id!r}"
                        )
                    identified = message
                    break
                if isinstance(message, Error) and message.ref in (None, "resume"):
                    raise error_from_code(message.code, message.message)
                if message is not None:
                    self.dispatch(message)
        except BaseException:
            await signaling.close()
            raise
        if (ice := credential.update(identified)) is not None:
            self.ice_servers = list(ice)
        return signaling, identified

    # ------------------------------------------------------------------ closing

    def begin_close(self) -> None:
        """The room is closing: no more reconnection, and :meth:`send` stops waiting."""
        self._closing = True

    async def close(self, *, send_leave: bool) -> None:
        """Say ``leave`` if asked, and close the WebSocket, within :data:`CLOSE_WAIT` s."""
        self._closing = True
        self._up.clear()
        self._stop_keepalive()
        signaling, self._signaling = self._signaling, None
        if signaling is None:
            return
        if send_leave:
            try:
                await asyncio.wait_for(signaling.send(Leave()), CLOSE_WAIT / 2)
            except (ArbiterError, TimeoutError):
                pass
        await signaling.close()


def _refused(exc: ArbiterError) -> bool:
    """Whether a failed reconnection attempt is final (the server said no) or worth retrying."""
    if isinstance(exc, Unauthorized | RoomNotFound | RoomFull | ProtocolMismatch):
        return True
    status = exc.status_code
    return status is not None and 400 <= status < 500 and status not in (408, 429)


def _http_error(url: str, reply: httpx.Response) -> ArbiterError:
    status = reply.status_code
    try:
        error = json.loads(reply.content)["error"]
        body = decode_body(ErrorBody, json.dumps(error))
    except (ValueError, KeyError, TypeError):
        return error_from_code(None, f"POST {url} failed with HTTP {status}", status_code=status)
    return error_from_code(body.code, body.message, status_code=status)
