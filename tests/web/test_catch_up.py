"""A browser whose stream starts from a recent key frame (the SFU's catch-up, see
``arbiter_server/sfu/layer.py``) plays at once, without a key frame request, and shows the
live frames after the burst on time.

The SFU sends a new consumer the layer's latest key frame and the frames since (up to
300 ms of them) in one burst. A jitter buffer that took the burst's first frame as on time
would show every live frame after it late by up to the burst's length. The publisher here
loops a clip of 8 frames at 30 fps whose first is a key frame, so every consumer starts
within 267 ms of one and always catches up with up to 8 frames.
"""

from __future__ import annotations

import statistics
from typing import Any

import pytest
from playwright.async_api import Browser

from arbiter_server.local import LocalStack
from benchmarks.media import encode_clip

from .lean_bot import LeanBot
from .test_browser import assert_video_plays, close_pages, join_in_browser, within

pytestmark = pytest.mark.timeout(120)

PLAYOUT_DELAYS = """(name) => new Promise((resolve) => {
  const video = document.querySelector(`[data-participant-name="${name}"] video`);
  const delays = [];
  const frame = (now, meta) => {
    if (meta.receiveTime !== undefined) delays.push(meta.expectedDisplayTime - meta.receiveTime);
    if (delays.length >= 45) resolve(delays);
    else video.requestVideoFrameCallback(frame);
  };
  video.requestVideoFrameCallback(frame);
})"""
"Milliseconds from each video frame's last packet to its display, for 45 frames."


async def test_a_browser_starting_from_a_recent_key_frame_plays_live_frames_on_time(
    web_stack: LocalStack, browser: Browser
) -> None:
    await web_stack.create_room("r")
    url = web_stack.room_url("r")
    bot = LeanBot(url, "bot", encode_clip(frames=8, width=320, height=240, bitrate=300_000))
    await bot.join()
    page = None
    try:
        page = await join_in_browser(browser, url, "viewer")
        stats = await assert_video_plays(page, "bot")
        # the viewer started from a key frame the publisher had sent already
        assert bot.video.log.keyframe_requests == 0
        assert (stats["width"], stats["height"]) == (320, 240)
        delays: list[Any] = await within(page.evaluate(PLAYOUT_DELAYS, "bot"), "45 frames")
        median = statistics.median(delays)
        print(
            f"playout delay after a catch-up start: median {median:.0f}, max {max(delays):.0f} ms"
        )
        # on loopback a frame is shown some ms after its last packet (10-16 ms measured);
        # live frames held back by the burst would be up to 267 ms late
        assert median < 120, f"live frames held back: {sorted(delays)}"
    finally:
        if page is not None:
            await close_pages(page)
        await bot.close()
