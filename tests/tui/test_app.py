"""The terminal app against the real local stack, with two test-pattern bots."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from arbiter_tui import ArbiterTUI
from arbiter_tui.widgets import ChatPanel
from textual.pilot import Pilot
from textual.widgets import Input, Static

from arbiter_client import ChatMessage, Event, Room, TrackMuted
from arbiter_server.local import LocalStack

pytestmark = pytest.mark.timeout(90)

SCREENSHOT = Path(__file__).resolve().parents[2] / "apps" / "tui" / "screenshot.svg"


async def wait_until(
    pilot: Pilot[int], condition: Callable[[], bool], timeout: float, what: str
) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            app = pilot.app
            state = getattr(app, "status", None)
            detail = f"{state.state} {state.reason}" if state is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} ({detail})")
        await pilot.pause(0.05)
    print(f"{what}: {timeout - (deadline - time.monotonic()):.1f} s")


def video_text(app: ArbiterTUI, pid: str) -> list[str]:
    """The tile's video as (text, style) per cell, to compare frames."""
    rows = app.tiles[pid].video.rows
    assert rows is not None
    return ["".join(f"{s.text}{s.style}" for s in strip) for strip in rows.strips]


def coloured_cells(app: ArbiterTUI, pid: str) -> int:
    """How many half-block cells of the tile's current frame are not black."""
    rows = app.tiles[pid].video.rows
    if rows is None:
        return 0
    count = 0
    for strip in rows.strips:
        for segment in strip:
            style = segment.style
            if "\u2580" in segment.text and style is not None and style.color is not None:
                if style.color.get_truecolor() != (0, 0, 0):
                    count += len(segment.text)
    return count


@pytest.mark.scenarios
async def test_tiles_video_levels_chat_mute_and_screenshot(
    stack: LocalStack, bots: list[Room], tmp_path: Path
) -> None:
    bot1, bot2 = bots
    received: list[Event] = []

    async def listen() -> None:
        async for event in bot1.events():
            received.append(event)

    listener = asyncio.create_task(listen())
    app = ArbiterTUI(
        stack.room_url("r"),
        name="me",
        publish="test",
        video_size=(160, 120),
        fps=10,
        audio_out="null",  # real ALSA output, to its discarding device
    )
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            ids = {bot1.participant_id, bot2.participant_id}
            await wait_until(pilot, lambda: set(app.tiles) == ids, 20, "both bots' tiles")
            names = {t.participant_name for t in app.tiles.values()}
            assert names == {"bot-1", "bot-2"}

            # live video: each tile shows coloured half blocks, and they change over time
            await wait_until(
                pilot,
                lambda: all(coloured_cells(app, pid) > 100 for pid in ids),
                20,
                "coloured video cells in both tiles",
            )
            first = {pid: video_text(app, pid) for pid in ids}
            await wait_until(
                pilot,
                lambda: all(video_text(app, pid) != first[pid] for pid in ids),
                10,
                "both videos to change",
            )

            # audio level: the bots' tone drives the meters and marks them as speaking
            await wait_until(
                pilot,
                lambda: all(app.tiles[pid].speaking for pid in ids),
                10,
                "both bots speaking",
            )
            # ...and the room is heard: the bots' tones are mixed and played
            await wait_until(
                pilot,
                lambda: (
                    app.player is not None
                    and app.player.seconds_played > 0.5
                    and app.player.peak > 0.05
                ),
                10,
                "the room's audio played",
            )
            assert "speaker null" in str(app.status.render())

            # chat from the app reaches a bot
            await pilot.press("c")
            # (each pilot.press waits up to ~2 s for an idle CPU, which never comes
            # while video flows, so the text goes in directly)
            chat_input = app.query_one("#chat-input", Input)
            assert chat_input.has_focus
            chat_input.insert_text_at_cursor("hello bots")
            await pilot.press("enter")
            await wait_until(
                pilot,
                lambda: any(
                    isinstance(e, ChatMessage) and e.text == "hello bots" and e.name == "me"
                    for e in received
                ),
                10,
                "bot-1 to get the app's chat",
            )
            chat = app.query_one(ChatPanel)
            assert ("me", "hello bots") in chat.lines

            # chat from a bot shows in the app, with its name
            await bot2.send_chat("hi terminal")
            await wait_until(
                pilot, lambda: ("bot-2", "hi terminal") in chat.lines, 10, "the bot's chat"
            )

            app.set_focus(None)

            # the app mutes itself with m: the bots are told
            me = app.room.participant_id if app.room else ""

            def muted(kind: str, state: bool) -> bool:
                return any(
                    isinstance(e, TrackMuted)
                    and e.participant.id == me
                    and e.kind == kind
                    and e.muted is state
                    for e in received
                )

            await pilot.press("m")
            await wait_until(pilot, lambda: muted("audio", True), 10, "the app's mute to reach")
            assert "off" in app.status.mic and "off" not in app.status.cam

            # a bot mutes its mic: its tile says so and it stops speaking
            tile1 = app.tiles[bot1.participant_id]
            await bot1.set_microphone_enabled(False)
            await wait_until(
                pilot,
                lambda: tile1.audio_muted and not tile1.speaking,
                10,
                "bot-1's tile to show its mic off",
            )
            assert "mic off" in str(tile1.query_one("#caption", Static).render())
            await wait_until(pilot, lambda: app.status.rtt_ms is not None, 10, "a round-trip time")
            await pilot.pause(0.3)
            path = app.save_screenshot("screenshot.svg", str(tmp_path))
            assert Path(path).read_text().startswith("<svg")
            if os.environ.get("ARBITER_TUI_SCREENSHOT"):
                shutil.copy(path, SCREENSHOT)

            # a bot stops its camera: no stale picture, the tile says so
            await bot1.set_camera_enabled(False)
            await wait_until(pilot, lambda: tile1.video_muted, 10, "bot-1's camera off")
            assert tile1.video.rows is None
            assert "cam off" in str(tile1.query_one("#caption", Static).render())

            # v and m again: the app's camera off, its mic back on
            await pilot.press("v")
            await pilot.press("m")
            await wait_until(
                pilot,
                lambda: muted("video", True) and muted("audio", False),
                10,
                "camera off and mic on to reach bot-1",
            )

            # a bot leaves: its tile goes
            gone = bot2.participant_id
            await bot2.leave()
            await wait_until(pilot, lambda: gone not in app.tiles, 10, "bot-2's tile to go")
            assert app.status.state == "connected"

            await pilot.press("q")
            await wait_until(
                pilot,
                lambda: app.room is not None and app.room.state.value == "closed",
                10,
                "leave",
            )
    finally:
        listener.cancel()
