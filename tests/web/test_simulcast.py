"""Simulcast end to end: Chromium publishes its fake 1280x720 camera in three layers through
the web SDK; Python subscribers ask for ``low`` and ``high`` and decode what the SFU sends
each of them.

Chromium's ``qualityLimitationReason`` and each layer's size are printed (run with ``-s``)
and written to ``test-artifacts/simulcast.json``: on 2 busy cores Chromium may drop or
shrink its top layer (``cpu``), which is why "high" only has to be at least twice as wide
as "low".
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import av
import pytest
from playwright.async_api import Browser, Page

from arbiter_client import RemoteTrack, Room, TrackSubscribed
from arbiter_server.local import LocalStack

from .test_browser import ARTIFACTS, STEP, Collector, within

CAPTURE_PEER_CONNECTIONS = """
window.__arbiterPcs = [];
const Original = window.RTCPeerConnection;
window.RTCPeerConnection = function (...args) {
  const pc = new Original(...args);
  window.__arbiterPcs.push(pc);
  return pc;
};
window.RTCPeerConnection.prototype = Original.prototype;
"""

OUTBOUND_VIDEO = """async () => {
  const out = [];
  for (const pc of window.__arbiterPcs) {
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        out.push({
          rid: s.rid ?? null,
          width: s.frameWidth ?? null,
          height: s.frameHeight ?? null,
          fps: s.framesPerSecond ?? null,
          bytes: s.bytesSent,
          reason: s.qualityLimitationReason ?? null,
          durations: s.qualityLimitationDurations ?? null,
          active: s.active ?? null,
        });
      }
    });
  }
  return out;
}"""


async def join_publishing(browser: Browser, url: str, name: str) -> Page:
    """Join in Chromium (as ``test_browser.join_in_browser``), keeping its peer connections
    reachable for ``getStats``."""
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    await page.add_init_script(CAPTURE_PEER_CONNECTIONS)
    page.on("console", lambda msg: print(f"[{name} console] {msg.type}: {msg.text}"))
    await page.goto(url)
    await page.get_by_label("Name").fill(name)
    await page.get_by_role("button", name="Join").click()
    await page.locator('.arb-conference[data-state="connected"]').wait_for(timeout=STEP * 1000)
    return page


async def video_of(room: Room, name: str) -> RemoteTrack:
    events = Collector(room)
    try:
        found = await events.wait_for(
            lambda e: (
                isinstance(e, TrackSubscribed) and e.kind == "video" and e.participant.name == name
            ),
            f"{name}'s video at a subscriber",
        )
    finally:
        await events.close()
    assert isinstance(found, TrackSubscribed)
    return found.track


async def width_within(track: RemoteTrack, ok: Any, timeout: float, what: str) -> float:
    """Seconds until a decoded frame's width satisfies ``ok``."""
    started = time.monotonic()

    async def wait() -> None:
        async for frame in track.av_frames(latest=True):
            assert isinstance(frame, av.VideoFrame)
            if ok(frame.width):
                return

    await within(wait(), what, timeout)
    return time.monotonic() - started


async def steady_width(track: RemoteTrack, frames: int = 15) -> int:
    """The width of ``frames`` decoded frames in a row (they must agree)."""
    widths = []
    async for frame in track.av_frames(latest=False):
        assert isinstance(frame, av.VideoFrame)
        widths.append(frame.width)
        if len(widths) >= frames:
            break
    assert len(set(widths[-5:])) == 1, f"the width still changes: {widths}"
    return widths[-1]


@pytest.mark.timeout(180)
@pytest.mark.scenarios
async def test_browser_simulcast_gives_each_subscriber_its_quality(
    web_stack: LocalStack, browser: Browser
) -> None:
    await web_stack.create_room("sim")
    url = web_stack.room_url("sim")
    page = await join_publishing(browser, url, "alice")
    report: dict[str, Any] = {}
    try:
        async with (
            Room.join(url, name="low", publish=None) as low,
            Room.join(url, name="high", publish=None) as high,
        ):
            low_video, high_video = await asyncio.gather(
                video_of(low, "alice"), video_of(high, "alice")
            )
            alice = low_video.participant_id
            await low.set_subscription(alice, quality="low")
            await high.set_subscription(alice, quality="high")
            # the simulcast layers are up once the two subscribers see different sizes
            await width_within(low_video, lambda w: w <= 320, 30, "a low layer (<= 320 px)")
            await width_within(high_video, lambda w: w >= 640, 30, "a high layer (>= 640 px)")
            low_width, high_width = await steady_width(low_video), await steady_width(high_video)
            report["first"] = {"low": low_width, "high": high_width}
            report["chromium_layers"] = await page.evaluate(OUTBOUND_VIDEO)
            print("Chromium outbound video layers:", json.dumps(report["chromium_layers"]))
            assert low_width <= 320, f"low subscriber decodes {low_width} px"
            assert high_width >= 2 * low_width, f"high {high_width} px vs low {low_width} px"
            # nobody receives the middle layer: the SFU asked Chromium to stop encoding it
            active = {s["rid"]: s["active"] for s in report["chromium_layers"]}
            assert active == {"q": True, "h": False, "f": True}, active

            # each follows a changed request within 2 s
            await low.set_subscription(alice, quality="high")
            await high.set_subscription(alice, quality="low")
            up, down = await asyncio.gather(
                width_within(low_video, lambda w: w >= 2 * low_width, 2.0, "low -> high in 2 s"),
                width_within(high_video, lambda w: w <= 320, 2.0, "high -> low in 2 s"),
            )
            report["switch_seconds"] = {"up": round(up, 3), "down": round(down, 3)}
            print(f"layer switches: up {up:.2f} s, down {down:.2f} s")
            report["chromium_layers_after"] = await page.evaluate(OUTBOUND_VIDEO)
            reasons = {s["rid"]: s["reason"] for s in report["chromium_layers_after"]}
            print("Chromium qualityLimitationReason per layer:", reasons)
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "simulcast.json").write_text(json.dumps(report, indent=1))
        await page.context.close()
