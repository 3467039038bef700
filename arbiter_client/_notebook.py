"""Jupyter: a live view of a room (``arbiter-video[notebook]``, built on ipywidgets).

In a notebook, a cell that ends with ``room`` shows a grid of tiles, one per remote
participant (name, mute and speaking state, and the latest picture as JPEG), updated
while the call runs. The view attaches to the room (``room.attach``) and stops when it
closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
from typing import TYPE_CHECKING, Any

import av

from arbiter_rtc import TaskSet

if TYPE_CHECKING:
    from ._attachment import RoomHandle
    from ._participant import RemoteParticipant

__all__ = ["RoomView", "jpeg"]

_INSTALL = "the notebook view needs ipywidgets: pip install 'arbiter-video[notebook]'"


def _widgets() -> Any:
    try:
        import ipywidgets  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_INSTALL) from exc
    return ipywidgets


def jpeg(frame: av.VideoFrame, width: int, quality: int = 5) -> bytes:
    """``frame`` scaled to ``width`` pixels wide (even height) as JPEG bytes."""
    width -= width % 2
    height = max(2, round(frame.height * width / frame.width / 2) * 2)
    context = av.CodecContext.create("mjpeg", "w")
    context.width, context.height = width, height
    context.pix_fmt = "yuvj420p"
    context.time_base = fractions.Fraction(1, 30)
    context.options = {"qscale": str(quality)}
    scaled = frame.reformat(width=width, height=height, format="yuvj420p")
    packets = context.encode(scaled) + context.encode(None)
    return b"".join(bytes(p) for p in packets)


class _Tile:
    def __init__(self, participant: RemoteParticipant, width: int) -> None:
        widgets = _widgets()
        self.participant = participant
        self.image = widgets.Image(format="jpeg", width=width)
        self.label = widgets.HTML()
        self.box = widgets.VBox(
            [self.image, self.label],
            layout=widgets.Layout(border="1px solid #888", padding="2px", margin="2px"),
        )
        self.task: asyncio.Task[None] | None = None
        self.track: object = None
        self.updates = 0

    def caption(self) -> str:
        p = self.participant
        marks = []
        if p.is_speaking:
            marks.append("🔊")
        if p.audio_muted:
            marks.append("mic off")
        if p.video_muted:
            marks.append("camera off")
        name = p.name.replace("&", "&amp;").replace("<", "&lt;")
        extra = f" <small>({', '.join(marks)})</small>" if marks else ""
        return f"<b>{name}</b>{extra}"


class RoomView:
    """A live ipywidgets view of a room: ``RoomView(room).display()``, or just ``room``.

    **Parameters:**

    * **fps** - how often each tile's picture is refreshed (at most).
    * **tile_width** - tile width in pixels.

    ``widget`` is the ipywidgets container, for embedding in your own layout.
    """

    def __init__(self, room: RoomHandle, *, fps: float = 5.0, tile_width: int = 320) -> None:
        widgets = _widgets()
        self._room = room
        self._fps = fps
        self._tile_width = tile_width
        self._tiles: dict[str, _Tile] = {}
        self._header = widgets.HTML()
        self._grid = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.widget = widgets.VBox([self._header, self._grid])
        "The container widget."
        self.changed = asyncio.Event()
        "Set whenever a tile's picture or the layout changes (tests wait on it)."
        self._task: asyncio.Task[None] | None = None
        self._tasks = TaskSet("arbiter-client:notebook")

    @property
    def tiles(self) -> dict[str, Any]:
        """Participant id to that participant's tile widget (a ``VBox``)."""
        return {pid: tile.box for pid, tile in self._tiles.items()}

    def image(self, participant_id: str) -> bytes:
        """The JPEG bytes the tile of ``participant_id`` shows now (empty before any)."""
        return bytes(self._tiles[participant_id].image.value)

    def start(self) -> None:
        """Start updating (done by :meth:`display`); stops by itself when the room closes."""
        if self._task is None:
            self._room.attach(self)
            self._task = self._tasks.spawn(self._run(), "notebook-view")

    async def stop(self) -> None:
        """Stop updating (the room does it when it closes). Idempotent."""
        await self._tasks.close()
        self._room.detach(self)

    def display(self) -> None:
        """Show the view in the current notebook cell's output and start updating it."""
        from IPython.display import display

        display(self.widget)  # type: ignore[no-untyped-call]
        self.start()

    async def _run(self) -> None:
        try:
            while True:
                self._sync()
                self.changed.set()
                await asyncio.sleep(1 / self._fps)  # refresh rate of labels and layout
        finally:
            for tile in self._tiles.values():
                if tile.task is not None:
                    tile.task.cancel()
            self._header.value = f"<i>{self._room.url}: {self._room.connection_state}</i>"

    def _sync(self) -> None:
        room = self._room
        people = room.participants
        for pid in list(self._tiles):
            if pid not in people:
                tile = self._tiles.pop(pid)
                if tile.task is not None:
                    tile.task.cancel()
        for pid, participant in people.items():
            found = self._tiles.get(pid)
            if found is None:
                found = self._tiles[pid] = _Tile(participant, self._tile_width)
            tile = found
            if participant.video is not None and tile.track is not participant.video:
                if tile.task is not None:
                    tile.task.cancel()
                tile.track = participant.video
                tile.task = self._tasks.spawn(self._feed(tile), f"notebook-tile:{pid}")
            caption = tile.caption()
            if tile.label.value != caption:
                tile.label.value = caption
        boxes = tuple(tile.box for tile in self._tiles.values())
        if self._grid.children != boxes:
            self._grid.children = boxes
        local = room.local_participant
        self._header.value = (
            f"<b>{local.name}</b> in <code>{room.room_id}</code>: {room.connection_state}, "
            f"{len(people)} other participant(s)"
        )

    async def _feed(self, tile: _Tile) -> None:
        track = tile.participant.video
        if track is None:
            return
        loop = asyncio.get_running_loop()
        with contextlib.suppress(asyncio.CancelledError):
            async for frame in track.av_frames(latest=True):
                started = loop.time()
                if isinstance(frame, av.VideoFrame):
                    tile.image.value = await asyncio.to_thread(jpeg, frame, self._tile_width)
                    tile.updates += 1
                    self.changed.set()
                await asyncio.sleep(max(0.0, 1 / self._fps - (loop.time() - started)))
