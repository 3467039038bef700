"""The :class:`Room`: join, publish, subscribe, exchange data, leave.

A thin facade: the public API and its documentation. What a room is made of (session,
media link, roster, events) and its life are in :mod:`._connection`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Callable, Generator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal

from aiortc import MediaStreamTrack

from arbiter_protocol import (
    CHAT_TOPIC,
    QUALITIES,
    Grant,
    Quality,
    Subscription,
    TrackState,
    encode_message,
    is_valid_id,
)
from arbiter_rtc import IceTransportPolicy

from ._attachment import Attachment
from ._callbacks import Callbacks
from ._connection import RoomConnection, RoomState
from ._data import data_message
from ._events import ConnectionState, EventStream
from ._exceptions import ArbiterError, JoinTimeout, MutedByModerator, NotPublishing, RoomClosed
from ._media import MediaSource
from ._meeting import Meeting
from ._moderator import Moderator
from ._participant import LocalParticipant, RemoteParticipant, TrackKind
from ._player import AudioPlayer
from ._publish import LocalMedia, Publish, make_source
from ._recorder import Recorder
from ._stats import RoomStats

__all__ = ["JoinContext", "Publish", "Room", "RoomState"]


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


class Room(Callbacks, Meeting, Moderator):
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
        token: str | None = None,
    ) -> None:
        """Internal: use :meth:`Room.join`."""
        self._c = RoomConnection(
            url,
            name=name,
            media=LocalMedia(source, owns=owns_source, video=video, audio=audio),
            timeout=timeout,
            reconnect_timeout=reconnect_timeout,
            ice_transport_policy=ice_transport_policy,
            grants=grants,
            grant=token,
        )

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
        token: str | None = None,
        on_waiting: Callable[[], object] | None = None,
        lobby_timeout: float | None = 600.0,
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
        * **token** - a join grant minted by the app's backend (``arbiter_admin``): needed
          for a private room; it decides the identity, name, grants (``moderator``
          included) and metadata (``name`` is then ignored).
        * **on_waiting** - called once if the room puts this client in its lobby; the join
          then waits (up to **lobby_timeout** seconds, ``None``: for ever, not counted in
          ``timeout``) for a moderator to admit it, or raises :class:`AdmissionDenied`.

        **Raises:** ``RoomNotFound``, ``Unauthorized`` (a private room without a grant, an
        expired or altered grant, one for another room), ``RoomFull``, ``JoinTimeout``,
        ``AdmissionDenied``, ``ConnectionLost``, ``ProtocolMismatch``, ``ServerError``,
        ``MediaSourceError`` (all :class:`ArbiterError`); ``ValueError`` for bad arguments.
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
                    token=token,
                    on_waiting=on_waiting,
                    lobby_timeout=lobby_timeout,
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
        token: str | None = None,
        on_waiting: Callable[[], object] | None = None,
        lobby_timeout: float | None = 600.0,
    ) -> Room:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if reconnect_timeout < 0:
            raise ValueError("reconnect_timeout must not be negative")
        source, owns = make_source(publish, name, video, audio, video_size, fps)
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
            token=token,
        )
        loop = asyncio.get_running_loop()
        try:
            try:
                async with asyncio.timeout(timeout) as deadline:

                    def waiting(now_waiting: bool) -> None:
                        # time in the lobby is the lobby's, not the join's
                        if now_waiting:
                            until = None if lobby_timeout is None else loop.time() + lobby_timeout
                            deadline.reschedule(until)
                            if on_waiting is not None:
                                on_waiting()
                        else:
                            deadline.reschedule(loop.time() + timeout)

                    room._c.on_waiting = waiting
                    await room._c.connect()
            except TimeoutError as exc:
                if isinstance(exc, ArbiterError):
                    raise
                if room._c.waiting:
                    raise JoinTimeout(
                        f"no moderator admitted this client to {room._c.url} "
                        f"within {lobby_timeout:g} s"
                    ) from None
                raise JoinTimeout(
                    f"joining {room._c.url} took longer than {timeout:g} s "
                    f"(waiting for {room._c.progress.step})"
                ) from None
        except BaseException as exc:
            room._c.log.debug("join failed: %r", exc)
            await room._c.close("join failed")
            raise
        return room

    # ------------------------------------------------------------------ public API

    @property
    def state(self) -> RoomState:
        """Where the room is in its life (see :class:`RoomState`)."""
        return self._c.state

    @property
    def url(self) -> str:
        """The room URL this room was joined with."""
        return self._c.url

    @property
    def room_id(self) -> str:
        """The room's id, as the server named it."""
        if self._c.room_id is None:
            raise RoomClosed("the room is not joined")
        return self._c.room_id

    @property
    def local_participant(self) -> LocalParticipant:
        """This client: its id, name and published tracks."""
        if self._c.local is None:
            raise RoomClosed("the room is not joined")
        return self._c.local

    @property
    def participant_id(self) -> str:
        """This client's participant id."""
        return self.local_participant.id

    @property
    def participants(self) -> Mapping[str, RemoteParticipant]:
        """The other participants, by id (a live read-only view)."""
        return self._c.roster.view

    def events(self, *, maxsize: int = 256) -> EventStream:
        """A new stream of every event from now on (see :class:`EventStream`).

        Each stream gets every event; several may be open at once. Events that happened
        while no stream was open (such as the ``ParticipantJoined`` and
        ``TrackSubscribed`` of participants present at join) are kept, up to 256, and
        delivered to the next stream opened. The stream ends after :class:`Disconnected`.
        """
        return self._c.hub.stream(maxsize)

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
        producer = self._c.producer("send")
        message = data_message(data, to, topic)
        await producer.send_paced(encode_message(message), self._c.progress)

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
        return self._c.connection_state

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
        self._c.require_connected("change mute state")
        track = self._c.media.track(kind)
        if track is None:
            raise NotPublishing(f"this room publishes no {kind}")
        local = self._c.local
        if enabled and local is not None and kind in local.locked:
            raise MutedByModerator(
                f"a moderator ({local.locked[kind]}) holds your {kind} muted", code="forbidden"
            )
        track.set_muted(not enabled)
        producer = self._c.producer("announce the mute state")
        producer.send(encode_message(TrackState(kind=kind, muted=not enabled)))

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
        switches at a key frame. ``track_id`` limits the choice to one of its tracks
        (:attr:`RemoteTrack.track_id`); then only the flag of that track's kind counts.
        Nothing is renegotiated and no event is emitted: a paused :class:`RemoteTrack`
        gets no frames. The choice is kept for media the participant publishes later and
        sent again to a new SFU after a reconnection; it is forgotten when the participant
        leaves. An unknown participant gets an error from the SFU (logged).

        **Raises:** :class:`RoomClosed` if the room is not connected;
        :class:`ConnectionLost` if the data channel is down; ``ValueError`` for an
        invalid participant or track id, this client's own id or an unknown quality.
        """
        self._c.require_connected("change a subscription")
        if not isinstance(participant_id, str) or not is_valid_id(participant_id):
            raise ValueError(f"not a participant id: {participant_id!r}")
        if participant_id == self._c.roster.local_id:
            raise ValueError("cannot subscribe to your own media")
        if track_id is not None and (not isinstance(track_id, str) or not is_valid_id(track_id)):
            raise ValueError(f"not a track id: {track_id!r}")
        if quality is not None and quality not in QUALITIES:
            raise ValueError(f"quality must be one of {', '.join(QUALITIES)}, not {quality!r}")
        message = Subscription(
            producer_id=participant_id,
            video=bool(video),
            audio=bool(audio),
            track_id=track_id,
            quality=quality,
        )
        producer = self._c.producer("change a subscription")
        self._c.roster.remember(message)
        producer.send(encode_message(message))

    async def publish_track(self, track: MediaStreamTrack) -> MediaStreamTrack | None:
        """Send ``track``'s frames as this client's audio or video from now on.

        Any ``MediaStreamTrack`` works, including a :class:`RemoteTrack` (an echo). No
        renegotiation happens: the room must already publish that kind (``publish="test"``
        publishes both). Returns the previous source, which is not stopped.

        **Raises:** :class:`NotPublishing` if the room publishes no track of that kind.
        """
        self._c.require_connected("publish")
        local = self._c.media.track(track.kind)
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
        self._c.require_connected("publish")
        if self._c.media.video is None:
            raise NotPublishing("this room publishes no video: join with video to publish frames")
        return await self._c.media.publish_frames(frames, fps=fps, format=format)

    async def play_audio(self, device: str = "default") -> AudioPlayer:
        """Play the room's audio (everyone else, mixed) on an ALSA device until stopped.

        ``device`` is an ALSA PCM name (``"default"``, ``"hw:0"``, ``"pulse"``,
        ``"null"``). Raises :class:`DeviceNotFound` if it cannot be opened. Stop with
        ``await player.stop()``; leaving the room stops it too. See :class:`AudioPlayer`.
        """
        self._c.require_connected("play audio")
        player = AudioPlayer(self, device)
        await player.start()
        return player

    def record(
        self, path: str, *, fps: float = 15.0, size: tuple[int, int] = (960, 540)
    ) -> Recorder:
        """Start recording the room's incoming media to ``path`` (e.g. ``"out.mp4"``).

        The video is a grid of every remote participant's latest picture (H.264,
        ``size``, ``fps``); the audio is their mix (AAC, 48 kHz). Stop with
        ``await recorder.stop()``; leaving the room stops it too. See :class:`Recorder`.
        """
        self._c.require_connected("record")
        recorder = Recorder(self, path, fps=fps, size=size)
        recorder.start()
        return recorder

    def attach(self, attachment: Attachment) -> None:
        """Stop ``attachment`` when the room closes (``await attachment.stop()``).

        The public hook for what runs alongside a room: :class:`Recorder`,
        :class:`AudioPlayer` and :class:`RoomView` attach themselves, and so can your own
        helpers (see :class:`Attachment`). Attachments are stopped in the order they
        were attached, before the room's connections close; an error in one is logged.

        **Raises:** :class:`RoomClosed` if the room is closing or closed.
        """
        self._c.attach(attachment)

    def detach(self, attachment: Attachment) -> None:
        """Forget an attachment (a no-op if it is not attached); it is not stopped."""
        if attachment in self._c.attachments:
            self._c.attachments.remove(attachment)

    async def stats(self) -> RoomStats:
        """Numbers for every connection: RTT, bitrates, packet loss, frame rate.

        Bitrates are averaged since the previous call (or since the connection started).
        ``rtt_ms`` of the result is the producer's RTCP round trip when the SFU has sent
        receiver reports, else the round trip of a ping on the signaling WebSocket.
        """
        self._c.require_connected("read stats")
        found = await self._c.link.stats()
        rtt = found[0].rtt_ms if found and found[0].rtt_ms is not None else None
        if rtt is None:
            rtt = await self._c.session.ping()
        return RoomStats(connections=tuple(found), rtt_ms=rtt)

    def _ipython_display_(self) -> None:
        """Show the room as a live grid of participant tiles in Jupyter (``[notebook]`` extra)."""
        from ._notebook import RoomView

        RoomView(self).display()

    async def leave(self) -> None:
        """Leave the room: tell the server, close every connection, end every task.

        Idempotent; after a lost connection it just waits for the cleanup. The event
        streams yield a final :class:`Disconnected` (``reason="left"``) and end.
        """
        await self._c.close("left")

    async def wait_closed(self) -> None:
        """Wait until the room is closed (left, or the connection was lost)."""
        await self._c.wait_closed()

    async def __aenter__(self) -> Room:
        if self._c.state is not RoomState.CONNECTED:
            raise RoomClosed(f"Cannot enter a room that is {self._c.state.value}.")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.leave()

    def __repr__(self) -> str:
        pid = self._c.local.id if self._c.local else None
        return f"<Room url={self._c.url!r} participant={pid!r} state={self._c.state.value}>"
