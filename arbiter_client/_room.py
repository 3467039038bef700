"""The :class:`Room`: join, publish, subscribe, exchange data, leave."""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import enum
import inspect
import json
import logging
import uuid
import weakref
from collections.abc import Callable, Generator, Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import Any, Literal, TypeVar, overload

import httpx
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp

from arbiter_protocol import (
    DataMessage,
    Error,
    ErrorBody,
    ErrorCode,
    Handshake,
    IceCandidate,
    Identified,
    Identify,
    JoinRequest,
    JoinResponse,
    Leave,
    Message,
    ParticipantJoined,
    ParticipantLeft,
    ProtocolError,
    SessionDescription,
    SfuReady,
    decode_body,
    encode_body,
    encode_message,
    parse_message,
)

from . import _events as ev
from ._events import Event, EventStream, EventType
from ._exceptions import (
    ArbiterError,
    ConnectionLost,
    JoinTimeout,
    ProtocolMismatch,
    RoomClosed,
    error_from_code,
)
from ._media import FileSource, MediaSource, TestPatternSource
from ._participant import LocalParticipant, RemoteParticipant, TrackKind
from ._signaling import Signaling
from ._tasks import TaskSet

__all__ = ["JoinContext", "Publish", "Room", "RoomState"]

logger = logging.getLogger("arbiter_client")

T = TypeVar("T")
E = TypeVar("E", bound=Event)

Publish = str | MediaSource | None
"""What ``Room.join`` publishes: ``"test"`` (a test pattern and a tone), ``"file:PATH"``
(a file through aiortc's MediaPlayer), a :class:`MediaSource`, or ``None`` (receive only)."""

_DATA_ACTIONS = frozenset({DataMessage.action, Error.action})
_BACKLOG = 256
_HIGH_WATER = 1024 * 1024
_LOW_WATER = 256 * 1024


class RoomState(enum.Enum):
    """Where a :class:`Room` is in its life; it only moves forward."""

    JOINING = "joining"
    "``Room.join`` is in progress."
    CONNECTED = "connected"
    "Joined: the producer connection is up."
    CLOSING = "closing"
    "Leaving, or the connection was lost: connections are being closed."
    CLOSED = "closed"
    "Every connection is closed and every task has ended; the room cannot be reused."


class _Consumer:
    """The peer connection that carries one remote producer's media to this client."""

    def __init__(self, producer_id: str, pc: RTCPeerConnection) -> None:
        self.producer_id = producer_id
        self.pc = pc
        self.lock = asyncio.Lock()
        self.pending: list[IceCandidate] = []
        self.new_tracks: list[MediaStreamTrack] = []
        self.closed = False


class JoinContext:
    """What :meth:`Room.join` returns: await it, or use it with ``async with``.

    ``room = await Room.join(url)`` returns the joined :class:`Room`;
    ``async with Room.join(url) as room:`` joins, and leaves on exit.
    """

    def __init__(self, join: Callable[[], Generator[Any, None, Room]]) -> None:
        self._join = join
        self._room: Room | None = None

    def __await__(self) -> Generator[Any, None, Room]:
        return self._join()

    async def __aenter__(self) -> Room:
        self._room = await self
        return self._room

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._room is not None:
            await self._room.leave()


