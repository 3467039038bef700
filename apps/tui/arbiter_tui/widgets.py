"""The app's widgets: participant tiles with video, the shared screen's large tile, the
chat panel and the status bar."""

from __future__ import annotations

import math

from rich.markup import escape
from rich.segment import Segment
from rich.style import Style
from textual import on
from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input, RichLog, Static

from .render import VideoRows

__all__ = [
    "ChatPanel",
    "ParticipantTile",
    "ScreenTile",
    "Stage",
    "StatusBar",
    "VideoTile",
    "VideoView",
    "level_meter",
]

METER_CELLS = 8
_METER_STEPS = " \u258f\u258e\u258d\u258c\u258b\u258a\u2589\u2588"


def level_meter(level: float, cells: int = METER_CELLS, floor_db: float = -60.0) -> str:
    """A horizontal bar of ``cells`` characters for an RMS ``level`` in ``0..1``, on a
    decibel scale from ``floor_db`` (empty) to 0 dB (full), in eighths of a cell."""
    db = 20 * math.log10(level) if level > 0 else floor_db
    fraction = max(0.0, min(1.0, 1 - db / floor_db))
    eighths = round(fraction * cells * 8)
    full, part = divmod(eighths, 8)
    bar = "\u2588" * full + (_METER_STEPS[part] if full < cells else "")
    return bar.ljust(cells)


class Stage(Container):
    """Where the tiles go; tells the app when its size changes so the grid can adapt."""

    class Resized(Message):
        """The stage has a new size."""

    def on_resize(self) -> None:
        self.post_message(self.Resized())


class VideoView(Widget):
    """Shows the latest rendered frame of one participant's video (or a note why not)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: VideoRows | None = None
        self.frames_shown = 0
        self.note = "waiting for video"

    @property
    def rows(self) -> VideoRows | None:
        """The frame on screen, if any."""
        return self._rows

    def show(self, rows: VideoRows) -> None:
        """Put a rendered frame on screen."""
        self._rows = rows
        self.frames_shown += 1
        self.refresh()

    def clear(self, note: str) -> None:
        """Remove the frame and show ``note`` instead."""
        self._rows = None
        self.note = note
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        rows = self._rows
        if rows is not None and y < len(rows.strips):
            return rows.strips[y].crop_extend(0, width, self.rich_style)
        if rows is None and y == self.size.height // 2:
            text = self.note[:width].center(width)
            return Strip([Segment(text, self.rich_style + Style(dim=True))], width)
        return Strip.blank(width, self.rich_style)


class VideoTile(Vertical):
    """A video view with a one-line caption under it (the widgets are kept, not queried:
    messages may still arrive while the app tears down)."""

    def __init__(self, video_id: str, caption_id: str, **kwargs: str | None) -> None:
        super().__init__(**kwargs)
        self._video = VideoView(id=video_id)
        self._caption = Static(id=caption_id)

    def compose(self) -> ComposeResult:
        yield self._video
        yield self._caption

    @property
    def video(self) -> VideoView:
        """The tile's video view."""
        return self._video

    def on_mount(self) -> None:
        self._update_caption()

    def _update_caption(self) -> None:
        """Write the caption (subclasses)."""


class ParticipantTile(VideoTile):
    """One participant: video, then a caption with name, raised hand, mute state, level
    meter and speaking (an active speaker of the SFU's list)."""

    participant_name: reactive[str] = reactive("")
    audio_muted: reactive[bool] = reactive(False)
    video_muted: reactive[bool] = reactive(False)
    level: reactive[float] = reactive(0.0)
    speaking: reactive[bool] = reactive(False)
    hand_raised: reactive[bool] = reactive(False)

    def __init__(self, participant_id: str, name: str) -> None:
        super().__init__("video", "caption", classes="tile")
        self.participant_id = participant_id
        self.set_reactive(ParticipantTile.participant_name, name)

    def _update_caption(self) -> None:
        mic = "[red]mic off[/]" if self.audio_muted else "mic"
        cam = " [red]cam off[/]" if self.video_muted else ""
        speaking = " [b green]speaking[/]" if self.speaking else ""
        hand = " [b yellow]hand raised[/]" if self.hand_raised else ""
        meter = level_meter(0.0 if self.audio_muted else self.level)
        self._caption.update(
            f"[b]{escape(self.participant_name)}[/]{hand}  {mic}{cam} [green]{meter}[/]{speaking}"
        )

    def watch_participant_name(self) -> None:
        if self.is_mounted:
            self._update_caption()

    def watch_hand_raised(self, raised: bool) -> None:
        self.set_class(raised, "hand-raised")
        if self.is_mounted:
            self._update_caption()

    def watch_audio_muted(self) -> None:
        if self.is_mounted:
            self._update_caption()

    def watch_video_muted(self, muted: bool) -> None:
        if self.is_mounted:
            if muted:
                self.video.clear("camera off")
            self._update_caption()

    def watch_level(self) -> None:
        if self.is_mounted:
            self._update_caption()

    def watch_speaking(self, speaking: bool) -> None:
        self.set_class(speaking, "speaking")
        if self.is_mounted:
            self._update_caption()


