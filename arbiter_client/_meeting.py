"""What every meeting has, from a client: a shared screen, the active speakers, a new
name or a raised hand, switching devices mid-call.

A base class of :class:`~arbiter_client.Room` (it works on the room's
:class:`~._connection.RoomConnection`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Callable
from typing import TYPE_CHECKING, Any, Literal

from aiortc import MediaStreamTrack

from arbiter_protocol import UpdateParticipant, encode_message

from ._devices import open_device
from ._events import ErrorReceived, ParticipantUpdated
from ._exceptions import ConnectionLost, NotPublishing, error_from_code
from ._follow import FollowedRoom, SpeakerFollower
from ._link import track_state
from ._media import LocalTrack, MediaSource, NumpyVideoTrack
from ._participant import LocalParticipant, RemoteParticipant
from ._screen import ScreenInput, feed_frames, screen_track

if TYPE_CHECKING:
    from ._connection import RoomConnection

__all__ = ["Meeting"]

UPDATE_TIMEOUT = 10.0
"Seconds ``set_name`` / ``set_hand_raised`` wait for the server to confirm."


class Meeting:
    """The meeting half of :class:`~arbiter_client.Room`."""

    _c: RoomConnection

    # ------------------------------------------------------------------ screen

    async def publish_screen(
        self,
        source: ScreenInput,
        *,
        fps: float = 15.0,
        size: tuple[int, int] | None = None,
        format: Literal["rgb24", "bgr24", "gray"] = "rgb24",
    ) -> LocalTrack:
        """Share a screen: a second video track, ``screen``, beside the camera.

        ``source`` is any video source: ``"x11"`` or ``"x11:DISPLAY"`` (an X11 display
        captured with PyAV's ``x11grab``, at ``fps``, ``size`` if given), a file
        (``"file:PATH"`` or a path; played once), a video ``MediaStreamTrack``, a
        :class:`MediaSource` (its video), or an async iterable of numpy images (as
        :meth:`publish_frames` takes, ``format``; the share stops when it ends). The
        others get a :class:`TrackSubscribed` with ``source="screen"``. The producer
        connection is renegotiated (the camera and microphone flow on); sharing again
        while a screen is shared replaces its source without renegotiating. Returns the
        published track (``room.local_participant.screen``).

        **Raises:** :class:`DeviceNotFound` for a display that cannot be captured;
        ``ValueError`` / ``TypeError`` for a source that is not video;
        :class:`RoomClosed` / :class:`ConnectionLost` like :meth:`send`.
        """
        self._c.require_connected("share a screen")
        if not 0 < fps <= 120:
            raise ValueError(f"fps must be in (0, 120], not {fps}")
        frames: AsyncIterable[Any] | None = None
        numpy_track: NumpyVideoTrack | None = None
        if isinstance(source, MediaStreamTrack | MediaSource | str):
            track, close = screen_track(source, fps=fps, size=size)
        elif isinstance(source, AsyncIterable):
            numpy_track = NumpyVideoTrack(format=format)
            track, close, frames = numpy_track, numpy_track.end, source
        else:
            raise TypeError(f"cannot share {type(source).__name__} as a screen")
        media = self._c.media
        shared = media.screen_published
        local = media.share_screen(track, close)
        if not shared:
            await self._c.link.renegotiate(lambda producer: producer.add(local))
        assert self._c.local is not None
        self._c.local._screen = local
        self._c.producer("share a screen").send(encode_message(track_state(local)))
        if frames is not None and numpy_track is not None:
            self._c.tasks.spawn(self._feed(frames, numpy_track, fps), "screen-frames")
        return local

    async def _feed(self, frames: AsyncIterable[Any], track: NumpyVideoTrack, fps: float) -> None:
        await feed_frames(frames, track, fps)
        screen = self._c.media.screen
        if screen is not None and screen.source is track:
            await self.unpublish_screen()

    async def unpublish_screen(self) -> None:
        """Stop sharing the screen: its track leaves the others' connections (they get
        :class:`TrackUnsubscribed`) and its source is closed if the room opened it. A
        no-op when nothing is shared."""
        media = self._c.media
        local = media.screen
        if local is None:
            return
        media.stop_screen()
        if self._c.local is not None:
            self._c.local._screen = None
        await self._c.link.renegotiate(lambda producer: producer.remove(local))

    async def set_screen_enabled(self, enabled: bool) -> None:
        """Pause (``False``: black frames) or resume the shared screen; the others get a
        :class:`TrackMuted` with ``track_id="screen"``. Raises :class:`NotPublishing`
        when no screen is shared."""
        self._c.require_connected("change the screen's state")
        local = self._c.media.screen
        if local is None:
            raise NotPublishing("no screen is shared: publish_screen first")
        local.set_muted(not enabled)
        self._c.producer("announce the screen's state").send(encode_message(track_state(local)))

    # ------------------------------------------------------------------ speakers

    @property
    def active_speakers(self) -> list[RemoteParticipant | LocalParticipant]:
        """Who speaks now, loudest first, as the SFU says from the audio levels in the RTP
        of every microphone (no decoding); this client is listed too when it speaks. An
        :class:`ActiveSpeakersChanged` announces each change (at most 4 a second)."""
        return self._c.roster.speaker_list()

    async def follow_speakers(self, n: int, *, audio: bool = True) -> SpeakerFollower:
        """Receive video only from the ``n`` participants who spoke last (for a bot that
        watches a large room): the others' video is paused at the SFU, so it costs
        nothing. With ``audio=False`` their audio is paused too (the SFU still tells who
        speaks). Returns the :class:`SpeakerFollower`; ``await follower.stop()`` receives
        everyone again (leaving the room stops it)."""
        self._c.require_connected("follow the speakers")
        room: FollowedRoom = self  # type: ignore[assignment]  # the Room is one
        follower = SpeakerFollower(room, n, audio=audio)
        await follower.start()
        return follower

    # ------------------------------------------------------------------ room state

    async def set_name(self, name: str) -> None:
        """Change this client's display name; everyone, late joiners too, sees the new one
        (:class:`ParticipantUpdated`). Returns once the server confirmed it.

        **Raises:** ``ValueError`` for an empty name or one over 64 bytes;
        :class:`RoomClosed` / :class:`ConnectionLost`; :class:`ServerError` if refused.
        """
        name = name.strip()
        if not name:
            raise ValueError("a name cannot be empty")
        UpdateParticipant.from_dict(UpdateParticipant(name=name).to_dict())  # ValueError
        await self._update(UpdateParticipant(name=name), lambda p: p.name == name)

    async def set_hand_raised(self, raised: bool) -> None:
        """Raise (``True``) or lower this client's hand; everyone, late joiners too, sees
        it (:class:`ParticipantUpdated`, ``participant.hand_raised``). Returns once the
        server confirmed it."""
        raised = bool(raised)
        await self._update(UpdateParticipant(hand_raised=raised), lambda p: p.hand_raised == raised)

    async def _update(
        self, message: UpdateParticipant, done: Callable[[LocalParticipant], bool]
    ) -> None:
        self._c.require_connected("update this participant")
        local = self._c.local
        assert local is not None
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_update(event: ParticipantUpdated) -> None:
            if event.participant is local and done(local) and not waiter.done():
                waiter.set_result(None)

        def on_error(event: ErrorReceived) -> None:
            if event.ref == message.action and not waiter.done():
                waiter.set_exception(error_from_code(event.code, event.message))

        hub = self._c.hub
        hub.on("participant_updated", on_update)
        hub.on("error_received", on_error)
        try:
            await self._c.session.send(message)
            if not done(local):
                await asyncio.wait_for(self._c.progress.until(waiter), UPDATE_TIMEOUT)
        except TimeoutError:
            raise ConnectionLost(f"the server did not confirm {message.action}") from None
        finally:
            hub.off("participant_updated", on_update)
            hub.off("error_received", on_error)

    # ------------------------------------------------------------------ devices

    async def switch_camera(self, device: str | MediaStreamTrack) -> None:
        """Send another camera (a device name as :func:`list_devices` gives, e.g.
        ``/dev/video2``, or any video track) from now on, without renegotiating: the
        others' connections stay as they are. A device the room opened before is closed.

        **Raises:** :class:`DeviceNotFound` (the current camera goes on);
        :class:`NotPublishing` if the room publishes no video.
        """
        await self._switch("video", device)

    async def switch_microphone(self, device: str | MediaStreamTrack) -> None:
        """Send another microphone (an ALSA / PulseAudio name, e.g. ``hw:1,0``, or any
        audio track); see :meth:`switch_camera`."""
        await self._switch("audio", device)

    async def _switch(
        self, kind: Literal["audio", "video"], device: str | MediaStreamTrack
    ) -> None:
        self._c.require_connected("switch a device")
        if self._c.media.track(kind) is None:
            raise NotPublishing(f"this room publishes no {kind}: join with a source of it")
        close: Callable[[], None] | None = None
        if isinstance(device, str):
            track, close = await asyncio.to_thread(
                open_device, "camera" if kind == "video" else "microphone", device
            )
        elif device.kind != kind:
            raise ValueError(f"cannot send a {device.kind} track as the {kind}")
        else:
            track = device
        self._c.media.switch(kind, track, close)
