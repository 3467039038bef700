"""The terminal meeting app: one :class:`ArbiterTUI`, bridged to the room by workers."""

from __future__ import annotations

import asyncio
import math
import time
from typing import ClassVar

import av
import numpy as np
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal
from textual.reactive import reactive
from textual.widgets import Footer, Static
from textual.worker import Worker

from arbiter_client import (
    ActiveSpeakersChanged,
    ArbiterError,
    AudioPlayer,
    ChatMessage,
    ConnectionStateChanged,
    DeviceNotFound,
    Disconnected,
    ErrorReceived,
    Event,
    LocalParticipant,
    NotPublishing,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    ParticipantWaiting,
    Publish,
    RemoteTrack,
    Room,
    RoomState,
    TrackMuted,
    TrackSubscribed,
    TrackUnsubscribed,
)
from arbiter_client import ParticipantRemoved as RemovedByModerator
from arbiter_protocol import BY_APP, CHAT_TOPIC

from .messages import (
    AudioLevel,
    ChatReceived,
    ConnectionChanged,
    HandChanged,
    JoinFailed,
    MuteChanged,
    ParticipantAdded,
    ParticipantChanged,
    ParticipantRemoved,
    RoomJoined,
    RttMeasured,
    ScreenEnded,
    ScreenStarted,
    SpeakersChanged,
    VideoEnded,
    VideoFrame,
)
from .render import Pixels, VideoRows, frame_to_rows
from .widgets import ChatPanel, ParticipantTile, ScreenTile, Stage, StatusBar, VideoView

__all__ = ["CHAT_TOPIC", "ArbiterTUI", "grid_columns"]

LEVEL_INTERVAL = 0.1
"Seconds between audio level (meter) updates."
STATS_INTERVAL = 2.0
"Seconds between round-trip time measurements."


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


def _who(by: str | None) -> str:
    """Who did a moderation, for people: the app's backend, or a moderator."""
    return "the app" if by == BY_APP else "a moderator"


def _device_state(published: bool, muted: bool) -> str:
    return "[red]off[/]" if muted else ("on" if published else "none")


def _render_frame(frame: av.VideoFrame, cols: int, rows: int) -> VideoRows:
    """Decode-side work for one frame, run in a thread: RGB pixels, scaled, to cells."""
    pixels: Pixels = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
    return frame_to_rows(pixels, cols, rows)


