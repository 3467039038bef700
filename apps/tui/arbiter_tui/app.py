"""The terminal meeting app: one :class:`ArbiterTUI`, bridged to the room by workers."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Coroutine
from typing import Any, ClassVar

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal
from textual.reactive import reactive
from textual.widgets import Footer, Static
from textual.worker import Worker

from arbiter_client import (
    ArbiterError,
    DataReceived,
    Disconnected,
    ErrorReceived,
    ParticipantJoined,
    ParticipantLeft,
    Publish,
    Room,
    TrackSubscribed,
    TrackUnsubscribed,
)

from .media import audio_level
from .messages import (
    AudioLevel,
    ChatReceived,
    ConnectionChanged,
    JoinFailed,
    MuteChanged,
    ParticipantAdded,
    ParticipantRemoved,
    RoomJoined,
    RttMeasured,
    VideoEnded,
    VideoFrame,
)
from .render import Pixels, VideoRows, frame_to_rows
from .widgets import ChatPanel, ParticipantTile, StatusBar

__all__ = ["CHAT_TOPIC", "ArbiterTUI", "grid_columns"]

CHAT_TOPIC = "chat"
"The data topic chat lines travel on (the web SDK uses the same)."

SPEAKING_LEVEL = 0.02
"An RMS level above this counts as speaking."
SPEAKING_HOLD = 0.6
"Seconds someone still counts as speaking after their level drops."
LEVEL_INTERVAL = 0.1
"Seconds between audio level updates per participant."


def grid_columns(count: int, width: int, height: int, caption_rows: int = 3) -> int:
    """How many columns of tiles show ``count`` 4:3 videos largest in ``width`` x
    ``height`` cells (each tile loses ``caption_rows`` to its border and caption)."""
    if count <= 1:
        return 1
    best, best_scale = 1, -1.0
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        tile_w = width / cols - 2
        tile_h = (height / rows - caption_rows) * 2  # half blocks: two pixels a cell
        scale = min(tile_w / 4, tile_h / 3)
        if scale > best_scale + 1e-9:
            best, best_scale = cols, scale
    return best


def _render_frame(frame: av.VideoFrame, cols: int, rows: int) -> VideoRows:
    """Decode-side work for one frame, run in a thread: RGB pixels, scaled, to cells."""
    pixels: Pixels = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
    return frame_to_rows(pixels, cols, rows)


class ArbiterTUI(App[int]):
    """Join an Arbiter room in the terminal: video tiles, levels, chat, mute."""

    CSS_PATH = "app.tcss"
    TITLE = "Arbiter"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "toggle_mic", "Mute mic"),
        Binding("v", "toggle_camera", "Stop/start video"),
        Binding("c", "focus_chat", "Chat"),
        Binding("escape", "leave_chat", "Back", show=False),
        Binding("q", "leave", "Leave"),
    ]

    participant_count: reactive[int] = reactive(0)

    def __init__(
        self,
        url: str,
        *,
        name: str,
        publish: Publish = None,
        fps: float = 10.0,
        join_timeout: float = 20.0,
        video_size: tuple[int, int] = (640, 480),
    ) -> None:
        super().__init__()
        self.url = url
        self.display_name = name
        self.publish = publish
        self.fps = fps
        self.join_timeout = join_timeout
        self.video_size = video_size
        self.room: Room | None = None
        self.tiles: dict[str, ParticipantTile] = {}
        self._media: dict[tuple[str, str], Worker[None]] = {}
        self._mic_on = False
        self._cam_on = False

    # ------------------------------------------------------------------ structure

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Container(id="stage"):
                yield Static("Joining\u2026", id="empty")
                yield Container(id="tiles")
            yield ChatPanel(id="chat")
        yield StatusBar(id="status")
        yield Footer()

    @property
    def grid(self) -> Container:
        """The container of participant tiles."""
        return self.query_one("#tiles", Container)

    @property
    def chat(self) -> ChatPanel:
        """The chat panel."""
        return self.query_one("#chat", ChatPanel)

    @property
    def status(self) -> StatusBar:
        """The status bar."""
        return self.query_one("#status", StatusBar)

    def on_mount(self) -> None:
        self.status.local_name = self.display_name
        self._run_room()

    # ------------------------------------------------------------------ room bridge

    @work(exclusive=True, group="room")
    async def _run_room(self) -> None:
        """Join, then turn every room event into a message for the UI."""
        try:
            room = await Room.join(
                self.url,
                name=self.display_name,
                publish=self.publish,
                video_size=self.video_size,
                timeout=self.join_timeout,
            )
        except (ArbiterError, OSError, ValueError) as exc:
            self.post_message(JoinFailed(str(exc) or type(exc).__name__))
            return
        self.room = room
        local = room.local_participant
        try:
            self.post_message(
                RoomJoined(local.id, local.name, local.audio is not None, local.video is not None)
            )
            async for event in room.events():
                self._on_room_event(room, event)
        finally:
            await asyncio.shield(room.leave())

    def _on_room_event(self, room: Room, event: object) -> None:
        match event:
            case ParticipantJoined(participant=p):
                self.post_message(ParticipantAdded(p.id, p.name))
            case ParticipantLeft(participant=p):
                self._stop_media(p.id)
                self.post_message(ParticipantRemoved(p.id))
            case TrackSubscribed(participant=p, kind="video", track=track):
                self._start_media(p.id, "video", self._pump_video(p.id, track))
            case TrackSubscribed(participant=p, kind="audio", track=track):
                self._start_media(p.id, "audio", self._pump_audio(p.id, track))
            case TrackUnsubscribed(participant=p, kind=kind):
                self._stop_media(p.id, kind)
            case DataReceived(topic=topic, sender=sender, data=str(text)) if topic == CHAT_TOPIC:
                who = room.participants.get(sender) if sender else None
                self.post_message(ChatReceived(who.name if who else (sender or "?"), text))
            case ErrorReceived(code=code, message=message):
                self.notify(f"{code}: {message}", severity="warning")
            case Disconnected(reason=reason):
                self.post_message(ConnectionChanged("disconnected", reason))

    def _start_media(self, pid: str, kind: str, job: Coroutine[Any, Any, None]) -> None:
        self._stop_media(pid, kind)
        self._media[(pid, kind)] = self.run_worker(
            job,
            name=f"{kind}:{pid}",
            group=f"media:{pid}",
        )

    def _stop_media(self, pid: str, kind: str | None = None) -> None:
        for key in [k for k in self._media if k[0] == pid and kind in (None, k[1])]:
            self._media.pop(key).cancel()
            if key[1] == "video":
                self.post_message(VideoEnded(pid))

    async def _pump_video(self, pid: str, track: MediaStreamTrack) -> None:
        """Read every frame (so none queue up), render only the latest, at most at
        ``fps``, in a thread."""
        latest: list[av.VideoFrame] = []
        arrived = asyncio.Event()

        async def read() -> None:
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):
                    latest[:] = [frame]
                    arrived.set()

        reader = asyncio.create_task(read(), name=f"arbiter-tui:read:{pid}")
        interval = 1 / self.fps
        try:
            while not reader.done():
                waiter = asyncio.ensure_future(arrived.wait())
                await asyncio.wait((reader, waiter), return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if not latest:
                    continue
                frame = latest.pop()
                arrived.clear()
                started = time.monotonic()
                tile = self.tiles.get(pid)
                if tile is None or tile.video_muted:
                    continue
                cols, rows = tile.video.size
                if cols > 0 and rows > 0:
                    rendered = await asyncio.to_thread(_render_frame, frame, cols, rows)
                    self.post_message(VideoFrame(pid, rendered))
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, MediaStreamError):
                await reader

    async def _pump_audio(self, pid: str, track: MediaStreamTrack) -> None:
        """Read every audio frame and report the loudest level every 100 ms."""
        loudest = 0.0
        last_sent = time.monotonic()
        last_loud = -math.inf
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            loudest = max(loudest, audio_level(frame.to_ndarray()))
            now = time.monotonic()
            if now - last_sent >= LEVEL_INTERVAL:
                if loudest > SPEAKING_LEVEL:
                    last_loud = now
                self.post_message(AudioLevel(pid, loudest, now - last_loud < SPEAKING_HOLD))
                loudest, last_sent = 0.0, now

    # ------------------------------------------------------------------ UI reactions

    def on_room_joined(self, message: RoomJoined) -> None:
        self._mic_on, self._cam_on = message.has_audio, message.has_video
        self.status.state = "connected"
        self.status.local_name = message.name
        self.status.mic = "on" if message.has_audio else "none"
        self.status.cam = "on" if message.has_video else "none"
        self._update_empty()

    def on_join_failed(self, message: JoinFailed) -> None:
        self.status.state = "failed"
        self.status.reason = message.reason
        self.query_one("#empty", Static).update(
            f"Could not join {self.url}:\n{message.reason}\n\nPress q to quit."
        )

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        self.status.state = message.state
        self.status.reason = message.reason if message.reason != "left" else None

    def on_rtt_measured(self, message: RttMeasured) -> None:
        self.status.rtt_ms = message.rtt_ms

    async def on_participant_added(self, message: ParticipantAdded) -> None:
        tile = self.tiles.get(message.participant_id)
        if tile is not None:
            tile.participant_name = message.name
            return
        tile = ParticipantTile(message.participant_id, message.name)
        self.tiles[message.participant_id] = tile
        await self.grid.mount(tile)
        self.participant_count = len(self.tiles)
        self.chat.note(f"{message.name} joined")

    async def on_participant_removed(self, message: ParticipantRemoved) -> None:
        tile = self.tiles.pop(message.participant_id, None)
        if tile is not None:
            self.chat.note(f"{tile.participant_name} left")
            await tile.remove()
            self.participant_count = len(self.tiles)

    def on_video_frame(self, message: VideoFrame) -> None:
        tile = self.tiles.get(message.participant_id)
        if tile is not None and not tile.video_muted:
            tile.video.show(message.rows)

    def on_video_ended(self, message: VideoEnded) -> None:
        tile = self.tiles.get(message.participant_id)
        if tile is not None:
            tile.video.clear("no video")

    def on_audio_level(self, message: AudioLevel) -> None:
        tile = self.tiles.get(message.participant_id)
        if tile is not None:
            tile.level = message.level
            tile.speaking = message.speaking and not tile.audio_muted

    def on_mute_changed(self, message: MuteChanged) -> None:
        tile = self.tiles.get(message.participant_id)
        if tile is None:
            return
        if message.kind == "audio":
            tile.audio_muted = message.muted
        else:
            tile.video_muted = message.muted

    def on_chat_received(self, message: ChatReceived) -> None:
        self.chat.add(message.name, message.text, own=message.own)

    @on(ChatPanel.Send)
    async def _send_chat(self, message: ChatPanel.Send) -> None:
        room = self.room
        if room is None:
            self.notify("not in the room yet", severity="warning")
            return
        try:
            await room.send(message.text, topic=CHAT_TOPIC)
        except (ArbiterError, ValueError) as exc:
            self.notify(f"chat not sent: {exc}", severity="error")
            return
        self.post_message(ChatReceived(self.display_name, message.text, own=True))

    def watch_participant_count(self) -> None:
        self._update_empty()
        self._layout_grid()

    def on_resize(self) -> None:
        self._layout_grid()

    def _update_empty(self) -> None:
        empty = self.query_one("#empty", Static)
        if self.room is not None:
            empty.update("Nobody else is here yet.")
        empty.display = not self.tiles
        self.grid.display = bool(self.tiles)

    def _layout_grid(self) -> None:
        count = len(self.tiles)
        if count == 0:
            return
        stage = self.query_one("#stage")
        width, height = stage.size
        cols = grid_columns(count, width or self.size.width, height or self.size.height)
        self.grid.styles.grid_size_columns = cols
        self.grid.styles.grid_size_rows = math.ceil(count / cols)

    # ------------------------------------------------------------------ keys

    async def action_toggle_mic(self) -> None:
        self.notify("Muting is not available yet", severity="warning")

    async def action_toggle_camera(self) -> None:
        self.notify("Stopping video is not available yet", severity="warning")

    def action_focus_chat(self) -> None:
        self.query_one("#chat-input").focus()

    def action_leave_chat(self) -> None:
        self.set_focus(None)

    async def action_leave(self) -> None:
        room = self.room
        if room is not None:
            self.status.state = "leaving"
            try:
                await asyncio.wait_for(room.leave(), 5)
            except TimeoutError:
                pass
        self.exit(0)
