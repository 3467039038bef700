"""End to end: the web SDK's demo page in Debian's Chromium, against a real local stack
(gateway, SQLite, SFU subprocess) and Python bots from ``arbiter_client``.

Needs the demo page built (``npm ci && npm run build`` in apps/web-sdk, which
``scripts/setup.sh`` does) and ``/usr/bin/chromium``. Chromium's fake camera and microphone
stand in for real devices. The grid screenshot of the two-browser test is saved under
``test-artifacts/``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import av
import pytest
from playwright.async_api import Browser, Page

from arbiter_client import DataReceived, ParticipantLeft, Room, TrackSubscribed
from arbiter_client import Event as RoomEvent
from arbiter_server.local import LocalStack

from .conftest import REPO

ARTIFACTS = REPO / "test-artifacts"
STEP = 30.0  # seconds for any one step (join, first frame, a message)

T = TypeVar("T")


# ----------------------------------------------------------------------------------- helpers


class Collector:
    """Every event of a bot's room, kept, with a way to wait for the first that matches."""

    def __init__(self, room: Room) -> None:
        self.events: list[RoomEvent] = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._run(room))

    async def _run(self, room: Room) -> None:
        async for event in room.events(maxsize=4096):
            self.events.append(event)
            self._changed.set()

    async def wait_for(self, match: Callable[[RoomEvent], bool], what: str) -> RoomEvent:
        async def find() -> RoomEvent:
            while True:
                for event in self.events:
                    if match(event):
                        return event
                self._changed.clear()
                await self._changed.wait()

        return await within(find(), what)

    async def close(self) -> None:
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass


async def within(awaitable: Awaitable[T], what: str, timeout: float = STEP) -> T:
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