class Room:
    """A connection to one Arbiter room. Make one with :meth:`Room.join`.

    ```python
    from arbiter_client import Room, TrackSubscribed

    async with Room.join("http://127.0.0.1:8080/rooms/demo", name="bot") as room:
        await room.send("hello")
        async for event in room.events():
            if isinstance(event, TrackSubscribed) and event.kind == "video":
                frame = await event.track.recv()  # av.VideoFrame
    ```

    A room is used once: after :meth:`leave` (or a lost connection) it is ``CLOSED`` and
    a new ``Room.join`` is needed. It works in any running event loop (``asyncio.run``,
    Jupyter); it starts no thread and no loop of its own.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str,
        source: MediaSource | None,
        owns_source: bool,
        video: bool,
        audio: bool,
        timeout: float,
    ) -> None:
        """Internal: use :meth:`Room.join`."""
        loop = asyncio.get_running_loop()
        self._url = url.rstrip("/")
        self._name = name
        self._source = source
        self._owns_source = owns_source
        self._video_track = source.video if source is not None and video else None
        self._audio_track = source.audio if source is not None and audio else None
        self._timeout = timeout
        self._state = RoomState.JOINING
        self._room_id: str | None = None
        self._local: LocalParticipant | None = None
        self._ice_servers: list[RTCIceServer] = []
        self._participants: dict[str, RemoteParticipant] = {}
        self._consumers: dict[str, _Consumer] = {}
        self._producer: RTCPeerConnection | None = None
        self._producer_pending: list[IceCandidate] = []
        self._channel: RTCDataChannel | None = None
        self._signaling: Signaling | None = None
        self._tasks = TaskSet("arbiter-client")
        self._streams: weakref.WeakSet[EventStream] = weakref.WeakSet()
        self._backlog: collections.deque[Event] = collections.deque(maxlen=_BACKLOG)
        self._callbacks: dict[EventType, list[Callable[[Any], object]]] = {}
        self._identified: asyncio.Future[Identified] = loop.create_future()
        self._sfu_ready: asyncio.Future[None] = loop.create_future()
        self._producer_answer: asyncio.Future[SessionDescription] = loop.create_future()
        self._producer_connected: asyncio.Future[None] = loop.create_future()
        self._channel_open: asyncio.Future[None] = loop.create_future()
        self._failure: asyncio.Future[None] = loop.create_future()
        self._failure.add_done_callback(lambda f: f.exception())
        self._buffer_low = asyncio.Event()
        self._close_task: asyncio.Task[None] | None = None
        self._close_reason = "left"
        self._step = "the join request"

    # ------------------------------------------------------------------ joining

    @classmethod
    def join(
        cls,
        url: str,
        *,
        name: str = "guest",
        publish: Publish = "test",
        video: bool = True,
        audio: bool = True,
        video_size: tuple[int, int] = (640, 480),
        fps: float = 15.0,
        timeout: float = 20.0,
    ) -> JoinContext:
        """Join the room at ``url`` (e.g. ``http://127.0.0.1:8080/rooms/demo``).

        ``await Room.join(...)`` returns the :class:`Room` once its producer connection
        (and data channel) is established; ``async with Room.join(...) as room:`` also
        leaves on exit. Cancelling the join, or a failure, closes everything it opened.

        **Parameters:**

        * **name** - the display name others see.
        * **publish** - ``"test"`` (default: a moving test pattern in a colour derived
          from ``name`` and a 440 Hz tone), ``"file:PATH"`` (a file, stream or device read
          by aiortc's MediaPlayer), a :class:`MediaSource`, or ``None`` to publish nothing
          (the producer connection and its data channel are still made, so data works).
        * **video**, **audio** - set to ``False`` to leave out that kind of track.
        * **video_size** - ``(width, height)`` of the test pattern.
        * **fps** - frame rate of the test pattern.
        * **timeout** - seconds for the whole join before :class:`JoinTimeout`.

        **Raises:** :class:`RoomNotFound`, :class:`Unauthorized`, :class:`RoomFull`,
        :class:`JoinTimeout`, :class:`ConnectionLost`, :class:`ProtocolMismatch`,
        :class:`ServerError` (all :class:`ArbiterError`); ``ValueError`` for bad arguments.
        """

        def run() -> Generator[Any, None, Room]:
            return (
                yield from cls._join(
                    url,
                    name=name,
                    publish=publish,
                    video=video,
                    audio=audio,
                    video_size=video_size,
                    fps=fps,
                    timeout=timeout,
                ).__await__()
            )

        return JoinContext(run)

    @classmethod
    async def _join(
        cls,
        url: str,
        *,
        name: str,
        publish: Publish,
        video: bool,
        audio: bool,
        video_size: tuple[int, int],
        fps: float,
        timeout: float,
    ) -> Room:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        source, owns = _make_source(publish, name, video, audio, video_size, fps)
        room = cls(
            url,
            name=name,
            source=source,
            owns_source=owns,
            video=video,
            audio=audio,
            timeout=timeout,
        )
        try:
            try:
                async with asyncio.timeout(timeout):
                    await room._connect()
            except TimeoutError as exc:
                if isinstance(exc, ArbiterError):
                    raise
                raise JoinTimeout(
                    f"joining {room._url} took longer than {timeout:g} s (waiting for {room._step})"
                ) from None
        except BaseException as exc:
            room._log_debug("join failed: %r", exc)
            await room._close("join failed")
            raise
        return room

    async def _connect(self) -> None:
        response = await self._request_join()
        self._room_id = response.room_id
        self._ice_servers = [
            RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
            for s in response.ice_servers
        ]
        self._signaling = Signaling(response.signaling_url)
        self._step = "the signaling WebSocket"
        await self._signaling.connect()
        self._tasks.spawn(self._read_loop(self._signaling), "signaling")
        await self._signaling.send(Identify(token=response.token))
        self._step = "identified"
        identified = await self._until(self._identified)
        self._local = LocalParticipant(
            identified.participant_id or response.participant_id,
            self._name,
            self._video_track,
            self._audio_track,
        )
        if not identified.sfu_ready:
            self._log_debug("waiting for the SFU")
            self._step = "sfu_ready"
            await self._until(self._sfu_ready)
        await self._start_producer()
        self._state = RoomState.CONNECTED
        self._log_debug("joined")

    async def _request_join(self) -> JoinResponse:
        join_url = f"{self._url}/join"
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                reply = await http.post(
                    join_url,
                    content=encode_body(JoinRequest(name=self._name)),
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

    async def _start_producer(self) -> None:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self._ice_servers))
        self._producer = pc
        pc.on("connectionstatechange", lambda: self._on_producer_state(pc))
        channel = pc.createDataChannel("arbiter")
        self._channel = channel
        channel.bufferedAmountLowThreshold = _LOW_WATER
        channel.on("open", lambda: _set(self._channel_open, None))
        channel.on("message", self._on_channel_message)
        channel.on("bufferedamountlow", self._buffer_low.set)
        channel.on("close", lambda: self._on_channel_closed())
        for track in (self._audio_track, self._video_track):
            if track is not None:
                pc.addTransceiver(track, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        await self._send(
            Handshake(
                connection="producer",
                sdp=SessionDescription(type="offer", sdp=pc.localDescription.sdp),
            )
        )
        self._step = "the SFU's answer to the producer offer"
        answer = await self._until(self._producer_answer)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
        pending, self._producer_pending = self._producer_pending, []
        for candidate in pending:
            await _add_candidate(pc, candidate)
        self._step = "the producer connection (ICE/DTLS)"
        await self._until(self._producer_connected)
        self._step = "the data channel to open"
        await self._until(self._channel_open)

    async def _until(self, waited: asyncio.Future[T]) -> T:
        """Wait for ``waited``, unless the room fails first (then raise why)."""
        await asyncio.wait((waited, self._failure), return_when=asyncio.FIRST_COMPLETED)
        if waited.done():
            return waited.result()
        exc = self._failure.exception()
        assert exc is not None
        raise exc

    # ------------------------------------------------------------------ public API

    @property
    def state(self) -> RoomState:
        """Where the room is in its life (see :class:`RoomState`)."""
        return self._state

    @property
    def url(self) -> str:
        """The room URL this room was joined with."""
        return self._url

    @property
    def room_id(self) -> str:
        """The room's id, as the server named it."""
        if self._room_id is None:
            raise RoomClosed("the room is not joined")
        return self._room_id

    @property
    def local_participant(self) -> LocalParticipant:
        """This client: its id, name and published tracks."""
        if self._local is None:
            raise RoomClosed("the room is not joined")
        return self._local

    @property
    def participant_id(self) -> str:
        """This client's participant id."""
        return self.local_participant.id

    @property
    def participants(self) -> Mapping[str, RemoteParticipant]:
        """The other participants, by id (a live read-only view)."""
        return MappingProxyType(self._participants)

    def events(self, *, maxsize: int = 256) -> EventStream:
        """A new stream of every event from now on (see :class:`EventStream`).

        Each stream gets every event; several may be open at once. Events that happened
        while no stream was open (such as the ``ParticipantJoined`` and
        ``TrackSubscribed`` of participants present at join) are kept, up to 256, and
        delivered to the next stream opened. The stream ends after :class:`Disconnected`.
        """
        stream = EventStream(maxsize)
        while self._backlog:
            stream._put(self._backlog.popleft())
        if self._state is RoomState.CLOSED:
            stream._end()
        else:
            self._streams.add(stream)
        return stream

    @overload
    def on(
        self,
        event: Literal["participant_joined"],
        callback: Callable[[ev.ParticipantJoined], object],
    ) -> None: ...
    @overload
    def on(
        self, event: Literal["participant_left"], callback: Callable[[ev.ParticipantLeft], object]
    ) -> None: ...
    @overload
    def on(
        self, event: Literal["track_subscribed"], callback: Callable[[ev.TrackSubscribed], object]
    ) -> None: ...
    @overload
    def on(
        self,
        event: Literal["track_unsubscribed"],
        callback: Callable[[ev.TrackUnsubscribed], object],
    ) -> None: ...
    @overload
    def on(
        self, event: Literal["data_received"], callback: Callable[[ev.DataReceived], object]
    ) -> None: ...
    @overload
    def on(
        self, event: Literal["error_received"], callback: Callable[[ev.ErrorReceived], object]
    ) -> None: ...
    @overload
    def on(
        self, event: Literal["disconnected"], callback: Callable[[ev.Disconnected], object]
    ) -> None: ...
    def on(self, event: EventType, callback: Callable[[Any], object]) -> None:
        """Call ``callback(event)`` for every event of one type, in registration order.

        Event types and the dataclass each callback gets: ``participant_joined``
        (:class:`ParticipantJoined`), ``participant_left`` (:class:`ParticipantLeft`),
        ``track_subscribed`` (:class:`TrackSubscribed`), ``track_unsubscribed``
        (:class:`TrackUnsubscribed`), ``data_received`` (:class:`DataReceived`),
        ``error_received`` (:class:`ErrorReceived`), ``disconnected``
        (:class:`Disconnected`). Callbacks must be plain functions: for async work,
        start a task from the callback. An exception in a callback is logged and ignored.
        """
        if event not in _EVENT_TYPES:
            raise ValueError(f"unknown event type {event!r}")
        if inspect.iscoroutinefunction(callback):
            raise TypeError(
                "Cannot register an async callback with .on(). Use asyncio.create_task "
                "within your synchronous callback, or iterate room.events(), instead."
            )
        self._callbacks.setdefault(event, []).append(callback)

    def off(self, event: EventType, callback: Callable[[Any], object]) -> None:
        """Remove a callback registered with :meth:`on` (a no-op if it is not registered)."""
        callbacks = self._callbacks.get(event, [])
        if callback in callbacks:
            callbacks.remove(callback)

    async def send(
        self,
        data: str | bytes,
        *,
        to: str | Sequence[str] | None = None,
        topic: str | None = None,
    ) -> None:
        """Send ``data`` to everyone else in the room, or only to ``to`` (participant ids).

        Text arrives as ``str`` and bytes as ``bytes`` in the receivers'
        :class:`DataReceived` events; ``topic`` (up to 64 characters) is passed along.
        At most 64 KiB of text (or 48 KiB of bytes) per message. Waits while much data is
        still queued for sending.

        **Raises:** :class:`RoomClosed` if the room is not connected;
        :class:`ConnectionLost` if the data channel is down; ``ValueError`` for a message
        the protocol does not allow (too large, bad ids or topic).
        """
        if self._state is not RoomState.CONNECTED:
            raise RoomClosed(f"cannot send: the room is {self._state.value}")
        channel = self._channel
        if channel is None or channel.readyState != "open":
            raise ConnectionLost("cannot send: the data channel is not open")
        if isinstance(data, bytes | bytearray | memoryview):
            kind: Literal["text", "bytes"] = "bytes"
            payload = base64.b64encode(bytes(data)).decode("ascii")
        elif isinstance(data, str):
            kind, payload = "text", data
        else:
            raise TypeError(f"data must be str or bytes, not {type(data).__name__}")
        recipients = [to] if isinstance(to, str) else (list(to) if to is not None else None)
        message = DataMessage(
            kind=kind, data=payload, id=uuid.uuid4().hex, to=recipients, topic=topic
        )
        DataMessage.from_dict(message.to_dict())  # validate before sending: raises ValueError
        while channel.bufferedAmount > _HIGH_WATER:
            self._buffer_low.clear()
            waiter = asyncio.ensure_future(self._buffer_low.wait())
            try:
                await self._until(waiter)
            finally:
                waiter.cancel()
        channel.send(encode_message(message))

    async def leave(self) -> None:
        """Leave the room: tell the server, close every connection, end every task.

        Idempotent; after a lost connection it just waits for the cleanup. The event
        streams yield a final :class:`Disconnected` (``reason="left"``) and end.
        """
        await self._close("left")

    async def wait_closed(self) -> None:
        """Wait until the room is closed (left, or the connection was lost)."""
        if self._state is RoomState.CLOSED:
            return
        await asyncio.wait((self._failure,))
        if self._close_task is not None:
            await asyncio.shield(self._close_task)

    async def __aenter__(self) -> Room:
        if self._state is not RoomState.CONNECTED:
            raise RoomClosed(f"Cannot enter a room that is {self._state.value}.")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.leave()

    def __repr__(self) -> str:
        pid = self._local.id if self._local else None
        return f"<Room url={self._url!r} participant={pid!r} state={self._state.value}>"

    # ------------------------------------------------------------------ closing

    async def _close(self, reason: str) -> None:
        if self._close_task is None:
            self._close_reason = reason
            self._close_task = asyncio.get_running_loop().create_task(
                self._shutdown(send_leave=reason in ("left", "join failed")),
                name="arbiter-client:close",
            )
        await asyncio.shield(self._close_task)

    def _fail(self, exc: ArbiterError) -> None:
        """Something fatal happened: wake every waiter and, once joined, close the room."""
        _fail_future(self._failure, exc)
        if self._state is RoomState.CONNECTED and self._close_task is None:
            self._log_warning("connection lost: %s", exc)
            self._close_reason = str(exc)
            self._close_task = asyncio.get_running_loop().create_task(
                self._shutdown(send_leave=False), name="arbiter-client:close"
            )

    async def _shutdown(self, *, send_leave: bool) -> None:
        self._state = RoomState.CLOSING
        _fail_future(self._failure, RoomClosed(f"the room is closed ({self._close_reason})"))
        await self._tasks.cancel_all()
        if self._signaling is not None:
            if send_leave:
                try:
                    await asyncio.wait_for(self._signaling.send(Leave()), 1.0)
                except (ArbiterError, TimeoutError):
                    pass
            await self._signaling.close()
        consumers = list(self._consumers.values())
        self._consumers.clear()
        pcs = [c.pc for c in consumers]
        if self._producer is not None:
            pcs.append(self._producer)
        results = await asyncio.gather(*(_close_pc(pc) for pc in pcs), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                self._log_warning("closing a peer connection failed: %r", result)
        if self._source is not None and self._owns_source:
            self._source.close()
        for participant in self._participants.values():
            self._unsubscribe(participant)
        self._state = RoomState.CLOSED
        self._emit(ev.Disconnected(reason=self._close_reason))
        for stream in list(self._streams):
            stream._end()
        self._streams.clear()
        self._log_debug("closed: %s", self._close_reason)

    # ------------------------------------------------------------------ signaling

    async def _read_loop(self, signaling: Signaling) -> None:
        try:
            while True:
                raw = await signaling.receive()
                try:
                    message = parse_message(raw)
                except ProtocolError as exc:
                    if exc.code is ErrorCode.UNSUPPORTED_VERSION:
                        raise ProtocolMismatch(str(exc), code=exc.code.value) from exc
                    self._log_warning("ignoring a bad signaling message: %s", exc)
                    continue
                try:
                    self._dispatch(message)
                except Exception:  # a bug handling one message must not end the room
                    logger.exception("failed to handle %s", message.action)
        except ArbiterError as exc:
            self._fail(exc)

    async def _send(self, message: Message) -> None:
        if self._signaling is None:
            raise ConnectionLost("signaling is not connected")
        await self._signaling.send(message)

    def _dispatch(self, message: Message) -> None:
        self._log_debug("signaling < %s", message.action)
        match message:
            case Identified():
                self._on_identified(message)
            case SfuReady():
                _set(self._sfu_ready, None)
            case Handshake(connection="producer"):
                self._on_producer_handshake(message)
            case Handshake(connection="consumer"):
                self._on_consumer_handshake(message)
            case ParticipantJoined():
                self._on_participant_joined(message.participant.id, message.participant.name)
            case ParticipantLeft():
                self._tasks.spawn(
                    self._remove_participant(message.participant_id, message.reason),
                    f"participant-left:{message.participant_id}",
                )
            case Error():
                self._on_error(message)
            case _:
                self._log_debug("ignoring %s on signaling", message.action)

    def _on_identified(self, message: Identified) -> None:
        if message.role != "participant":
            self._fail(ProtocolMismatch(f"identified with role {message.role!r}"))
            return
        if self._identified.done():
            return
        own = message.participant_id
        for info in message.participants:
            if info.id != own:
                self._on_participant_joined(info.id, info.name)
        if message.sfu_ready:
            _set(self._sfu_ready, None)
        _set(self._identified, message)

    def _on_participant_joined(self, participant_id: str, name: str) -> None:
        if self._local is not None and participant_id == self._local.id:
            return
        participant = self._participants.get(participant_id)
        if participant is not None:
            participant._name = name
            return
        participant = RemoteParticipant(participant_id, name)
        self._participants[participant_id] = participant
        self._emit(ev.ParticipantJoined(participant))

    def _on_error(self, message: Error) -> None:
        exc = error_from_code(message.code, message.message)
        joining = self._state is RoomState.JOINING
        if joining and message.ref in (None, Identify.action, Handshake.action):
            self._fail(exc)
            return
        self._log_warning(
            "server error %s (ref %s): %s", message.code, message.ref, message.message
        )
        self._emit(ev.ErrorReceived(code=message.code, message=message.message, ref=message.ref))

    # ------------------------------------------------------------------ producer

    def _on_producer_handshake(self, message: Handshake) -> None:
        if message.sdp is not None:
            if message.sdp.type != "answer":
                self._log_warning("ignoring a producer %s: the client offers", message.sdp.type)
            elif self._producer_answer.done():
                self._log_warning("ignoring a second producer answer")
            else:
                self._producer_answer.set_result(message.sdp)
        if message.candidate is not None:
            pc = self._producer
            if pc is None or pc.remoteDescription is None:
                self._producer_pending.append(message.candidate)
            else:
                self._tasks.spawn(_add_candidate(pc, message.candidate), "producer-candidate")

    def _on_producer_state(self, pc: RTCPeerConnection) -> None:
        state = pc.connectionState
        self._log_debug("producer connection %s", state)
        if state == "connected":
            _set(self._producer_connected, None)
        elif state in ("failed", "closed") and self._state in (
            RoomState.JOINING,
            RoomState.CONNECTED,
        ):
            self._fail(ConnectionLost(f"producer connection {state}"))

    def _on_channel_closed(self) -> None:
        if self._state in (RoomState.JOINING, RoomState.CONNECTED):
            self._fail(ConnectionLost("data channel closed"))

    def _on_channel_message(self, raw: str | bytes) -> None:
        try:
            message = parse_message(raw, allowed=_DATA_ACTIONS)
        except ProtocolError as exc:
            self._log_warning("ignoring a bad data channel message: %s", exc)
            return
        if isinstance(message, Error):
            self._log_warning("data channel error %s: %s", message.code, message.message)
            self._emit(
                ev.ErrorReceived(code=message.code, message=message.message, ref=message.ref)
            )
            return
        assert isinstance(message, DataMessage)
        data: str | bytes = message.data
        if message.kind == "bytes":
            try:
                data = base64.b64decode(message.data, validate=True)
            except (binascii.Error, ValueError):
                self._log_warning("ignoring a data message with invalid base64")
                return
        self._emit(
            ev.DataReceived(
                sender=message.sender, data=data, topic=message.topic, message_id=message.id
            )
        )

    # ------------------------------------------------------------------ consumers

    def _on_consumer_handshake(self, message: Handshake) -> None:
        producer_id = message.producer_id
        assert producer_id is not None  # the protocol requires it for consumers
        if message.sdp is not None:
            if message.sdp.type != "offer":
                self._log_warning("ignoring a consumer %s: the SFU offers", message.sdp.type)
            else:
                self._tasks.spawn(
                    self._answer_consumer(producer_id, message.sdp),
                    f"consumer:{producer_id}",
                )
        if message.candidate is not None:
            consumer = self._consumers.get(producer_id)
            if consumer is None or consumer.pc.remoteDescription is None:
                if consumer is None:
                    consumer = self._new_consumer(producer_id)
                consumer.pending.append(message.candidate)
            else:
                self._tasks.spawn(
                    _add_candidate(consumer.pc, message.candidate),
                    f"consumer-candidate:{producer_id}",
                )

    def _new_consumer(self, producer_id: str) -> _Consumer:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self._ice_servers))
        consumer = _Consumer(producer_id, pc)
        self._consumers[producer_id] = consumer
        pc.on("track", lambda track: consumer.new_tracks.append(track))
        pc.on("connectionstatechange", lambda: self._on_consumer_state(consumer))
        return consumer

    async def _answer_consumer(self, producer_id: str, offer: SessionDescription) -> None:
        consumer = self._consumers.get(producer_id) or self._new_consumer(producer_id)
        async with consumer.lock:
            if consumer.closed:
                return
            pc = consumer.pc
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type="offer"))
            pending, consumer.pending = consumer.pending, []
            for candidate in pending:
                await _add_candidate(pc, candidate)
            await pc.setLocalDescription(await pc.createAnswer())
            await self._send(
                Handshake(
                    connection="consumer",
                    producer_id=producer_id,
                    sdp=SessionDescription(type="answer", sdp=pc.localDescription.sdp),
                )
            )
            tracks, consumer.new_tracks = consumer.new_tracks, []
        participant = self._participants.get(producer_id)
        if participant is None:
            self._log_debug("consumer for %s before participant_joined", producer_id)
            self._on_participant_joined(producer_id, producer_id)
            participant = self._participants[producer_id]
        for track in tracks:
            kind: TrackKind = "video" if track.kind == "video" else "audio"
            participant._tracks[kind] = track
            self._emit(ev.TrackSubscribed(participant=participant, kind=kind, track=track))

    def _on_consumer_state(self, consumer: _Consumer) -> None:
        state = consumer.pc.connectionState
        self._log_debug("consumer %s connection %s", consumer.producer_id, state)
        if state == "failed" and self._state is RoomState.CONNECTED and not consumer.closed:
            self._tasks.spawn(
                self._drop_consumer(consumer.producer_id), f"consumer-failed:{consumer.producer_id}"
            )

    async def _drop_consumer(self, producer_id: str) -> None:
        consumer = self._consumers.pop(producer_id, None)
        if consumer is not None:
            consumer.closed = True
            async with consumer.lock:
                await _close_pc(consumer.pc)
        participant = self._participants.get(producer_id)
        if participant is not None:
            self._unsubscribe(participant)

    async def _remove_participant(self, participant_id: str, reason: str) -> None:
        await self._drop_consumer(participant_id)
        participant = self._participants.pop(participant_id, None)
        if participant is not None:
            self._emit(ev.ParticipantLeft(participant=participant, reason=reason))

    def _unsubscribe(self, participant: RemoteParticipant) -> None:
        tracks, participant._tracks = participant._tracks, {}
        for kind, track in tracks.items():
            self._emit(ev.TrackUnsubscribed(participant=participant, kind=kind, track=track))

    # ------------------------------------------------------------------ events

    def _emit(self, event: Event) -> None:
        streams = list(self._streams)
        if streams:
            for stream in streams:
                stream._put(event)
        else:
            self._backlog.append(event)
        for callback in list(self._callbacks.get(event.type, ())):
            try:
                callback(event)
            except Exception:
                logger.exception("room callback for %s failed", event.type)

    def _log_debug(self, msg: str, *args: object) -> None:
        logger.debug("room(%s) " + msg, self._ident(), *args)

    def _log_warning(self, msg: str, *args: object) -> None:
        logger.warning("room(%s) " + msg, self._ident(), *args)

    def _ident(self) -> str:
        pid = self._local.id if self._local is not None else "-"
        return f"{self._room_id or self._url} {pid}"


