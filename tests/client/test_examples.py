"""Every example in examples/ against the real local stack (gateway, SQLite, SFU processes)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import av
import numpy as np
import pytest

from arbiter_client import Room, TrackSubscribed, color_for_name
from arbiter_server.local import LocalStack

from .test_room import next_event

pytestmark = pytest.mark.timeout(90)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WAIT = 20.0


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def peer(stack: LocalStack) -> AsyncIterator[Room]:
    """A participant that publishes a test pattern (320x240, its name's colour) and a tone."""
    await stack.create_room("ex")
    room = await Room.join(stack.room_url("ex"), name="peer", video_size=(320, 240), timeout=WAIT)
    try:
        yield room
    finally:
        await room.leave()


async def video_from(room: Room, name: str) -> TrackSubscribed:
    events = room.events()
    while True:
        event = await next_event(events, TrackSubscribed)
        if event.kind == "video" and event.participant.name == name:
            return event


async def until_picture(event: TrackSubscribed, check: object) -> None:
    assert callable(check)

    async def look() -> None:
        async for image in event.track.frames(latest=True):
            if check(image):
                return

    await asyncio.wait_for(look(), WAIT)


def center(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return image[h // 2 - 8 : h // 2 + 8, 4:12].reshape(-1, 3).mean(axis=0)  # left of the bar


def dominant(image: np.ndarray) -> np.ndarray:
    """The median colour of the middle half of ``image`` (robust against the moving bar)."""
    h, w = image.shape[:2]
    return np.median(image[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4].reshape(-1, 3), axis=0)


async def test_echo_bot_sends_our_own_video_back(stack: LocalStack, peer: Room) -> None:
    bot = asyncio.create_task(load("echo_bot").main(stack.room_url("ex"), seconds=60))
    try:
        event = await asyncio.wait_for(video_from(peer, "echo"), WAIT)
        ours = np.array(color_for_name("peer"))
        await until_picture(event, lambda img: np.abs(center(img) - ours).max() < 30)
    finally:
        bot.cancel()
        await asyncio.gather(bot, return_exceptions=True)


async def test_filter_bot_publishes_the_inverted_picture(stack: LocalStack, peer: Room) -> None:
    module = load("filter_bot")
    bot = asyncio.create_task(module.main(stack.room_url("ex"), filter="invert", seconds=60))
    try:
        event = await asyncio.wait_for(video_from(peer, "filter"), WAIT)
        inverted = 255 - np.array(color_for_name("peer"))
        await until_picture(event, lambda img: np.abs(center(img) - inverted).max() < 30)
    finally:
        bot.cancel()
        await asyncio.gather(bot, return_exceptions=True)


@pytest.mark.scenarios
async def test_recording_bot_records_the_room(
    stack: LocalStack, peer: Room, tmp_path: Path
) -> None:
    path = tmp_path / "call.mp4"
    frames = await load("recording_bot").main(stack.room_url("ex"), str(path), seconds=4)
    assert frames >= 30
    with av.open(str(path)) as container:
        assert sorted(s.type for s in container.streams) == ["audio", "video"]
        pictures = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        container.seek(0)
        sound = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert len(pictures) >= 30
    ours = np.array(color_for_name("peer"))
    # The peer's tile fills the grid: the test pattern's background colour covers most of the
    # picture. The median of the middle of the frame ignores the bar that moves across it, so
    # the check does not depend on when the frame was taken.
    for picture in pictures[-10:]:
        assert np.abs(dominant(picture) - ours).max() < 40
    assert np.sqrt(np.mean(sound[-48_000:] ** 2)) > 0.02  # the peer's tone is in the mix


@pytest.mark.scenarios
async def test_notebook_runs_and_shows_the_room(
    stack: LocalStack, peer: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbclient
    import nbformat

    notebook = nbformat.read(EXAMPLES / "notebook.ipynb", as_version=4)
    monkeypatch.setenv("ARBITER_ROOM_URL", stack.room_url("ex"))
    client = nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3")
    # this interpreter's ipykernel, whatever kernels are installed elsewhere
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    client.km_kwargs = {"kernel_cmd": kernel}
    await client.async_execute()  # the kernel is shut down when this returns
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    widget = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widget, "the room did not display as a widget"
    texts = " ".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "'peer'" in texts  # frames were received from the peer
    assert "'consumer'" in texts  # one connection carries every participant's media