async def join_in_browser(browser: Browser, url: str, name: str) -> Page:
    """Open the room URL, type the name on the pre-join screen and press Join."""
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    page.on("console", lambda msg: print(f"[{name} console] {msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: print(f"[{name} pageerror] {exc}"))
    await page.goto(url)
    await page.get_by_label("Name").fill(name)
    await page.get_by_role("button", name="Join").click()
    await page.locator('.arb-conference[data-state="connected"]').wait_for(timeout=STEP * 1000)
    return page


VIDEO_STATS = """(name) => {
  const tile = document.querySelector(`[data-participant-name="${name}"]`);
  const video = tile && tile.querySelector('video');
  if (!video) return null;
  const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
  return {
    width: video.videoWidth,
    height: video.videoHeight,
    time: video.currentTime,
    frames: q ? q.totalVideoFrames : 0,
    paused: video.paused,
  };
}"""


async def assert_video_plays(page: Page, name: str) -> dict[str, Any]:
    """The tile of ``name`` shows video: ``videoWidth > 0`` and frames advancing."""

    async def playing() -> dict[str, Any]:
        first: dict[str, Any] | None = None
        while True:
            stats: dict[str, Any] | None = await page.evaluate(VIDEO_STATS, name)
            if stats and stats["width"] > 0 and not stats["paused"]:
                if first is None:
                    first = stats
                elif stats["frames"] > first["frames"] and stats["time"] > first["time"]:
                    return stats
            await asyncio.sleep(0.25)

    return await within(playing(), f"{name}'s video to play in the browser")


async def tile_names(page: Page) -> list[str]:
    names: list[str] = await page.eval_on_selector_all(
        "[data-participant-name]", "els => els.map(e => e.dataset.participantName)"
    )
    return sorted(names)


async def close_pages(*pages: Page) -> None:
    for page in pages:
        try:
            await page.context.close()
        except Exception:  # noqa: BLE001 - best effort; the browser fixture closes all
            pass


# ------------------------------------------------------------------------------------- tests


@pytest.mark.timeout(120)
async def test_browser_and_bot_see_each_other(web_stack: LocalStack, browser: Browser) -> None:
    """The bot decodes frames of the browser's fake camera; the browser plays the bot."""
    await web_stack.create_room("r")
    url = web_stack.room_url("r")
    async with Room.join(url, name="bot") as bot:
        events = Collector(bot)
        page = await join_in_browser(browser, url, "alice")
        try:
            sub = await events.wait_for(
                lambda e: (
                    isinstance(e, TrackSubscribed)
                    and e.kind == "video"
                    and e.participant.name == "alice"
                ),
                "the bot to receive alice's video track",
            )
            assert isinstance(sub, TrackSubscribed)
            frames = []
            for _ in range(5):
                frames.append(await within(sub.track.recv(), "a video frame from alice"))
            last = frames[-1]
            assert isinstance(last, av.VideoFrame), f"not a decoded video frame: {last!r}"
            image = last.to_ndarray(format="rgb24")
            assert image.shape[0] > 0 and image.shape[1] > 0
            assert image.std() > 1.0, "the fake camera's frame decoded to a flat image"
            assert frames[-1].pts != frames[0].pts, "the frames do not advance"

            stats = await assert_video_plays(page, "bot")
            assert stats["width"] > 0 and stats["height"] > 0
            assert await tile_names(page) == ["alice", "bot"]
        finally:
            await events.close()
            await close_pages(page)


@pytest.mark.scenarios
@pytest.mark.timeout(150)
async def test_two_browsers_and_a_bot_every_tile_plays(
    web_stack: LocalStack, browser: Browser
) -> None:
    """Three participants: on both pages every tile (own camera included) plays."""
    await web_stack.create_room("r")
    url = web_stack.room_url("r")
    async with Room.join(url, name="bot"):
        alice = await join_in_browser(browser, url, "alice")
        bob = await join_in_browser(browser, url, "bob")
        try:
            for page in (alice, bob):
                await within(
                    page.locator("[data-participant-name]").nth(2).wait_for(),
                    "three tiles",
                )
                assert await tile_names(page) == ["alice", "bob", "bot"]
                for name in ("alice", "bob", "bot"):
                    await assert_video_plays(page, name)
            ARTIFACTS.mkdir(exist_ok=True)
            await asyncio.sleep(0.5)  # let every tile paint a fresh frame
            await alice.screenshot(path=str(ARTIFACTS / "web-sdk-grid.png"))
            assert (ARTIFACTS / "web-sdk-grid.png").stat().st_size > 10_000
        finally:
            await close_pages(alice, bob)


@pytest.mark.timeout(120)
async def test_chat_between_browser_and_bot(web_stack: LocalStack, browser: Browser) -> None:
    """A chat message goes each way: bot -> browser log, browser form -> bot."""
    await web_stack.create_room("r")
    url = web_stack.room_url("r")
    async with Room.join(url, name="bot") as bot:
        events = Collector(bot)
        page = await join_in_browser(browser, url, "alice")
        try:
            await bot.send("hello from the bot", topic="chat")
            log = page.get_by_role("log", name="Chat messages")
            await log.get_by_text("hello from the bot").wait_for(timeout=STEP * 1000)
            assert "bot" in await log.inner_text()

            await page.get_by_role("textbox", name="Message").fill("hello from alice")
            await page.get_by_role("button", name="Send").click()
            got = await events.wait_for(
                lambda e: isinstance(e, DataReceived) and e.topic == "chat",
                "the bot to receive alice's chat message",
            )
            assert isinstance(got, DataReceived)
            assert got.data == "hello from alice"
            alice_ids = [p.id for p in bot.participants.values() if p.name == "alice"]
            assert got.sender in alice_ids
        finally:
            await events.close()
            await close_pages(page)


@pytest.mark.timeout(120)
async def test_leaving_in_the_browser_is_seen_by_the_bot(
    web_stack: LocalStack, browser: Browser
) -> None:
    """Pressing Leave: the bot gets ``participant left`` for the browser's participant."""
    await web_stack.create_room("r")
    url = web_stack.room_url("r")
    async with Room.join(url, name="bot") as bot:
        events = Collector(bot)
        page = await join_in_browser(browser, url, "alice")
        try:
            await events.wait_for(
                lambda e: isinstance(e, TrackSubscribed) and e.participant.name == "alice",
                "alice's tracks at the bot",
            )
            alice_id = next(p.id for p in bot.participants.values() if p.name == "alice")
            started = time.monotonic()
            await page.get_by_role("button", name="Leave").click()
            await page.get_by_text("You left the room.").wait_for(timeout=STEP * 1000)
            left = await events.wait_for(
                lambda e: isinstance(e, ParticipantLeft) and e.participant.id == alice_id,
                "the bot to see alice leave",
            )
            assert isinstance(left, ParticipantLeft)
            assert left.reason == "left"
            assert time.monotonic() - started < 10, "leaving should be seen at once"
            assert alice_id not in bot.participants
        finally:
            await events.close()
            await close_pages(page)