_EVENT_TYPES: frozenset[str] = frozenset(
    cls.type
    for cls in (
        ev.ParticipantJoined,
        ev.ParticipantLeft,
        ev.TrackSubscribed,
        ev.TrackUnsubscribed,
        ev.DataReceived,
        ev.ErrorReceived,
        ev.Disconnected,
    )
)


def _make_source(
    publish: Publish,
    name: str,
    video: bool,
    audio: bool,
    video_size: tuple[int, int],
    fps: float,
) -> tuple[MediaSource | None, bool]:
    """The source to publish and whether the room owns (and so closes) it."""
    if publish is None or not (video or audio):
        return None, False
    if isinstance(publish, MediaSource):
        return publish, False
    if publish == "test":
        return TestPatternSource(name, video=video, audio=audio, size=video_size, fps=fps), True
    if isinstance(publish, str) and publish.startswith("file:"):
        return FileSource(publish.removeprefix("file:")), True
    raise ValueError(f"publish must be 'test', 'file:PATH', a MediaSource or None, not {publish!r}")


def _http_error(url: str, reply: httpx.Response) -> ArbiterError:
    status = reply.status_code
    try:
        error = json.loads(reply.content)["error"]
        body = decode_body(ErrorBody, json.dumps(error))
    except (ValueError, KeyError, TypeError):
        return error_from_code(None, f"POST {url} failed with HTTP {status}", status_code=status)
    return error_from_code(body.code, body.message, status_code=status)