class ScreenTile(VideoTile):
    """The large tile of a shared screen: its video, then whose screen it is."""

    presenter_id: reactive[str | None] = reactive(None)
    "Whose screen is shown (``None``: nobody shares one; the tile is hidden)."
    presenter_name: reactive[str] = reactive("")
    paused: reactive[bool] = reactive(False)
    "The presenter paused its screen (``track_state`` of ``screen``)."

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("screen-video", "screen-caption", id=id)

    def _update_caption(self) -> None:
        paused = " [red]paused[/]" if self.paused else ""
        self._caption.update(f"[b]{escape(self.presenter_name)}[/] is presenting{paused}")

    def watch_presenter_id(self) -> None:
        if self.is_mounted:
            self.video.clear("waiting for the screen")

    def watch_presenter_name(self) -> None:
        if self.is_mounted:
            self._update_caption()

    def watch_paused(self, paused: bool) -> None:
        if self.is_mounted:
            if paused:
                self.video.clear("screen paused")
            self._update_caption()


class ChatPanel(Vertical):
    """The chat: the conversation so far and a line to type in."""

    class Send(Message):
        """The user submitted ``text`` to send to the room."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self._log = RichLog(id="chat-log", wrap=True, markup=True)

    def compose(self) -> ComposeResult:
        yield self._log
        yield Input(placeholder="Type a message, Enter to send", id="chat-input")

    def add(self, name: str, text: str, *, own: bool = False) -> None:
        """Show a chat line."""
        self.lines.append((name, text))
        colour = "cyan" if own else "yellow"
        self._log.write(f"[b {colour}]{escape(name)}[/]: {escape(text)}")

    def note(self, text: str) -> None:
        """Show a line about the room (joins, leaves, moderation)."""
        self.notes.append(text)
        self._log.write(f"[dim]{escape(text)}[/]")

    @on(Input.Submitted, "#chat-input")
    def _submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.clear()
        if text:
            self.post_message(self.Send(text))


class StatusBar(Static):
    """Connection state, round-trip time and this client's own mic and camera."""

    state: reactive[str] = reactive("joining")
    reason: reactive[str | None] = reactive(None)
    rtt_ms: reactive[float | None] = reactive(None)
    local_name: reactive[str] = reactive("")
    mic: reactive[str] = reactive("-")
    cam: reactive[str] = reactive("-")
    speaker: reactive[str] = reactive("-")
    "Where the room's audio plays (an ALSA device), or ``off`` and why."
    hand_raised: reactive[bool] = reactive(False)
    "This client's own hand (``h``)."

    def render(self) -> str:
        colour = {
            "connected": "green",
            "reconnected": "green",
            "joining": "yellow",
            "connecting": "yellow",
            "reconnecting": "yellow",
            "leaving": "yellow",
        }.get(self.state, "red")
        state = f"[b {colour}]\u25cf {escape(self.state)}[/]"
        if self.reason:
            state += f" ({escape(self.reason)})"
        rtt = "rtt \u2014" if self.rtt_ms is None else f"rtt {self.rtt_ms:.0f} ms"
        you = f"you: [b]{escape(self.local_name)}[/]" if self.local_name else ""
        if self.hand_raised:
            you += " [b yellow]hand raised[/]"
        return (
            f"{state}   {rtt}   {you}   mic {self.mic}   cam {self.cam}   "
            f"speaker {escape(self.speaker)}"
        )
