"""The :class:`Room`: join, publish, subscribe, exchange data, leave."""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import dataclasses
import enum
import inspect
import json
import logging
import time
import uuid
import weakref
from collections.abc import AsyncIterable, Callable, Generator, Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import Any, Literal, TypeVar, overload

import av
import httpx
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp

from arbiter_protocol import (
    QUALITIES,
    DataMessage,
    Error,
    ErrorBody,
    ErrorCode,
    Grant,
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
    Quality,
    SessionDescription,
    SfuReady,
    Subscription,
    TrackInfo,
    TrackState,
    decode_body,
    encode_body,
    encode_message,
    is_valid_id,
    parse_message,
)

from . import _events as ev
from ._events import ConnectionState, Event, EventStream, EventType
from ._exceptions import (
    ArbiterError,
    ConnectionLost,
    JoinTimeout,
    NotPublishing,
    ProtocolMismatch,
    RoomClosed,
    RoomFull,
    RoomNotFound,
    Unauthorized,
    error_from_code,
)
from ._media import (
    CameraSource,
    FileSource,
    LocalTrack,
    MediaSource,
    NumpyVideoTrack,
    TestPatternSource,
)
from ._participant import LocalParticipant, RemoteParticipant, TrackKind
from ._player import AudioPlayer
from ._recorder import Recorder
from ._signaling import Signaling
from ._stats import ConnectionStats, RoomStats, _Meter, connection_stats
from ._tasks import TaskSet
from ._track import RemoteTrack

__all__ = ["JoinContext", "Publish", "Room", "RoomState"]

logger = logging.getLogger("arbiter_client")

T = TypeVar("T")
IceTransportPolicy = Literal["all", "relay"]
E = TypeVar("E", bound=Event)

Publish = str | MediaSource | None
"""What ``Room.join`` publishes: ``"test"`` (a test pattern and a tone), ``"camera"`` or
``"camera:DEVICE"`` (the local camera and microphone), ``"file:PATH"`` (a file through
aiortc's MediaPlayer), a :class:`MediaSource`, or ``None`` (receive only)."""

CHAT_TOPIC = "chat"
_DATA_ACTIONS = frozenset({DataMessage.action, Error.action, TrackState.action})
_BACKLOG = 256
_HIGH_WATER = 1024 * 1024
_LOW_WATER = 256 * 1024
_RETRY_FIRST = 0.25
"Seconds before the second reconnection attempt; the wait doubles after each failure..."
_RETRY_MAX = 5.0
"... up to this many seconds."
_ATTEMPT_TIMEOUT = 10.0
"Longest one reconnection attempt (join request, WebSocket, identify) may take."


CAMERA = TrackInfo(id="camera", kind="video", source="camera")
"How the producer offer names the published video (whatever feeds it)."
MICROPHONE = TrackInfo(id="microphone", kind="audio", source="microphone")
"How the producer offer names the published audio."


class RoomState(enum.Enum):
    """Where a :class:`Room` is in its life; it only moves forward."""

    JOINING = "joining"
    "``Room.join`` is in progress."
    CONNECTED = "connected"
    "Joined: the producer connection is up (it stays so while reconnecting)."
    CLOSING = "closing"
    "Leaving, or the connection was lost: connections are being closed."
    CLOSED = "closed"
    "Every connection is closed and every task has ended; the room cannot be reused."


class _Section:
    """One media section of the consumer connection: the aiortc track it receives and
    the remote track it currently feeds (the SFU may reuse a section for another track)."""

    def __init__(self, mid: str, received: MediaStreamTrack) -> None:
        self.mid = mid
        self.received = received
        self.info: TrackInfo | None = None
        self.track: RemoteTrack | None = None


