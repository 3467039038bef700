"""The terminal app in a meeting, against the real local stack: the speaker marker follows
the SFU's active speakers (the meters stay), a shared screen takes the large tile, and a
raised hand (seen on joining late) and a new name show on the tile."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest
from arbiter_tui import ArbiterTUI
from arbiter_tui.widgets import ScreenTile, Stage
from textual.widgets import Static

from arbiter_client import (
    Event,
    ParticipantUpdated,
    Room,
    TestPatternVideoTrack,
    ToneAudioTrack,
    TrackSource,
)
from arbiter_server.local import LocalStack

from .test_app import wait_until

# a whole session each: run by scripts/test and CI with -m scenarios
pytestmark = [pytest.mark.timeout(120), pytest.mark.scenarios]

SLIDE = (200, 40, 40)
"The shared screen's colour (a red slide)."


async def slides() -> AsyncIterator[np.ndarray]:
    """A red 640x360 screen, for as long as it is shared."""
    image = np.zeros((360, 640, 3), dtype=np.uint8)
    image[:] = SLIDE
    for _ in range(10_000):
        yield image


def slide_cells(view: ScreenTile) -> int:
    """How many half-block cells of the screen tile show the slide's red."""
    rows = view.video.rows
    if rows is None:
        return 0
    count = 0
    for strip in rows.strips:
        for segment in strip:
            color = segment.style.color if segment.style is not None else None
            if "\u2580" in segment.text and color is not None:
                r, g, b = color.get_truecolor()
                if r > 150 and g < 90 and b < 90:
                    count += len(segment.text)
    return count


def caption(app: ArbiterTUI, pid: str) -> str:
    return str(app.tiles[pid].query_one("#caption", Static).render())


async def test_speakers_from_the_sfu_a_large_screen_a_raised_hand_and_a_new_name(
    stack: LocalStack,
) -> None:
    await stack.create_room("meet")
    url = stack.room_url("meet")

    def bot(volume: float) -> TrackSource:
        return TrackSource(
            video=TestPatternVideoTrack(size=(160, 120), fps=5),
            audio=ToneAudioTrack(volume=volume),
        )

    talker = await Room.join(url, name="talker", publish=bot(0.3), timeout=20)
    quiet = await Room.join(url, name="quiet", publish=bot(0.0), timeout=20)
    app = ArbiterTUI(url, name="me", publish=None, fps=5, audio_out=None)
    seen: list[Event] = []
    try:
        await quiet.set_hand_raised(True)  # before the app joins: it must still see it
        async with app.run_test(size=(140, 40)) as pilot:
            ids = {talker.participant_id, quiet.participant_id}
            await wait_until(pilot, lambda: set(app.tiles) == ids, 20, "both bots' tiles")
            loud, silent = app.tiles[talker.participant_id], app.tiles[quiet.participant_id]

            # the raised hand of a participant that raised it before the app came
            assert silent.hand_raised and not loud.hand_raised
            await wait_until(
                pilot,
                lambda: "hand raised" in caption(app, quiet.participant_id),
                5,
                "the raised hand in the caption",
            )
            assert "hand raised" not in caption(app, talker.participant_id)

            # the speaker marker is the SFU's list: the talker, not the silent bot
            await wait_until(pilot, lambda: loud.speaking, 10, "the talker marked speaking")
            room = app.room
            assert room is not None
            assert [p.id for p in room.active_speakers] == [talker.participant_id]
            assert not silent.speaking
            assert "speaking" in caption(app, talker.participant_id)
            await wait_until(pilot, lambda: loud.level > 0.05, 10, "the talker's level meter")
            # when it stops, the SFU's list empties and the marker goes
            await talker.set_microphone_enabled(False)
            await wait_until(pilot, lambda: not loud.speaking, 10, "the talker to stop")

            # a new name shows on the tile, live
            await quiet.set_name("Quincy")
            await wait_until(pilot, lambda: silent.participant_name == "Quincy", 10, "the new name")
            assert "Quincy" in caption(app, quiet.participant_id)

            # a shared screen takes the large tile, the cameras go to a column beside it
            screen = app.query_one("#screen", ScreenTile)
            stage = app.query_one("#stage", Stage)
            assert not stage.has_class("presenting") and not screen.display
            await quiet.publish_screen(slides(), fps=5)
            await wait_until(
                pilot,
                lambda: screen.presenter_id == quiet.participant_id,
                15,
                "the screen to take the large tile",
            )
            assert stage.has_class("presenting")
            await wait_until(pilot, lambda: slide_cells(screen) > 500, 15, "the slide on screen")
            assert screen.size.width > 2 * loud.size.width
            assert loud.size.width == silent.size.width  # one column of cameras
            assert "Quincy is presenting" in str(
                screen.query_one("#screen-caption", Static).render()
            )
            # the cameras still play beside it
            assert app.tiles[talker.participant_id].video.rows is not None

            await quiet.unpublish_screen()
            await wait_until(pilot, lambda: screen.presenter_id is None, 15, "the screen to go")
            assert not stage.has_class("presenting")

            # the app raises its own hand with h: the bots are told
            async def listen() -> None:
                async for event in talker.events():
                    seen.append(event)

            listener = app.run_worker(listen(), group="test-listener")
            await pilot.press("h")
            await wait_until(
                pilot,
                lambda: any(
                    isinstance(e, ParticipantUpdated) and e.participant.hand_raised for e in seen
                ),
                10,
                "the app's raised hand at a bot",
            )
            assert app.status.hand_raised
            assert "hand raised" in str(app.status.render())
            listener.cancel()

            await pilot.press("q")
            await wait_until(pilot, lambda: room.state.value == "closed", 10, "leave")
    finally:
        await talker.leave()
        await quiet.leave()
