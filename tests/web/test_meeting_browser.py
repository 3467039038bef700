"""What every meeting has, in Chromium with the web SDK's demo page, against a real local
stack and Python bots: a shared screen both ways (the focus layout), switching the camera
mid-call, a raised hand and a new name, and pages of tiles that cost only what is shown.

The long ones are ``scenarios`` (CI runs them with ``-m scenarios``); they write the
screenshots of ``apps/web-sdk/README.md`` to ``apps/web-sdk/docs/``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import av
import numpy as np
import pytest
from playwright.async_api import Browser, Page, async_playwright

from arbiter_client import ParticipantUpdated, Room, TrackSubscribed
from arbiter_server.local import LocalStack
from tests.client.test_meeting import receiving, sfu_state

from .conftest import CHROMIUM, CHROMIUM_ARGS, REPO
from .lean_bot import LeanBot, small_clip
from .test_browser import STEP, Collector, close_pages, join_in_browser, within

DOCS = REPO / "apps" / "web-sdk" / "docs"


async def until(check: Any, what: str, timeout: float = STEP) -> Any:
    """Poll ``check()`` (sync or async) every 0.2 s until it gives something true."""

    async def poll() -> Any:
        while True:
            value = check()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return value
            await asyncio.sleep(0.2)

    return await within(poll(), what, timeout)


@pytest.fixture
async def three_camera_browser() -> AsyncIterator[Browser]:
    """Chromium with three fake cameras: ``fake_device_0`` (I420), ``fake_device_1`` (Y16,
    a depth format that encodes badly) and ``fake_device_2`` (MJPEG)."""
    args = [a for a in CHROMIUM_ARGS if not a.startswith("--use-fake-device")]
    args.append("--use-fake-device-for-media-stream=device-count=3")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=args, timeout=30_000)
        try:
            yield browser
        finally:
            await browser.close()


async def frames_of(track: Any, count: int) -> list[av.VideoFrame]:
    frames = []
    async for frame in track.av_frames(latest=False):
        frames.append(frame)
        if len(frames) >= count:
            return frames
    raise AssertionError("the track ended")


@pytest.mark.timeout(150)
async def test_chromium_shares_its_screen_and_a_bot_decodes_it(
    web_stack: LocalStack, browser: Browser
) -> None:
    """Chromium's fake capture: the browser's Share screen reaches a bot as its own track."""
    url = await web_stack.create_room("share")
    async with Room.join(url, name="bot", publish=None) as bot:
        events = Collector(bot)
        page = await join_in_browser(browser, url, "alice")
        try:
            camera = await events.wait_for(
                lambda e: isinstance(e, TrackSubscribed) and e.source == "camera",
                "alice's camera at the bot",
            )
            assert isinstance(camera, TrackSubscribed)
            share = page.get_by_role("button", name="Share screen")
            await share.click()
            screen = await events.wait_for(
                lambda e: isinstance(e, TrackSubscribed) and e.source == "screen",
                "alice's screen at the bot",
            )
            assert isinstance(screen, TrackSubscribed)
            assert screen.participant is camera.participant and screen.kind == "video"
            frames = await within(frames_of(screen.track, 5), "frames of alice's screen")
            image = frames[-1].to_ndarray(format="rgb24")
            assert image.shape[1] >= 640 and image.std() > 1.0  # a real picture, decoded
            assert camera.participant.video is camera.track  # the camera is still the video
            assert await share.get_attribute("aria-pressed") == "true"
            # the local page shows its own screen in the focus layout
            await page.get_by_role("group", name="Your screen").wait_for(timeout=STEP * 1000)
            await share.click()  # stop
            await until(lambda: camera.participant.screen is None, "the screen to go")
        finally:
            await events.close()
            await close_pages(page)


async def screen_frames() -> AsyncIterator[np.ndarray]:
    """A slide: a title bar, three bullet bars and a chart, at 1280x720."""
    image = np.full((720, 1280, 3), 245, dtype=np.uint8)
    image[:110] = (40, 70, 160)
    image[40:70, 80:700] = 255
    for i, width in enumerate((900, 720, 820)):
        image[200 + i * 90 : 230 + i * 90, 120:130] = (40, 70, 160)
        image[205 + i * 90 : 225 + i * 90, 160 : 160 + width // 2] = 90
    for i, height in enumerate((120, 200, 160, 260, 300)):
        image[650 - height : 650, 760 + i * 90 : 820 + i * 90] = (60 + 35 * i, 150, 90)
    for _ in range(3000):
        yield image


@pytest.mark.scenarios
@pytest.mark.timeout(180)
async def test_a_bots_numpy_screen_shows_large_in_the_focus_layout(
    web_stack: LocalStack, browser: Browser
) -> None:
    url = await web_stack.create_room("focus")
    bots = [await Room.join(url, name=n, video_size=(320, 240)) for n in ("presenter", "carol")]
    page = await join_in_browser(browser, url, "alice")
    try:
        await bots[0].publish_screen(screen_frames(), fps=10)
        tile = page.get_by_role("group", name="presenter's screen")
        await tile.wait_for(timeout=STEP * 1000)
        assert await page.locator(".arb-conference").get_attribute("data-layout") == "focus"

        async def playing() -> bool:
            size: list[int] = await tile.locator("video").evaluate(
                "v => [v.videoWidth, v.videoHeight, v.paused ? 0 : 1]"
            )
            return size[0] >= 640 and size[2] == 1

        await until(playing, "the shared screen to play large")
        box = await tile.bounding_box()
        strip = page.get_by_role("complementary", name="Participants")
        names = await strip.locator("[data-participant-name]").evaluate_all(
            "els => els.map(e => e.dataset.participantName)"
        )
        assert sorted(names) == ["carol", "presenter"]  # the cameras beside it
        strip_box = await strip.bounding_box()
        assert box is not None and strip_box is not None and box["width"] > 2 * strip_box["width"]
        await asyncio.sleep(1.0)  # let every tile paint a frame for the picture
        DOCS.mkdir(exist_ok=True)
        await page.screenshot(path=str(DOCS / "focus-layout.png"))
        await bots[0].unpublish_screen()
        await until(
            lambda: page.locator('.arb-conference[data-layout="grid"]').count(),
            "the grid to come back",
        )
    finally:
        await close_pages(page)
        await asyncio.gather(*(b.leave() for b in bots))


@pytest.mark.scenarios
@pytest.mark.timeout(150)
async def test_chromium_switches_its_camera_mid_call_and_the_bot_keeps_receiving(
    web_stack: LocalStack, three_camera_browser: Browser
) -> None:
    url = await web_stack.create_room("cams")
    async with Room.join(url, name="bot", publish=None) as bot:
        events = Collector(bot)
        page = await join_in_browser(three_camera_browser, url, "alice")
        try:
            camera = await events.wait_for(
                lambda e: isinstance(e, TrackSubscribed) and e.source == "camera",
                "alice's camera at the bot",
            )
            assert isinstance(camera, TrackSubscribed)
            await within(frames_of(camera.track, 3), "alice's first frames")
            consumer = bot._c.link.consumers.consumer
            state = sfu_state(web_stack, "cams")
            producers = state["producers"]
            label = page.locator('[data-local="true"] video')
            before = await label.evaluate("v => v.srcObject.getVideoTracks()[0].label")
            await page.get_by_role("button", name="Devices").click()
            select = page.get_by_label("Camera", exact=True)
            assert before == "fake_device_0"
            other = "fake_device_2"
            await select.select_option(label=other)
            await until(lambda: _label_is(label, other), f"the page to show {other}")
            seen = camera.track.frames_received
            await until(lambda: camera.track.frames_received > seen + 10, "frames after the switch")
            assert bot._c.link.consumers.consumer is consumer  # no new consumer connection
            assert not camera.track.ended
            assert sfu_state(web_stack, "cams")["producers"] == producers
        finally:
            await events.close()
            await close_pages(page)


async def _label_is(video: Any, label: str) -> bool:
    got: str = await video.evaluate("v => v.srcObject.getVideoTracks()[0].label")
    return got == label


@pytest.mark.timeout(120)
async def test_a_raised_hand_and_a_new_name_reach_a_late_joining_browser(
    web_stack: LocalStack, browser: Browser
) -> None:
    url = await web_stack.create_room("hands")
    async with Room.join(url, name="bot", publish=None) as bot:
        events = Collector(bot)
        await bot.set_hand_raised(True)
        await bot.set_name("Bot Botson")
        page = await join_in_browser(browser, url, "alice")  # joins after both
        try:
            tile = page.get_by_role("group", name="Bot Botson")
            await tile.wait_for(timeout=STEP * 1000)
            assert await tile.get_attribute("data-hand-raised") == "true"
            await page.get_by_role("button", name="Raise hand").click()
            update = await events.wait_for(
                lambda e: (
                    isinstance(e, ParticipantUpdated)
                    and e.participant.name == "alice"
                    and e.participant.hand_raised
                ),
                "alice's raised hand at the bot",
            )
            assert isinstance(update, ParticipantUpdated)
            await page.get_by_role("button", name="Lower hand").wait_for(timeout=STEP * 1000)
        finally:
            await events.close()
            await close_pages(page)


async def page_names(page: Page) -> list[str]:
    names: list[str] = await page.locator(
        ".arb-paged .arb-grid [data-participant-name]"
    ).evaluate_all("els => els.map(e => e.dataset.participantName)")
    return names


@pytest.mark.scenarios
@pytest.mark.timeout(300)
async def test_a_full_room_costs_the_browser_only_the_video_on_its_page(
    web_stack: LocalStack, browser: Browser
) -> None:
    """12 participants: 11 cheap bots (a pre-encoded clip, receiving nothing) and a browser
    whose viewport fits 6 tiles. The SFU forwards it 6 videos, 7 while a bot of the other
    page speaks, and the next page's after paging."""
    url = await web_stack.create_room("full")
    clip = small_clip()
    bots = [LeanBot(url, f"bot{i:02d}", clip, audio=i >= 5) for i in range(11)]
    for bot in bots:
        await bot.join()
    context = await browser.new_context(viewport={"width": 1100, "height": 500})
    page = await context.new_page()
    try:
        await page.goto(url)
        await page.get_by_label("Name").fill("viewer")
        await page.get_by_role("button", name="Join").click()
        await page.locator('.arb-conference[data-state="connected"]').wait_for(timeout=STEP * 1000)
        grid = page.locator(".arb-paged")
        await until(lambda: _attribute_is(grid, "data-page-size", "6"), "a page of 6 tiles", 60)
        viewer = next(
            pid
            for pid, videos in sfu_state(web_stack, "full").get("receiving_video", {}).items()
            if pid not in {b.participant_id for b in bots}
        )
        first = await until(lambda: _full_page(page), "the first page of 6 tiles", 60)
        by_name = {b.name: b for b in bots}
        wanted = sorted(f"{by_name[n].participant_id}/camera" for n in first)
        await until(
            lambda: sfu_videos(web_stack, viewer) == wanted,
            f"the SFU to send the viewer the 6 videos of its page ({wanted})",
            60,
        )
        assert receiving(web_stack, "full", viewer)["video"] == 6

        # a bot of the other page speaks: its tile comes beside the page, its video too
        talker = next(b for b in bots if b.name not in first and b.audio is not None)
        talker.speak(True)
        tile = page.locator(".arb-tile--offpage")
        await tile.wait_for(timeout=STEP * 1000)
        assert await tile.get_attribute("data-participant-name") == talker.name
        assert await tile.get_attribute("data-speaking") == "true"
        await until(
            lambda: receiving(web_stack, "full", viewer).get("video") == 7,
            "7 videos while the off-page bot speaks",
        )
        await asyncio.sleep(1.0)  # let every tile paint a frame for the picture
        DOCS.mkdir(exist_ok=True)
        await page.screenshot(path=str(DOCS / "paged-grid.png"))
        talker.speak(False)
        await tile.wait_for(state="detached", timeout=STEP * 1000)
        await until(lambda: receiving(web_stack, "full", viewer).get("video") == 6, "6 again")

        # the next page: the other 5 bots, and only theirs
        await page.get_by_role("button", name="Next page").click()
        second = await page_names(page)
        assert sorted(second) == sorted(b.name for b in bots if b.name not in first)
        wanted = sorted(f"{by_name[n].participant_id}/camera" for n in second)
        await until(
            lambda: sfu_videos(web_stack, viewer) == wanted, "the videos of the second page"
        )
    finally:
        await close_pages(page)
        await asyncio.gather(*(b.close() for b in bots))


def sfu_videos(stack: LocalStack, participant_id: str) -> list[str]:
    videos: list[str] = sfu_state(stack, "full").get("receiving_video", {}).get(participant_id, [])
    return videos


async def _attribute_is(locator: Any, name: str, value: str) -> bool:
    return bool(await locator.get_attribute(name) == value)


async def _full_page(page: Page) -> list[str] | None:
    names = await page_names(page)
    return names if len(names) == 6 else None
