"""The terminal app's parts without a room: rendering, layout, meters, the command line."""

from __future__ import annotations

import time

import numpy as np
import pytest
from arbiter_tui import ArbiterTUI, grid_columns
from arbiter_tui.cli import main
from arbiter_tui.media import NoDevices, open_capture, publish_for
from arbiter_tui.messages import ParticipantAdded, ParticipantRemoved
from arbiter_tui.render import UPPER_HALF, downscale, fit_size, frame_to_rows
from arbiter_tui.widgets import level_meter

pytestmark = pytest.mark.timeout(30)


def test_fit_size_keeps_the_aspect_in_half_block_pixels() -> None:
    assert fit_size(640, 480, 80, 30) == (80, 60)  # width-bound: 80x60 pixels in 30 rows
    assert fit_size(640, 480, 100, 20) == (53, 40)  # height-bound: 40 pixels is 20 rows
    assert fit_size(640, 480, 0, 10) == (0, 0)


def test_downscale_averages_blocks() -> None:
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    image[:2, :2] = 200  # top-left quarter bright
    small = downscale(image, 2, 2)
    assert small.shape == (2, 2, 3)
    assert small[0, 0].tolist() == [200, 200, 200] and small[1, 1].tolist() == [0, 0, 0]
    half = downscale(np.array([[[0, 0, 0], [100, 100, 100]]], dtype=np.uint8), 1, 1)
    assert half[0, 0].tolist() == [50, 50, 50]


def test_frame_to_rows_uses_half_blocks_with_top_and_bottom_colours() -> None:
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    image[0::2] = (255, 0, 0)  # even pixel rows red: the top half of each cell
    image[1::2] = (0, 0, 255)  # odd pixel rows blue: the bottom half
    rows = frame_to_rows(image, 4, 3)  # 4x4 pixels are 4 cells x 2 rows, centred in 3
    assert len(rows.strips) == 3 and all(s.cell_length == 4 for s in rows.strips)
    video = [seg for strip in rows.strips for seg in strip if UPPER_HALF in seg.text]
    assert [seg.text for seg in video] == [UPPER_HALF * 4] * 2  # equal cells share a run
    for seg in video:
        assert seg.style is not None and seg.style.color and seg.style.bgcolor
        assert seg.style.color.get_truecolor() == (255, 0, 0)
        assert seg.style.bgcolor.get_truecolor() == (0, 0, 255)


def test_rendering_a_frame_is_cheap() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)  # worst case: no runs
    # CPU time, not wall time: what rendering costs, however busy the machine is
    started = time.process_time()
    for _ in range(5):
        frame_to_rows(image, 80, 30)
    assert (time.process_time() - started) / 5 < 0.1


def test_grid_columns_fill_the_space() -> None:
    assert grid_columns(1, 120, 40) == 1
    assert grid_columns(2, 84, 38) == 1  # stacked: each tile is wider than tall in pixels
    assert grid_columns(2, 200, 30) == 2
    assert grid_columns(4, 200, 50) == 2
    assert grid_columns(9, 150, 80) == 3
    assert grid_columns(9, 300, 60) == 5  # a wide terminal: two rows of five


def test_level_meter_is_decibel_scaled() -> None:
    assert level_meter(0.0) == " " * 8
    assert level_meter(1.0) == "\u2588" * 8
    assert level_meter(0.001).strip() == ""  # -60 dB
    assert len(level_meter(0.1)) == 8 and level_meter(0.1).count("\u2588") == 5  # -20 dB


def test_source_choices() -> None:
    assert publish_for(["pattern"]) == "test"
    assert publish_for(["none"]) is None
    assert publish_for(["file", "talk.mp4"]) == "file:talk.mp4"
    with pytest.raises(ValueError):
        publish_for(["file"])


def test_auto_without_devices_says_what_to_choose(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        open_capture().close()
    except NoDevices:
        pass
    else:
        pytest.skip("this machine has a camera or a microphone")
    assert main(["http://127.0.0.1:1/rooms/x"]) == 2
    err = capsys.readouterr().err
    assert "--source pattern" in err and "--source none" in err


async def test_join_failure_is_shown_and_q_quits() -> None:
    app = ArbiterTUI("http://127.0.0.1:1/rooms/nowhere", name="me", join_timeout=5)
    async with app.run_test() as pilot:
        deadline = time.monotonic() + 10
        while app.status.state != "failed" and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert app.status.state == "failed"
        assert app.status.reason and "127.0.0.1:1" in app.status.reason
        await pilot.press("q")
    assert app.return_code == 0


async def test_grid_follows_people_and_terminal_size() -> None:
    app = ArbiterTUI("http://127.0.0.1:1/rooms/nowhere", name="me", join_timeout=5)
    async with app.run_test(size=(120, 40)) as pilot:
        for i in range(2):
            app.post_message(ParticipantAdded(f"p{i}", f"person-{i}"))
        await pilot.pause()
        assert len(app.query(".tile")) == 2
        assert app.grid.styles.grid_size_columns == 1  # stacked in 84x38
        await pilot.resize_terminal(220, 30)
        await pilot.pause()
        assert app.grid.styles.grid_size_columns == 2  # side by side when wide
        for i in range(2, 4):
            app.post_message(ParticipantAdded(f"p{i}", f"person-{i}"))
        await pilot.pause()
        assert app.grid.styles.grid_size_rows == 4 // app.grid.styles.grid_size_columns
        app.post_message(ParticipantRemoved("p0"))
        await pilot.pause()
        assert len(app.query(".tile")) == 3 and "p0" not in app.tiles
        names = [str(t.participant_name) for t in app.tiles.values()]
        assert names == ["person-1", "person-2", "person-3"]