class _Consumer:
    """The one peer connection that carries every other participant's tracks to this client.

    The SFU offers it again whenever tracks come or go; each offer says which track each
    media section carries (``Handshake.tracks``).
    """

    def __init__(self, pc: RTCPeerConnection) -> None:
        self.pc = pc
        self.lock = asyncio.Lock()
        self.pending: list[IceCandidate] = []
        self.sections: dict[str, _Section] = {}
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
        reconnect_timeout: float = 30.0,
        ice_transport_policy: IceTransportPolicy = "all",
        grants: Sequence[Grant] | None = None,
    ) -> None:
        """Internal: use :meth:`Room.join`."""
        self._ice_transport_policy = (
            RTCIceTransportPolicy.RELAY
            if ice_transport_policy == "relay"
            else RTCIceTransportPolicy.ALL
        )
        self._grants = list(grants) if grants is not None else None
        loop = asyncio.get_running_loop()
        self._url = url.rstrip("/")
        self._name = name
        self._source = source
        self._owns_source = owns_source
        self._video_track = (
            LocalTrack("video", source.video)
            if source is not None and video and source.video is not None
            else None
        )
        self._audio_track = (
            LocalTrack("audio", source.audio)
            if source is not None and audio and source.audio is not None
            else None
        )
        self._connection_state: ConnectionState = "connecting"
        self._meters: dict[str, _Meter] = {}
        self._track_states: dict[str, dict[TrackKind, bool]] = {}
        self._subscriptions: dict[tuple[str, str | None], Subscription] = {}
        self._recorders: list[Recorder] = []
        self._players: list[AudioPlayer] = []
        self._timeout = timeout
        self._reconnect_timeout = reconnect_timeout
        self._token: str | None = None
        self._signaling_up = asyncio.Event()
        self._signaling_down = False
        self._media_down = False
        self._reconnect_task: asyncio.Task[None] | None = None
        self._media_task: asyncio.Task[None] | None = None
        self._media_deadline: asyncio.Task[None] | None = None
        self._closing_pcs: set[asyncio.Task[None]] = set()
        self._state = RoomState.JOINING
        self._room_id: str | None = None
        self._local: LocalParticipant | None = None
        self._ice_servers: list[RTCIceServer] = []
        self._participants: dict[str, RemoteParticipant] = {}
        self._consumer: _Consumer | None = None
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
        reconnect_timeout: float = 30.0,
        ice_transport_policy: IceTransportPolicy = "all",
        grants: Sequence[Grant] | None = None,
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
        * **reconnect_timeout** - once joined, how many seconds the room keeps trying to
          get back a dropped signaling WebSocket (or to get media going again after a
          failed media connection) before it closes with :class:`Disconnected`; ``0``
          turns reconnection off (a drop closes the room at once).
        * **ice_transport_policy** - ``"relay"`` to send all media through the TURN
          servers of the join response (for networks that block direct UDP, or to test
          TURN); ``"all"`` (default) lets ICE pick.
        * **grants** - ask for fewer permissions than all, e.g. ``["subscribe"]`` to join
          as a viewer; the SFU enforces what the token allows.

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
                    reconnect_timeout=reconnect_timeout,
                    ice_transport_policy=ice_transport_policy,
                    grants=grants,
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
        reconnect_timeout: float = 30.0,
        ice_transport_policy: IceTransportPolicy = "all",
        grants: Sequence[Grant] | None = None,
    ) -> Room:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if reconnect_timeout < 0:
            raise ValueError("reconnect_timeout must not be negative")
        source, owns = _make_source(publish, name, video, audio, video_size, fps)
        room = cls(
            url,
            name=name,
            source=source,
            owns_source=owns,
            video=video,
            audio=audio,
            timeout=timeout,
            reconnect_timeout=reconnect_timeout,
            ice_transport_policy=ice_transport_policy,
            grants=grants,
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
        self._token = response.token
        self._ice_servers = _ice_servers(response)
        self._signaling = Signaling(response.signaling_url)
        self._step = "the signaling WebSocket"
        await self._signaling.connect()
        self._tasks.spawn(self._read_loop(self._signaling), "signaling")
        await self._signaling.send(Identify(token=response.token))
        self._step = "identified"
        identified = await self._until(self._identified)
        self._signaling_up.set()
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
        self._set_connection_state("connected", None)
        self._log_debug("joined")

    def _rtc_configuration(self) -> RTCConfiguration:
        """Always explicit ICE servers: with none, aiortc would add a public STUN server."""
        return RTCConfiguration(
            iceServers=self._ice_servers, iceTransportPolicy=self._ice_transport_policy
        )

    async def _request_join(self, resume_token: str | None = None) -> JoinResponse:
        join_url = f"{self._url}/join"
        request = JoinRequest(name=self._name, resume_token=resume_token, grants=self._grants)
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

    async def _start_producer(self) -> None:
        loop = asyncio.get_running_loop()
        self._producer_answer = loop.create_future()
        self._producer_answer.add_done_callback(_consume_future)
        self._producer_connected = loop.create_future()
        self._channel_open = loop.create_future()
        self._producer_pending = []
        pc = RTCPeerConnection(self._rtc_configuration())
        self._producer = pc
        self._meters["producer"] = _Meter()
        pc.on("connectionstatechange", lambda: self._on_producer_state(pc))
        channel = pc.createDataChannel("arbiter")
        self._channel = channel
        channel.bufferedAmountLowThreshold = _LOW_WATER
        opened = self._channel_open
        channel.on("open", lambda: _set(opened, None))
        channel.on("message", self._on_channel_message)
        channel.on("bufferedamountlow", self._buffer_low.set)
        channel.on("close", lambda: self._on_channel_closed(channel))
        transceivers = [
            (pc.addTransceiver(track, direction="sendonly"), info)
            for track, info in ((self._audio_track, MICROPHONE), (self._video_track, CAMERA))
            if track is not None
        ]
        await pc.setLocalDescription(await pc.createOffer())
        await self._send(
            Handshake(
                connection="producer",
                sdp=SessionDescription(type="offer", sdp=pc.localDescription.sdp),
                tracks=[dataclasses.replace(info, mid=t.mid) for t, info in transceivers],
            )
        )
        self._step = "the SFU's answer to the producer offer"
        connected = self._producer_connected
        answer = await self._until(self._producer_answer)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
        pending, self._producer_pending = self._producer_pending, []
        for candidate in pending:
            await _add_candidate(pc, candidate)
        self._step = "the producer connection (ICE/DTLS)"
        await self._until(connected)
        self._step = "the data channel to open"
        await self._until(opened)

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
    @overload
    def on(
        self, event: Literal["track_muted"], callback: Callable[[ev.TrackMuted], object]
    ) -> None: ...
    @overload
    def on(
        self,
        event: Literal["connection_state_changed"],
        callback: Callable[[ev.ConnectionStateChanged], object],
    ) -> None: ...
    @overload
    def on(
        self, event: Literal["chat_message"], callback: Callable[[ev.ChatMessage], object]
    ) -> None: ...
    def on(self, event: EventType, callback: Callable[[Any], object]) -> None:
        """Call ``callback(event)`` for every event of one type, in registration order.

        Event types and the dataclass each callback gets: ``participant_joined``
        (:class:`ParticipantJoined`), ``participant_left`` (:class:`ParticipantLeft`),
        ``track_subscribed`` (:class:`TrackSubscribed`), ``track_unsubscribed``
        (:class:`TrackUnsubscribed`), ``data_received`` (:class:`DataReceived`),
        ``error_received`` (:class:`ErrorReceived`), ``disconnected``
        (:class:`Disconnected`), ``track_muted`` (:class:`TrackMuted`),
        ``connection_state_changed`` (:class:`ConnectionStateChanged`), ``chat_message``
        (:class:`ChatMessage`). Callbacks must be plain functions: for async work,
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

    async def send_chat(self, text: str) -> None:
        """Send a chat message to everyone: a text message with topic ``chat``.

        The others get a :class:`ChatMessage` event (and the raw :class:`DataReceived`);
        the web SDK reads and writes the same messages. Raises ``ValueError`` for empty text.
        """
        text = text.strip()
        if not text:
            raise ValueError("a chat message cannot be empty")
        await self.send(text, topic=CHAT_TOPIC)

    @property
    def connection_state(self) -> ConnectionState:
        """``connecting``, ``connected``, ``reconnecting``, ``reconnected`` or ``disconnected``.

        Every change is announced with a :class:`ConnectionStateChanged` event.
        """
        return self._connection_state

    async def set_microphone_enabled(self, enabled: bool) -> None:
        """Unmute (``True``) or mute (``False``) the published audio; the others are told.

        While muted, silence is sent in place of the source's audio (the source keeps
        being read, so it does not pile up), and a ``track_state`` message tells the other
        participants, who get a :class:`TrackMuted` event.

        **Raises:** :class:`NotPublishing` if the room publishes no audio;
        :class:`RoomClosed` if the room is not connected.
        """
        await self._set_enabled("audio", enabled)

    async def set_camera_enabled(self, enabled: bool) -> None:
        """Unmute (``True``) or mute (``False``) the published video; the others are told.

        While muted, black frames are sent in place of the source's video. See
        :meth:`set_microphone_enabled`.
        """
        await self._set_enabled("video", enabled)

    async def _set_enabled(self, kind: TrackKind, enabled: bool) -> None:
        self._require_connected("change mute state")
        track = self._audio_track if kind == "audio" else self._video_track
        if track is None:
            raise NotPublishing(f"this room publishes no {kind}")
        track.set_muted(not enabled)
        channel = self._channel
        if channel is None or channel.readyState != "open":
            raise ConnectionLost("cannot announce the mute state: the data channel is not open")
        channel.send(encode_message(TrackState(kind=kind, muted=not enabled)))

    async def set_subscription(
        self,
        participant_id: str,
        *,
        video: bool = True,
        audio: bool = True,
        quality: Quality | None = None,
        track_id: str | None = None,
    ) -> None:
        """Choose what to receive of ``participant_id`` (stream pagination, tile sizes).

        ``video=False`` and/or ``audio=False`` ask the SFU to stop forwarding that media to
        this client; the connection carrying it stays up, so ``True`` again resumes it
        quickly (video within about a second: the SFU asks the sender for a key frame).
        ``quality`` (``"low"``, ``"medium"`` or ``"high"``; ``None`` leaves it as it is,
        ``"high"`` by default) picks the simulcast layer of the participant's video: the
        SFU sends that layer, or a lower one while this client's bandwidth is short, and
        switches at a key frame without renegotiating. ``track_id`` limits the choice to
        one of the participant's tracks (:attr:`RemoteTrack.track_id`); then only the flag
        of that track's kind counts. Nothing is renegotiated and no event is emitted: the
        :class:`RemoteTrack` simply gets no frames while paused. The choice is kept for
        media that participant publishes later and is sent again after a reconnection to
        a new SFU; it is forgotten when the participant leaves. The participant may be
        one that has not joined yet only if the SFU knows it: otherwise the SFU answers
        with an error (logged).

        **Raises:** :class:`RoomClosed` if the room is not connected;
        :class:`ConnectionLost` if the data channel is down; ``ValueError`` for an
        invalid participant or track id, this client's own id or an unknown quality.
        """
        self._require_connected("change a subscription")
        if not isinstance(participant_id, str) or not is_valid_id(participant_id):
            raise ValueError(f"not a participant id: {participant_id!r}")
        if participant_id == self._local_id():
            raise ValueError("cannot subscribe to your own media")
        if track_id is not None and (not isinstance(track_id, str) or not is_valid_id(track_id)):
            raise ValueError(f"not a track id: {track_id!r}")
        if quality is not None and quality not in QUALITIES:
            raise ValueError(f"quality must be one of {', '.join(QUALITIES)}, not {quality!r}")
        key = (participant_id, track_id)
        previous = self._subscriptions.get(key)
        kept = quality if quality is not None else (previous.quality if previous else None)
        message = Subscription(
            producer_id=participant_id,
            video=bool(video),
            audio=bool(audio),
            track_id=track_id,
            quality=quality,
        )
        channel = self._channel
        if channel is None or channel.readyState != "open":
            raise ConnectionLost("cannot change a subscription: the data channel is not open")
        if video and audio and kept in (None, "high"):
            self._subscriptions.pop(key, None)
        else:  # what a new SFU must be told after a reconnection
            self._subscriptions[key] = dataclasses.replace(message, quality=kept)
        channel.send(encode_message(message))

    def _local_id(self) -> str | None:
        return self._local.id if self._local is not None else None

    async def publish_track(self, track: MediaStreamTrack) -> MediaStreamTrack | None:
        """Send ``track``'s frames as this client's audio or video from now on.

        Any ``MediaStreamTrack`` works, including a :class:`RemoteTrack` (an echo). No
        renegotiation happens: the room must already publish that kind (``publish="test"``
        publishes both). Returns the previous source, which is not stopped.

        **Raises:** :class:`NotPublishing` if the room publishes no track of that kind.
        """
        self._require_connected("publish")
        local = self._audio_track if track.kind == "audio" else self._video_track
        if local is None:
            raise NotPublishing(f"this room publishes no {track.kind}: join with a source of it")
        return local.replace_source(track)

    async def publish_frames(
        self,
        frames: AsyncIterable[Any],
        *,
        fps: float = 15.0,
        format: Literal["rgb24", "bgr24", "gray"] = "rgb24",
    ) -> int:
        """Send numpy images as this client's video until ``frames`` is exhausted.

        ```python
        async def gradient():
            for i in range(150):
                yield np.full((240, 320, 3), i, dtype=np.uint8)

        await room.publish_frames(gradient(), fps=30)
        ```

        Each item is an ``(h, w, 3)`` uint8 array (``rgb24``/``bgr24``) or ``(h, w)``
        (``gray``), width and height even. At most ``fps`` images per second are taken
        (the iterator is simply read more slowly); afterwards the previous video source
        is restored. Returns how many images were taken.

        **Raises:** :class:`NotPublishing` if the room publishes no video; ``ValueError``
        for an image of the wrong shape or type.
        """
        if not 0 < fps <= 120:
            raise ValueError(f"fps must be in (0, 120], not {fps}")
        self._require_connected("publish")
        local = self._video_track
        if local is None:
            raise NotPublishing("this room publishes no video: join with video to publish frames")
        track = NumpyVideoTrack(format=format)
        previous = local.replace_source(track)
        loop = asyncio.get_running_loop()
        count = 0
        try:
            start = loop.time()
            async for image in frames:
                track.put(image)
                count += 1
                delay = start + count / fps - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)  # pacing, not synchronisation
                elif delay < -1.0:
                    start = loop.time() - count / fps
        finally:
            track.end()
            if local.source is track:
                local.replace_source(previous)
        return count

    async def play_audio(self, device: str = "default") -> AudioPlayer:
        """Play the room's audio (everyone else, mixed) on an ALSA device until stopped.

        ``device`` is an ALSA PCM name (``"default"``, ``"hw:0"``, ``"pulse"``,
        ``"null"``). Raises :class:`DeviceNotFound` if it cannot be opened. Stop with
        ``await player.stop()``; leaving the room stops it too. See :class:`AudioPlayer`.
        """
        self._require_connected("play audio")
        player = AudioPlayer(self, device)
        await player._start()
        self._players.append(player)
        return player

    def record(
        self, path: str, *, fps: float = 15.0, size: tuple[int, int] = (960, 540)
    ) -> Recorder:
        """Start recording the room's incoming media to ``path`` (e.g. ``"out.mp4"``).

        The video is a grid of every remote participant's latest picture (H.264,
        ``size``, ``fps``); the audio is their mix (AAC, 48 kHz). Stop with
        ``await recorder.stop()``; leaving the room stops it too. See :class:`Recorder`.
        """
        self._require_connected("record")
        recorder = Recorder(self, path, fps=fps, size=size)
        self._recorders.append(recorder)
        recorder._start(self._tasks)
        return recorder

    async def stats(self) -> RoomStats:
        """Numbers for every connection: RTT, bitrates, packet loss, frame rate.

        Bitrates are averaged since the previous call (or since the connection started).
        ``rtt_ms`` of the result is the producer's RTCP round trip when the SFU has sent
        receiver reports, else the round trip of a ping on the signaling WebSocket.
        """
        self._require_connected("read stats")
        found: list[ConnectionStats] = []
        producer = self._producer
        if producer is not None:
            video = self._video_track
            found.append(
                await connection_stats(
                    "producer",
                    producer,
                    self._meters.setdefault("producer", _Meter()),
                    video.fps if video is not None else None,
                )
            )
        consumer = self._consumer
        if consumer is not None:
            rates = [
                fps
                for section in consumer.sections.values()
                if section.track is not None
                and section.track.kind == "video"
                and (fps := section.track.fps) is not None
            ]
            found.append(
                await connection_stats(
                    "consumer",
                    consumer.pc,
                    self._meters.setdefault("consumer", _Meter()),
                    sum(rates) / len(rates) if rates else None,
                )
            )
        rtt = found[0].rtt_ms if found and found[0].rtt_ms is not None else None
        if rtt is None and self._signaling is not None:
            rtt = await self._signaling.ping()
        return RoomStats(connections=tuple(found), rtt_ms=rtt)

    def _require_connected(self, what: str) -> None:
        if self._state is not RoomState.CONNECTED:
            raise RoomClosed(f"cannot {what}: the room is {self._state.value}")

    def _ipython_display_(self) -> None:
        """Show the room as a live grid of participant tiles in Jupyter (``arbiter[notebook]``)."""
        from ._notebook import RoomView

        RoomView(self).display()

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
        await self._tasks.close()
        self._signaling_up.clear()
        if self._signaling is not None:
            if send_leave:
                try:
                    await asyncio.wait_for(self._signaling.send(Leave()), 1.0)
                except (ArbiterError, TimeoutError):
                    pass
            await self._signaling.close()
        consumer, self._consumer = self._consumer, None
        pcs = [consumer.pc] if consumer is not None else []
        if self._producer is not None:
            pcs.append(self._producer)
        results = await asyncio.gather(*(_close_pc(pc) for pc in pcs), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                self._log_warning("closing a peer connection failed: %r", result)
        if self._closing_pcs:  # connections retired while reconnecting
            await asyncio.gather(*self._closing_pcs, return_exceptions=True)
        if self._source is not None and self._owns_source:
            self._source.close()
        for local in (self._video_track, self._audio_track):
            if local is not None:
                local.stop()
        for participant in self._participants.values():
            self._unsubscribe(participant)
        for recorder in list(self._recorders):
            try:
                await recorder.stop()
            except Exception as exc:
                self._log_warning("stopping a recorder failed: %r", exc)
        for player in list(self._players):
            await player.stop()
        self._state = RoomState.CLOSED
        self._set_connection_state("disconnected", self._close_reason)
        self._emit(ev.Disconnected(reason=self._close_reason))
        for stream in list(self._streams):
            stream._end()
        self._streams.clear()
        self._log_debug("closed: %s", self._close_reason)

    # ------------------------------------------------------------------ reconnection

    def _on_signaling_lost(self, signaling: Signaling, exc: ArbiterError) -> None:
        """``signaling`` dropped: reconnect if the room is joined, else fail."""
        if signaling is not self._signaling:
            return  # an old connection, already replaced
        if (
            self._state is not RoomState.CONNECTED
            or self._close_task is not None
            or self._reconnect_timeout <= 0
        ):
            self._fail(exc)
            return
        self._log_warning("signaling lost (%s): reconnecting", exc)
        self._signaling = None
        self._signaling_up.clear()
        self._signaling_down = True
        self._tasks.spawn(signaling.close(), "signaling-close")
        self._set_connection_state("reconnecting", str(exc))
        self._reconnect_task = self._tasks.spawn(self._reconnect(), "reconnect")

    async def _reconnect(self) -> None:
        """Get signaling back as the same participant, with backoff, within the budget."""
        loop = asyncio.get_running_loop()
        budget = self._reconnect_timeout
        deadline = loop.time() + budget
        delay = _RETRY_FIRST
        last = "no attempt finished"
        attempt = 0
        while (remaining := deadline - loop.time()) > 0:
            attempt += 1
            try:
                async with asyncio.timeout(min(remaining, _ATTEMPT_TIMEOUT)):
                    signaling, identified = await self._resume_once()
            except ArbiterError as exc:
                if _refused(exc):
                    self._fail(
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
                self._resumed(signaling, identified)
                return
            self._log_debug("reconnection attempt %d failed: %s", attempt, last)
            pause = min(delay, deadline - loop.time())
            if pause > 0:
                await asyncio.sleep(pause)
            delay = min(delay * 2, _RETRY_MAX)
        self._fail(ConnectionLost(f"could not reconnect within {budget:g} s (last error: {last})"))

    async def _resume_once(self) -> tuple[Signaling, Identified]:
        """One attempt: ``POST /join`` with ``resume_token``, open the WebSocket, identify."""
        response = await self._request_join(resume_token=self._token)
        local = self.local_participant
        if response.participant_id != local.id:
            raise ProtocolMismatch(
                f"the server resumed us as {response.participant_id!r}, not {local.id!r}"
            )
        signaling = Signaling(response.signaling_url)
        try:
            await signaling.connect()
            await signaling.send(Identify(token=response.token))
            while True:
                try:
                    message = parse_message(await signaling.receive())
                except ProtocolError as exc:
                    if exc.code is ErrorCode.UNSUPPORTED_VERSION:
                        raise ProtocolMismatch(str(exc), code=exc.code.value) from exc
                    self._log_warning("ignoring a bad signaling message: %s", exc)
                    continue
                if isinstance(message, Identified):
                    if message.role != "participant" or message.participant_id not in (
                        None,
                        local.id,
                    ):
                        raise ProtocolMismatch(
                            f"identified as {message.role} {message.participant_id!r}"
                        )
                    break
                if isinstance(message, Error) and message.ref in (None, Identify.action):
                    raise error_from_code(message.code, message.message)
                self._dispatch(message)
        except BaseException:
            await signaling.close()
            raise
        self._token = response.token
        self._ice_servers = _ice_servers(response)
        return signaling, message

    def _resumed(self, signaling: Signaling, identified: Identified) -> None:
        """Signaling is back: use it, catch up on who is here, and check the media."""
        self._signaling = signaling
        self._tasks.spawn(self._read_loop(signaling), "signaling")
        self._signaling_down = False
        self._signaling_up.set()
        present = {p.id: p.name for p in identified.participants if p.id != self.participant_id}
        for participant_id in list(self._participants):
            if participant_id not in present:  # left while we were away
                self._tasks.spawn(
                    self._remove_participant(participant_id, "left"),
                    f"participant-left:{participant_id}",
                )
        for participant_id, name in present.items():
            self._on_participant_joined(participant_id, name)
        self._log_debug(
            "signaling back (resumed=%s, sfu_ready=%s)", identified.resumed, identified.sfu_ready
        )
        if not identified.sfu_ready:
            self._media_lost("the room's SFU is not ready")  # its sfu_ready restarts the media
        elif not identified.resumed:  # the server dropped us meanwhile: set media up again
            self._restart_media("rejoined as a new session")
        self._maybe_reconnected()

    def _maybe_reconnected(self) -> None:
        if self._state is RoomState.CONNECTED and not (self._signaling_down or self._media_down):
            self._set_connection_state("reconnected", None)

    def _on_sfu_ready(self) -> None:
        if self._state is RoomState.JOINING:
            _set(self._sfu_ready, None)
        elif self._state is RoomState.CONNECTED:
            self._restart_media("the room has a new SFU")

    def _media_lost(self, reason: str) -> None:
        """Media is down (e.g. the SFU went away): report it, and wait for a new SFU."""
        if self._media_down:
            return
        self._log_warning("media down: %s", reason)
        self._media_down = True
        self._set_connection_state("reconnecting", reason)
        if self._media_deadline is None or self._media_deadline.done():
            self._media_deadline = self._tasks.spawn(self._media_timeout(reason), "media-deadline")

    async def _media_timeout(self, reason: str) -> None:
        budget = self._reconnect_timeout or self._timeout
        await asyncio.sleep(budget)
        self._fail(ConnectionLost(f"media not restored within {budget:g} s ({reason})"))

    def _restart_media(self, reason: str) -> None:
        """Drop every peer connection now and set up a new producer (new SFU or session).

        The detaching is synchronous, so that consumer offers from the new SFU that
        follow in the same signaling stream already find the old consumers gone.
        """
        self._log_debug("restarting media: %s", reason)
        self._media_down = False  # _media_lost below restarts the deadline
        self._media_lost(reason)
        if self._media_task is not None:
            self._media_task.cancel()
        pcs = []
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            consumer.closed = True
            pcs.append(consumer.pc)
        for participant in self._participants.values():
            self._unsubscribe(participant)
        if self._producer is not None:
            for sender in self._producer.getSenders():
                # aiortc's sender stops its track when it exits: keep ours for the new one
                sender.replaceTrack(None)
            pcs.append(self._producer)
        self._producer = None
        self._channel = None
        self._meters.clear()
        self._retire(pcs)
        self._media_task = self._tasks.spawn(self._republish(), "media-restart")

    async def _republish(self) -> None:
        try:
            await self._start_producer()
        except ArbiterError as exc:
            if exc.code == ErrorCode.SFU_UNAVAILABLE.value:
                self._log_debug("the SFU went away again; waiting for sfu_ready")
                return  # the deadline is still running
            self._fail(ConnectionLost(f"restarting media failed: {exc}"))
            return
        kinds: tuple[tuple[TrackKind, LocalTrack | None], ...] = (
            ("audio", self._audio_track),
            ("video", self._video_track),
        )
        for kind, local in kinds:  # the SFU repeats mute state to others: tell the new one
            if local is not None and local.muted and self._channel is not None:
                self._channel.send(encode_message(TrackState(kind=kind, muted=True)))
        for subscription in self._subscriptions.values():  # the new SFU knows none of them
            if self._channel is not None:
                self._channel.send(encode_message(subscription))
        if self._media_deadline is not None:
            self._media_deadline.cancel()
            self._media_deadline = None
        self._media_down = False
        self._log_debug("media restarted")
        self._maybe_reconnected()

    def _retire(self, pcs: list[RTCPeerConnection]) -> None:
        """Close ``pcs`` in the background; the room's shutdown waits for it (no cancel)."""
        if not pcs:
            return
        task = asyncio.get_running_loop().create_task(
            self._close_pcs(pcs), name="arbiter-client:retire"
        )
        self._closing_pcs.add(task)
        task.add_done_callback(self._closing_pcs.discard)

    async def _close_pcs(self, pcs: list[RTCPeerConnection]) -> None:
        results = await asyncio.gather(*(_close_pc(pc) for pc in pcs), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                self._log_warning("closing a peer connection failed: %r", result)

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
        except ConnectionLost as exc:
            self._on_signaling_lost(signaling, exc)
        except ArbiterError as exc:
            self._fail(exc)

    async def _send(self, message: Message) -> None:
        """Send on signaling; while it is reconnecting, wait for it and send then."""
        while True:
            signaling = self._signaling
            if signaling is None:
                if not self._signaling_down or self._close_task is not None:
                    raise ConnectionLost("signaling is not connected")
                waiter = asyncio.ensure_future(self._signaling_up.wait())
                try:
                    await self._until(waiter)
                finally:
                    waiter.cancel()
                continue
            try:
                await signaling.send(message)
                return
            except ConnectionLost as exc:
                self._on_signaling_lost(signaling, exc)
                if self._signaling is signaling or not self._signaling_down:
                    raise

    def _dispatch(self, message: Message) -> None:
        self._log_debug("signaling < %s", message.action)
        match message:
            case Identified():
                self._on_identified(message)
            case SfuReady():
                self._on_sfu_ready()
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
        participant._muted.update(self._track_states.pop(participant_id, {}))
        self._participants[participant_id] = participant
        self._emit(ev.ParticipantJoined(participant))

    def _on_error(self, message: Error) -> None:
        exc = error_from_code(message.code, message.message)
        joining = self._state is RoomState.JOINING
        if joining and message.ref in (None, Identify.action, Handshake.action):
            self._fail(exc)
            return
        if (
            message.ref == Handshake.action
            and message.code == ErrorCode.SFU_UNAVAILABLE.value
            and self._media_down
        ):
            _fail_future(self._producer_answer, exc)  # a restart's offer found no SFU
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
        if pc is not self._producer:
            return  # a retired connection
        if state == "connected":
            _set(self._producer_connected, None)
        elif state in ("failed", "closed"):
            self._on_media_failure(f"producer connection {state}")

    def _on_channel_closed(self, channel: RTCDataChannel) -> None:
        if channel is self._channel:
            self._on_media_failure("data channel closed")

    def _on_media_failure(self, reason: str) -> None:
        if self._state is RoomState.JOINING or (
            self._state is RoomState.CONNECTED and self._reconnect_timeout <= 0
        ):
            self._fail(ConnectionLost(reason))
        elif self._state is RoomState.CONNECTED:
            self._media_lost(reason)  # the SFU may be gone: its successor restarts media

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
        if isinstance(message, TrackState):
            self._on_track_state(message)
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
        if message.topic == CHAT_TOPIC and isinstance(data, str):
            sender = self._participants.get(message.sender or "")
            name = sender.name if sender is not None else (message.sender or "unknown")
            self._emit(
                ev.ChatMessage(
                    sender=message.sender,
                    name=name,
                    text=data,
                    timestamp=time.time(),
                    message_id=message.id,
                )
            )

    def _on_track_state(self, message: TrackState) -> None:
        if message.sender is None:
            self._log_warning("ignoring a track_state without sender")
            return
        participant = self._participants.get(message.sender)
        if participant is None:  # the data channel overtook participant_joined
            self._track_states.setdefault(message.sender, {})[message.kind] = message.muted
            return
        if participant._muted[message.kind] == message.muted:
            return
        participant._muted[message.kind] = message.muted
        self._emit(ev.TrackMuted(participant=participant, kind=message.kind, muted=message.muted))

    # ------------------------------------------------------------------ consumers

    def _on_consumer_handshake(self, message: Handshake) -> None:
        if message.sdp is not None:
            if message.sdp.type != "offer":
                self._log_warning("ignoring a consumer %s: the SFU offers", message.sdp.type)
            else:
                self._tasks.spawn(
                    self._answer_consumer(message.sdp, message.tracks or []), "consumer-offer"
                )
        if message.candidate is not None:
            consumer = self._consumer
            if consumer is None or consumer.pc.remoteDescription is None:
                if consumer is None:
                    consumer = self._new_consumer()
                consumer.pending.append(message.candidate)
            else:
                self._tasks.spawn(
                    _add_candidate(consumer.pc, message.candidate), "consumer-candidate"
                )

    def _new_consumer(self) -> _Consumer:
        # max-bundle: with aiortc's default (balanced) policy, the second media section of
        # a kind offered at once stays on a transport that BUNDLE then drops
        configuration = RTCConfiguration(
            iceServers=self._ice_servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
        )
        pc = RTCPeerConnection(configuration)
        consumer = _Consumer(pc)
        self._meters["consumer"] = _Meter()
        self._consumer = consumer
        pc.on("connectionstatechange", lambda: self._on_consumer_state(consumer))
        return consumer

    async def _answer_consumer(self, offer: SessionDescription, tracks: list[TrackInfo]) -> None:
        consumer = self._consumer or self._new_consumer()
        async with consumer.lock:
            if consumer.closed:
                return
            pc = consumer.pc
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type="offer"))
            pending, consumer.pending = consumer.pending, []
            for candidate in pending:
                await _add_candidate(pc, candidate)
            await pc.setLocalDescription(await pc.createAnswer())
            for transceiver in pc.getTransceivers():
                mid, received = transceiver.mid, transceiver.receiver.track
                if mid is not None and received is not None and mid not in consumer.sections:
                    section = consumer.sections[mid] = _Section(mid, received)
                    self._tasks.spawn(self._pump(consumer, section), f"consumer-section:{mid}")
            # before the answer goes out: media the SFU sends once it has the answer must
            # find each section's new owner
            self._assign(consumer, {t.mid: t for t in tracks if t.mid and t.participant_id})
            await self._send(
                Handshake(
                    connection="consumer",
                    sdp=SessionDescription(type="answer", sdp=pc.localDescription.sdp),
                )
            )

    def _assign(self, consumer: _Consumer, carried: dict[str | None, TrackInfo]) -> None:
        """Give each media section the track the latest offer says it carries."""
        for mid, section in consumer.sections.items():
            info = carried.get(mid)
            old = section.info
            if (
                old is not None
                and info is not None
                and (old.participant_id, old.id)
                == (
                    info.participant_id,
                    info.id,
                )
            ):
                continue
            if section.track is not None:
                self._end_track(section.track)
                section.track = None
            section.info = info
            if info is None or info.participant_id is None:
                continue
            participant_id = info.participant_id
            participant = self._participants.get(participant_id)
            if participant is None:
                self._log_debug("a track of %s before participant_joined", participant_id)
                self._on_participant_joined(participant_id, participant_id)
                participant = self._participants[participant_id]
            kind: TrackKind = "video" if section.received.kind == "video" else "audio"
            track = RemoteTrack(
                section.received, participant_id, kind, track_id=info.id, source=info.source
            )
            section.track = track
            old_track = participant._tracks.get(info.id)
            if old_track is not None:
                self._end_track(old_track)
            participant._tracks[info.id] = track
            self._emit(ev.TrackSubscribed(participant=participant, kind=kind, track=track))

    async def _pump(self, consumer: _Consumer, section: _Section) -> None:
        """Read one section's aiortc track for good and feed whichever track it carries.

        aiortc queues decoded frames without bound until read, so every section is read
        from the start, also while it carries nothing.
        """
        try:
            while True:
                frame = await section.received.recv()
                track = section.track
                if track is not None and isinstance(frame, (av.VideoFrame, av.AudioFrame)):
                    track._on_frame(frame)
        except MediaStreamError:
            pass
        finally:
            if section.track is not None and consumer.sections.get(section.mid) is section:
                self._end_track(section.track)
                section.track = None

    def _end_track(self, track: RemoteTrack) -> None:
        """``track`` is no longer received: take it off its participant and say so."""
        if track.ended:
            return
        track._finish()
        participant = self._participants.get(track.participant_id)
        if participant is not None and participant._tracks.get(track.track_id) is track:
            del participant._tracks[track.track_id]
            kind: TrackKind = "video" if track.kind == "video" else "audio"
            self._emit(ev.TrackUnsubscribed(participant=participant, kind=kind, track=track))

    def _on_consumer_state(self, consumer: _Consumer) -> None:
        state = consumer.pc.connectionState
        self._log_debug("consumer connection %s", state)
        if state == "failed" and self._state is RoomState.CONNECTED and not consumer.closed:
            self._tasks.spawn(self._drop_consumer(consumer), "consumer-failed")

    async def _drop_consumer(self, consumer: _Consumer) -> None:
        """Close the consumer connection (if it is still the current one)."""
        if self._consumer is not consumer:
            return
        self._consumer = None
        consumer.closed = True
        for section in consumer.sections.values():
            if section.track is not None:
                self._end_track(section.track)
                section.track = None
        async with consumer.lock:
            await _close_pc(consumer.pc)

    async def _remove_participant(self, participant_id: str, reason: str) -> None:
        for key in [k for k in self._subscriptions if k[0] == participant_id]:
            del self._subscriptions[key]
        participant = self._participants.get(participant_id)
        if participant is not None:
            self._unsubscribe(participant)
            consumer = self._consumer
            for section in consumer.sections.values() if consumer is not None else ():
                if section.info is not None and section.info.participant_id == participant_id:
                    section.track = None  # the SFU makes the section inactive (or reuses it)
        participant = self._participants.pop(participant_id, None)
        if participant is not None:
            self._emit(ev.ParticipantLeft(participant=participant, reason=reason))

    def _unsubscribe(self, participant: RemoteParticipant) -> None:
        for track in list(participant._tracks.values()):
            self._end_track(track)

    # ------------------------------------------------------------------ events

    def _set_connection_state(self, state: ConnectionState, reason: str | None) -> None:
        if state == self._connection_state:
            return
        self._log_debug("connection state %s -> %s", self._connection_state, state)
        self._connection_state = state
        self._emit(ev.ConnectionStateChanged(state=state, reason=reason))

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
        ev.TrackMuted,
        ev.ConnectionStateChanged,
        ev.ChatMessage,
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
    if publish == "camera" or (isinstance(publish, str) and publish.startswith("camera:")):
        device = publish.removeprefix("camera").removeprefix(":")
        return (
            CameraSource(
                device if video else None,
                "" if audio else None,
                size=video_size,
                fps=fps,
            ),
            True,
        )
    raise ValueError(
        "publish must be 'test', 'camera', 'camera:DEVICE', 'file:PATH', a MediaSource "
        f"or None, not {publish!r}"
    )


def _ice_servers(response: JoinResponse) -> list[RTCIceServer]:
    return [
        RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
        for s in response.ice_servers
    ]


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


def _consume_future(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # read, so an unawaited failure is not reported as lost


def _set(future: asyncio.Future[T], value: T) -> None:
    if not future.done():
        future.set_result(value)


def _fail_future(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