async def _add_candidate(pc: RTCPeerConnection, candidate: IceCandidate) -> None:
    if not candidate.candidate:
        await pc.addIceCandidate(None)  # end of candidates
        return
    line = candidate.candidate.removeprefix("candidate:")
    try:
        ice = candidate_from_sdp(line)
    except (AssertionError, ValueError, IndexError):
        logger.warning("ignoring an unreadable ICE candidate %r", candidate.candidate)
        return
    ice.sdpMid = candidate.sdpMid
    ice.sdpMLineIndex = candidate.sdpMLineIndex
    if ice.sdpMid is None and ice.sdpMLineIndex is None:
        ice.sdpMLineIndex = 0
    try:
        await pc.addIceCandidate(ice)
    except Exception as exc:  # a bad candidate must not break the connection
        logger.warning("ignoring ICE candidate %r: %r", candidate.candidate, exc)


async def _close_pc(pc: RTCPeerConnection) -> None:
    """Close ``pc``, first adopting aiortc's unowned connect task if one is still running.

    aiortc starts ``RTCPeerConnection.__connect`` with a bare ``ensure_future``; closing
    the connection while it runs makes that task fail with nobody to read the error
    ("Task exception was never retrieved"). We read it instead.
    """
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        frame = getattr(coro, "cr_frame", None)
        if (
            not task.done()
            and getattr(coro, "__qualname__", "").endswith("__connect")
            and frame is not None
            and frame.f_locals.get("self") is pc
        ):
            task.add_done_callback(_consume_result)
    await pc.close()


def _consume_result(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.debug("connect task ended with %r", task.exception())


def _set(future: asyncio.Future[T], value: T) -> None:
    if not future.done():
        future.set_result(value)


def _fail_future(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