class ArbiterTUI(App[int]):
    """Join an Arbiter room in the terminal: video tiles, a shared screen large, level
    meters, the SFU's active speakers, raised hands, chat, mute."""

    CSS_PATH = "app.tcss"
    TITLE = "Arbiter"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "toggle_mic", "Mute mic"),
        Binding("v", "toggle_camera", "Stop/start video"),
        Binding("h", "toggle_hand", "Raise/lower hand"),
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
        audio_out: str | None = "default",
        token: str | None = None,
    ) -> None:
        super().__init__()
        self.token = token
        "A join grant minted by the app's backend (a private room), or None."
        self.audio_out = audio_out
        "ALSA device the room's audio plays on (``None``: not played)."
        self.player: AudioPlayer | None = None
        self.url = url
        self.display_name = name
        self.publish = publish
        self.fps = fps
        self.join_timeout = join_timeout
        self.video_size = video_size
        self.room: Room | None = None
        self.tiles: dict[str, ParticipantTile] = {}
        self.screens: dict[str, RemoteTrack] = {}
        "Shared screens by participant id, oldest first: the first one is shown large."
        self._video: dict[str, Worker[None]] = {}
        self._screen_video: Worker[None] | None = None
        # the widgets the room's messages touch are kept, not queried: messages may still
        # arrive while the app tears down
        self.stage = Stage(id="stage")
        "Where the tiles go."
        self.empty = Static("Joining\u2026", id="empty")
        "What the stage says while nobody else is here."
        self.screen_tile = ScreenTile(id="screen")
        "The large tile of the shared screen (hidden while nobody shares one)."
        self.grid = Container(id="tiles")
        "The container of participant tiles."
        self.chat = ChatPanel(id="chat")
        "The chat panel."
        self.status = StatusBar(id="status")
        "The status bar."

    # ------------------------------------------------------------------ structure

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with self.stage:
                yield self.empty
                yield self.screen_tile
                yield self.grid
            yield self.chat
        yield self.status
        yield Footer()

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
                token=self.token,
                on_waiting=lambda: self.post_message(
                    ConnectionChanged("waiting", "in the lobby until a moderator lets you in")
                ),
            )
        except (ArbiterError, OSError, ValueError) as exc:
            self.post_message(JoinFailed(str(exc) or type(exc).__name__))
            return
        self.room = room
        await self._start_speaker(room)
        local = room.local_participant
        try:
            self.post_message(
                RoomJoined(local.id, local.name, local.audio is not None, local.video is not None)
            )
            self.post_message(ConnectionChanged(room.connection_state))
            self._poll_room(room)
            async for event in room.events():
                self._on_room_event(event)
        finally:
            await asyncio.shield(room.leave())

    async def _start_speaker(self, room: Room) -> None:
        """Play the room's audio; without a usable device, say so and go on silently."""
        if self.audio_out is None:
            self.status.speaker = "off"
            return
        try:
            self.player = await room.play_audio(self.audio_out)
        except DeviceNotFound as exc:
            self.status.speaker = "off (no audio device)"
            self.log.warning(str(exc))
            return
        self.status.speaker = self.audio_out

    def _on_room_event(self, event: Event) -> None:
        match event:
            case ParticipantJoined(participant=p):
                self.post_message(ParticipantAdded(p.id, p.name, p.hand_raised))
                for kind, muted in (
                    ("audio", p.audio_muted),
                    ("video", p.video_muted),
                    ("screen", p.screen_muted),
                ):
                    if muted:
                        self.post_message(MuteChanged(p.id, kind, True))
            case ParticipantLeft(participant=p):
                self._stop_video(p.id)
                if self.screens.pop(p.id, None) is not None:
                    self.post_message(ScreenEnded(p.id))
                self.post_message(ParticipantRemoved(p.id))
            case ParticipantUpdated(participant=p):
                self.post_message(ParticipantChanged(p.id, p.name, p.hand_raised))
            case ActiveSpeakersChanged(speakers=speakers):
                self.post_message(SpeakersChanged(tuple(p.id for p in speakers)))
            case TrackSubscribed(participant=p, kind="video", source="screen", track=track):
                self.screens[p.id] = track
                self.post_message(ScreenStarted(p.id))
            case TrackSubscribed(participant=p, kind="video", track=track):
                self._start_video(p.id, track)
            case TrackUnsubscribed(participant=p, kind="video", track=track):
                if track.source == "screen":
                    if self.screens.get(p.id) is track:
                        del self.screens[p.id]
                        self.post_message(ScreenEnded(p.id))
                else:
                    self._stop_video(p.id)
            case TrackMuted(participant=LocalParticipant(), kind=kind, by=by):
                what = "microphone" if kind == "audio" else "camera"
                held = f"held muted by {_who(by)}" if by else "yours again to unmute"
                self.notify(f"your {what} is {held}", severity="warning" if by else "information")
                if self.room is not None:
                    self._show_local(self.room)
            case TrackMuted(participant=p, kind=kind, muted=muted, track_id="screen"):
                self.post_message(MuteChanged(p.id, "screen", muted))
            case TrackMuted(participant=p, kind=kind, muted=muted, by=by):
                self.post_message(MuteChanged(p.id, kind, muted))
                if by:
                    what = "microphone" if kind == "audio" else "camera"
                    self.chat.note(f"{p.name}'s {what} is held muted by {_who(by)}")
            case RemovedByModerator(participant=p, by=by):
                self.chat.note(f"{p.name} was removed by {_who(by)}")
            case ParticipantWaiting(participant=p):
                self.chat.note(f"{p.name} waits in the lobby")
            case Disconnected(reason="removed" | "room_ended" as reason, by=by, message=text):
                what = "You were removed" if reason == "removed" else "The room was ended"
                self.notify(
                    f"{what} by {_who(by)}" + (f": {text}" if text else ""), severity="error"
                )
            case ChatMessage(name=name, text=text):
                self.post_message(ChatReceived(name, text))
            case ConnectionStateChanged(state=state, reason=reason):
                self.post_message(ConnectionChanged(state, reason))
            case ErrorReceived(code=code, message=message):
                self.notify(f"{code}: {message}", severity="warning")
            case _:
                pass

    @work(exclusive=True, group="poll")
    async def _poll_room(self, room: Room) -> None:
        """Audio levels for the meters ten times a second (who speaks comes from the
        SFU's ``active_speakers``), the round-trip time every 2 s."""
        next_stats = 0.0
        while room.state in (RoomState.JOINING, RoomState.CONNECTED):
            for p in list(room.participants.values()):
                self.post_message(AudioLevel(p.id, p.audio_level))
            if time.monotonic() >= next_stats:
                next_stats = time.monotonic() + STATS_INTERVAL
                try:
                    stats = await room.stats()
                except ArbiterError:
                    pass
                else:
                    self.post_message(RttMeasured(stats.rtt_ms))
            await asyncio.sleep(LEVEL_INTERVAL)

    def _start_video(self, pid: str, track: RemoteTrack) -> None:
        self._stop_video(pid)
        self._video[pid] = self.run_worker(
            self._pump_video(pid, track), name=f"video:{pid}", group=f"video:{pid}"
        )

    def _stop_video(self, pid: str) -> None:
        worker = self._video.pop(pid, None)
        if worker is not None:
            worker.cancel()
            self.post_message(VideoEnded(pid))

    def _view(self, pid: str, screen: bool) -> VideoView | None:
        """Where ``pid``'s camera (or shared screen) shows now; ``None`` while it does not
        (no tile, camera off, another presenter's screen, paused)."""
        if screen:
            shown = self.screen_tile
            return shown.video if shown.presenter_id == pid and not shown.paused else None
        tile = self.tiles.get(pid)
        return tile.video if tile is not None and not tile.video_muted else None

    async def _pump_video(self, pid: str, track: RemoteTrack, screen: bool = False) -> None:
        """Render the newest frame (the SDK drops older ones) at most ``fps`` times a
        second, converting and scaling in a thread."""
        interval = 1 / self.fps
        async for frame in track.av_frames(latest=True):
            started = time.monotonic()
            view = self._view(pid, screen)
            if view is None or not isinstance(frame, av.VideoFrame):
                continue
            cols, rows = view.size
            if cols > 0 and rows > 0:
                rendered = await asyncio.to_thread(_render_frame, frame, cols, rows)
                self.post_message(VideoFrame(pid, rendered, screen=screen))
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    def _show_screen(self) -> None:
        """Show the oldest shared screen large (the cameras go to a column beside it), or
        the grid again when nobody shares one."""
        shown = self.screen_tile
        presenter = next(iter(self.screens), None)
        if presenter == shown.presenter_id:
            return
        if self._screen_video is not None:
            self._screen_video.cancel()
            self._screen_video = None
        shown.presenter_id = presenter
        self.stage.set_class(presenter is not None, "presenting")
        if presenter is not None:
            tile = self.tiles.get(presenter)
            shown.presenter_name = tile.participant_name if tile is not None else presenter
            shown.paused = False
            self._screen_video = self.run_worker(
                self._pump_video(presenter, self.screens[presenter], screen=True),
                name=f"screen:{presenter}",
                group="screen",
            )
        self._layout_grid()

    # ------------------------------------------------------------------ UI reactions

    def on_room_joined(self, message: RoomJoined) -> None:
        self.status.local_name = message.name
        self.status.mic = _device_state(message.has_audio, False)
        self.status.cam = _device_state(message.has_video, False)
        self._update_empty()

    def on_join_failed(self, message: JoinFailed) -> None:
        self.status.state = "failed"
        self.status.reason = message.reason
        self.empty.update(f"Could not join {self.url}:\n{message.reason}\n\nPress q to quit.")

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        self.status.state = message.state
        self.status.reason = message.reason if message.reason != "left" else None

    def on_rtt_measured(self, message: RttMeasured) -> None:
        self.status.rtt_ms = message.rtt_ms

    async def on_participant_added(self, message: ParticipantAdded) -> None:
        tile = self.tiles.get(message.participant_id)
        if tile is not None:
            tile.participant_name = message.name
            tile.hand_raised = message.hand_raised
            return
        tile = ParticipantTile(message.participant_id, message.name)
        tile.hand_raised = message.hand_raised
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

    def on_participant_changed(self, message: ParticipantChanged) -> None:
        room = self.room
        if room is not None and message.participant_id == room.participant_id:
            self.status.local_name = message.name
            self.status.hand_raised = message.hand_raised
            return
        tile = self.tiles.get(message.participant_id)
        if tile is None:
            return
        if tile.participant_name != message.name:
            self.chat.note(f"{tile.participant_name} is now {message.name}")
        if message.hand_raised and not tile.hand_raised:
            self.chat.note(f"{message.name} raised a hand")
        tile.participant_name = message.name
        tile.hand_raised = message.hand_raised
        if self.screen_tile.presenter_id == message.participant_id:
            self.screen_tile.presenter_name = message.name

    def on_hand_changed(self, message: HandChanged) -> None:
        self.status.hand_raised = message.raised

    def on_speakers_changed(self, message: SpeakersChanged) -> None:
        speakers = set(message.speakers)
        for pid, tile in self.tiles.items():
            tile.speaking = pid in speakers and not tile.audio_muted

    def on_screen_started(self, message: ScreenStarted) -> None:
        self._show_screen()

    def on_screen_ended(self, message: ScreenEnded) -> None:
        self._show_screen()

    def on_video_frame(self, message: VideoFrame) -> None:
        view = self._view(message.participant_id, message.screen)
        if view is not None:
            view.show(message.rows)

    def on_video_ended(self, message: VideoEnded) -> None:
        tile = self.tiles.get(message.participant_id)
        if tile is not None:
            tile.video.clear("no video")

    def on_audio_level(self, message: AudioLevel) -> None:
        tile = self.tiles.get(message.participant_id)
        if tile is not None:
            tile.level = message.level

    def on_mute_changed(self, message: MuteChanged) -> None:
        if message.kind == "screen":
            if self.screen_tile.presenter_id == message.participant_id:
                self.screen_tile.paused = message.muted
            return
        tile = self.tiles.get(message.participant_id)
        if tile is None:
            return
        if message.kind == "audio":
            tile.audio_muted = message.muted
            if message.muted:
                tile.speaking = False
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
            await room.send_chat(message.text)
        except (ArbiterError, ValueError) as exc:
            self.notify(f"chat not sent: {exc}", severity="error")
            return
        self.post_message(ChatReceived(self.display_name, message.text, own=True))

    def watch_participant_count(self) -> None:
        self._update_empty()
        self._layout_grid()

    def on_stage_resized(self) -> None:
        self._layout_grid()

    def _update_empty(self) -> None:
        empty = self.empty
        if self.room is not None:
            empty.update("Nobody else is here yet.")
        empty.display = not self.tiles
        self.grid.display = bool(self.tiles)

    def _layout_grid(self) -> None:
        count = len(self.tiles)
        if count == 0:
            return
        if self.screen_tile.presenter_id is not None:
            # a screen is shown large: the cameras in one column beside it
            self.grid.styles.grid_size_columns = 1
            self.grid.styles.grid_size_rows = count
            return
        width, height = self.stage.size
        cols = grid_columns(count, width or self.size.width, height or self.size.height)
        self.grid.styles.grid_size_columns = cols
        self.grid.styles.grid_size_rows = math.ceil(count / cols)

    # ------------------------------------------------------------------ keys

    async def action_toggle_mic(self) -> None:
        await self._toggle("audio")

    async def action_toggle_camera(self) -> None:
        await self._toggle("video")

    async def _toggle(self, kind: str) -> None:
        room = self.room
        if room is None or room.state is not RoomState.CONNECTED:
            self.notify("not in the room", severity="warning")
            return
        local = room.local_participant
        muted = local.audio_muted if kind == "audio" else local.video_muted
        try:
            if kind == "audio":
                await room.set_microphone_enabled(muted)
            else:
                await room.set_camera_enabled(muted)
        except NotPublishing:
            what = "microphone" if kind == "audio" else "camera"
            self.notify(f"no {what} is published (see --source)", severity="warning")
            return
        except ArbiterError as exc:
            self.notify(str(exc), severity="error")
            return
        self._show_local(room)

    def _show_local(self, room: Room) -> None:
        local = room.local_participant
        self.status.mic = _device_state(local.audio is not None, local.audio_muted)
        self.status.cam = _device_state(local.video is not None, local.video_muted)
        if "audio" in local.locked:
            self.status.mic = "held by moderator"
        if "video" in local.locked:
            self.status.cam = "held by moderator"

    async def action_toggle_hand(self) -> None:
        room = self.room
        if room is None or room.state is not RoomState.CONNECTED:
            self.notify("not in the room", severity="warning")
            return
        raised = not room.local_participant.hand_raised
        try:
            await room.set_hand_raised(raised)
        except ArbiterError as exc:
            self.notify(str(exc), severity="error")
            return
        self.status.hand_raised = raised

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
