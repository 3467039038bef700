"""A browser's media path that dies comes back within 10 s, against ``arbiter-server dev``.

A Chromium page joins relay-only (the demo's ``?ice=relay``: every path through coturn)
beside a Python bot with direct paths; coturn is killed (``dev`` starts it again). The
page finds its producer's path dead from its statistics and replaces the connection; the
SFU replaces the page's consumer. Both under the same participants, with no leave and no
new SFU (``docs/signaling.md``, "Media paths that die").
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
from playwright.async_api import Browser

from arbiter_client import Room
from tests.faults.dev import Dev, wait_until
from tests.faults.watch import ClientWatch, page_report, watch_page
from tests.web.test_browser import join_in_browser

pytestmark = [pytest.mark.faults, pytest.mark.timeout(150)]

BOUND = 10.0
"Seconds within which the video must be back both ways."
OUTAGE = 1.0
"A pause this long after the kill shows the fault reached the path."


def _turn_pid(dev: Dev) -> int | None:
    found = [p.pid for p in dev.children() if "turnserver" in " ".join(p.cmdline())]
    return found[0] if found else None


async def test_a_relay_only_browser_gets_its_media_back_within_10_s_when_coturn_is_killed(
    dev: Dev, rooms: list[Room], browser: Browser
) -> None:
    await dev.start()
    url = dev.facts["url"]
    bot = await Room.join(url, name="bot", video_size=(160, 120), fps=10)
    rooms.append(bot)
    watch = ClientWatch(bot, "bot").start()
    page = await join_in_browser(browser, f"{url}?ice=relay", "web")
    try:
        await watch_page(page)

        async def page_plays_bot() -> bool:
            ages = (await page_report(page))["ages"]
            return "bot" in ages and ages["bot"] < 0.5

        start = time.monotonic()
        while not (await page_plays_bot() and watch.last_frame.get("web", 0.0) > start):
            assert time.monotonic() - start < 30, "video never flowed both ways"
            await asyncio.sleep(0.1)
        ids = {p.name: pid for pid, p in bot.participants.items()}
        sfus = dev.sfu_pids()
        turn = _turn_pid(dev)
        assert turn is not None
        watch.largest_gap.clear()
        await page.evaluate("() => { window.__arbiterWatch.gaps = {}; }")
        os.kill(turn, signal.SIGKILL)
        killed = time.monotonic()

        bot_back: float | None = None
        page_back: float | None = None
        while bot_back is None or page_back is None:
            elapsed = time.monotonic() - killed
            assert elapsed < 2 * BOUND, (
                f"not back within {2 * BOUND:g} s: bot {bot_back}, page {page_back}; "
                f"bot's gaps {watch.gaps_until_now()}, page {await page_report(page)}"
            )
            if (
                bot_back is None
                and watch.largest_gap.get("web", 0.0) >= OUTAGE
                and watch.gap_ended_at["web"] > killed
                and time.monotonic() - watch.last_frame["web"] < 0.5
            ):
                bot_back = watch.gap_ended_at["web"] - killed
            report = await page_report(page)
            if (
                page_back is None
                and report["gaps"].get("bot", 0.0) >= OUTAGE
                and report["ages"].get("bot", 99.0) < 0.5
            ):
                page_back = elapsed - report["ages"]["bot"]
            await asyncio.sleep(0.1)
        await wait_until(lambda: _turn_pid(dev) not in (None, turn), 10, "coturn restarted")
        final = await page_report(page)
    finally:
        await watch.close()
        await page.context.close()
    print(
        f"\nafter the kill: the bot got the page's video back in {bot_back:.2f} s, "
        f"the page the bot's in {page_back:.2f} s; page states {final['states']}"
    )
    assert bot_back < BOUND and page_back < BOUND, (bot_back, page_back)
    # the same participants, no leave anywhere, the same SFU
    assert {p.name: pid for pid, p in bot.participants.items()} == ids
    assert watch.left == [] and watch.disconnected is None, (watch.left, watch.disconnected)
    assert final["removed"] == [], final
    assert dev.sfu_pids() == sfus
    assert final["states"][-1] == "connected", final["states"]
    assert set(final["states"]) <= {"connected", "reconnecting"}, final["states"]
