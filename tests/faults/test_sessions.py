"""Sessions that last, against a running ``arbiter-server dev`` with time compressed: API
Gateway's idle timeout and connection age replace every signaling socket (the SFU's too)
while the call goes on; short tokens and refresh credentials keep the same participants; a
session ends with ``session_expired``; a killed SFU is replaced under a browser; sockets
frozen half-open (the in-process stack behind a proxy) are found dead and replaced."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from arbiter_client import Room
from arbiter_server.lambdas.page import find_web_dir
from arbiter_server.launcher import SubprocessLauncher
from arbiter_server.local import LocalStack, LocalStackConfig
from tests.conftest import running_stack
from tests.faults.dev import Dev
from tests.faults.freezer import FreezingProxy
from tests.faults.watch import ClientWatch, gateway_stats, page_report, watch_page
from tests.web.test_browser import join_in_browser

pytestmark = [pytest.mark.faults]

ROOM = ("--no-bot", "--pool-size", "0", "--no-turn", "--room", "talk", "--debug-stats")
MAX_GAP = 2.0
"Seconds a participant's video may pause at any other participant."


async def start_dev(devs: list[Dev], data_dir: Path, *args: str) -> Dev:
    data_dir.mkdir(exist_ok=True)
    dev = Dev(data_dir, *ROOM, *args)
    devs.append(dev)
    await dev.start()
    return dev


async def join_call(url: str, browser: Browser) -> tuple[Room, Room, list[ClientWatch], Page]:
    """Python clients ``a`` and ``b`` (watched) and a Chromium page ``web`` in one room."""
    a = await Room.join(url, name="a", video_size=(320, 240))
    b = await Room.join(url, name="b", video_size=(320, 240))
    watches = [ClientWatch(a, "a").start(), ClientWatch(b, "b").start()]
    return a, b, watches, await join_in_browser(browser, url, "web")


async def until(check: object, timeout: float, what: str) -> None:
    assert callable(check)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        await asyncio.sleep(0.1)


@pytest.mark.timeout(150)
async def test_a_call_survives_api_gateway_limits_in_compressed_time(
    tmp_path: Path, devs: list[Dev], browser: Browser
) -> None:
    """``dev --idle-timeout 3 --max-connection-age 10``, two Python clients and a Chromium
    page for 40 s: nobody sees a leave, no video pauses more than 2 s anywhere, and every
    signaling socket, the SFU's included, is replaced at least three times."""
    dev = await start_dev(
        devs, tmp_path / "data", "--idle-timeout", "3", "--max-connection-age", "10"
    )
    url, api = dev.facts["url"], dev.facts["api"]
    a, b, watches, page = await join_call(url, browser)
    try:
        await watch_page(page)

        def everyone_sees_everyone() -> bool:
            return all(set(w.last_frame) == {"a", "b", "web"} - {w.name} for w in watches)

        await until(everyone_sees_everyone, 30, "video from everyone at both clients")
        start = time.monotonic()
        await until(lambda: time.monotonic() - start > 40, 45, "40 s of the call")
        stats = await gateway_stats(api)
        report = await page_report(page)
    finally:
        for w in watches:
            await w.close()
        await page.context.close()
        for room in (a, b):
            await room.leave()

    gaps = {f"{s}->{w.name}": gap for w in watches for s, gap in w.gaps_until_now().items()}
    gaps.update({f"{s}->web": gap for s, gap in report["gaps"].items() if s != "web"})
    shown = {pair: round(gap, 3) for pair, gap in sorted(gaps.items())}
    print(f"\nlargest video gap per pair (s): {shown}")
    print(f"largest of all: {max(gaps.values()):.3f} s")
    print(f"socket replacements per holder: {stats['resumes']}")
    print(f"sockets: opened {stats['opened']}, closed {stats['closed']}")
    assert len(gaps) == 6, gaps
    assert max(gaps.values()) <= MAX_GAP, gaps
    for w in watches:
        assert w.left == [] and w.disconnected is None, (w.name, w.left, w.disconnected)
        assert "disconnected" not in w.states, (w.name, w.states)
    assert report["removed"] == [], report
    assert set(report["states"]) <= {"connected", "reconnecting"}, report["states"]
    holders = {f"participant:{r.participant_id}" for r in (a, b)} | {"sfu:talk"}
    assert len(stats["resumes"]) == 4, stats["resumes"]  # the page's participant too
    assert holders <= set(stats["resumes"]), stats["resumes"]
    assert min(stats["resumes"].values()) >= 3, stats["resumes"]
    assert stats["closed"].get("age", 0) >= 12, stats["closed"]  # 4 holders, every 10 s
    assert stats["closed"].get("idle", 0) == 0, stats["closed"]  # keepalive holds them


SHORT = ("--token-ttl", "5", "--refresh-ttl", "5", "--max-connection-age", "10")
"Join tokens and refresh credentials of 5 s (no grace), sockets replaced every 10 s."


@pytest.mark.timeout(180)
async def test_short_credentials_keep_the_same_participants_until_the_session_ends(
    tmp_path: Path, devs: list[Dev], browser: Browser
) -> None:
    """Two stacks with 5 s tokens and refresh credentials and sockets replaced every 10 s,
    each with two Python clients and a Chromium page. With the default lifetime everyone
    stays the same participant for 60 s and nobody sees a leave; with a 30 s lifetime
    everyone ends with ``session_expired`` (the page shows it)."""
    lasting, ending = await asyncio.gather(
        start_dev(devs, tmp_path / "lasting", *SHORT),
        start_dev(devs, tmp_path / "ending", *SHORT, "--session-lifetime", "30"),
    )
    rooms: list[Room] = []
    watches: dict[str, list[ClientWatch]] = {}
    pages = {}
    try:
        for dev, tag in ((lasting, "lasting"), (ending, "ending")):
            url = dev.facts["url"]
            joined = [
                await Room.join(url, name=n, video_size=(160, 120), reconnect_timeout=10)
                for n in ("a", "b")
            ]
            rooms += joined
            watches[tag] = [ClientWatch(r, n).start() for r, n in zip(joined, "ab", strict=True)]
            pages[tag] = await join_in_browser(browser, url, "web")
            await watch_page(pages[tag])
        started = time.monotonic()
        ids = [r.participant_id for r in rooms]
        ending_page = pages["ending"].get_by_text("the session has reached its lifetime")
        await ending_page.wait_for(timeout=45_000)
        ended_after = time.monotonic() - started
        await until(lambda: all(w.disconnected for w in watches["ending"]), 15, "ends")
        await until(lambda: time.monotonic() - started > 60, 65, "60 s of the call")
        stats = await gateway_stats(lasting.facts["api"])
        report = await page_report(pages["lasting"])
    finally:
        for w in [w for ws in watches.values() for w in ws]:
            await w.close()
        for page in pages.values():
            await page.context.close()
        for room in rooms:
            await room.leave()
    print(f"\nlasting stack, socket replacements per holder: {stats['resumes']}")
    print(f"the 30 s sessions ended after {ended_after:.1f} s of the call")
    assert [r.participant_id for r in rooms] == ids
    for w in watches["lasting"]:
        assert w.left == [] and w.disconnected is None, (w.name, w.left, w.disconnected)
        assert set(w.gaps_until_now()) == {"a", "b", "web"} - {w.name}
        assert max(w.gaps_until_now().values()) <= MAX_GAP, w.gaps_until_now()
    assert report["removed"] == [], report
    assert set(report["states"]) <= {"connected", "reconnecting"}, report["states"]
    assert len(stats["resumes"]) == 4 and min(stats["resumes"].values()) >= 5, stats
    for w in watches["ending"]:
        assert w.disconnected == "session_expired", (w.name, w.disconnected)
        # the others' sessions ended too: the only leaves anyone saw
        assert {reason for _, reason in w.left} <= {"session_expired"}, w.left


@pytest.mark.timeout(150)
async def test_a_killed_sfu_is_replaced_under_a_browser_without_a_leave(
    tmp_path: Path, devs: list[Dev], browser: Browser
) -> None:
    """SIGKILL the room's SFU mid-call: the page plays both Python clients' video again
    within 10 s, publishes to the new SFU (both clients get its video again), and never
    shows anyone leave."""
    dev = await start_dev(devs, tmp_path / "data")
    a, b, watches, page = await join_call(dev.facts["url"], browser)
    try:
        await watch_page(page)

        async def playing(since: float) -> bool:
            """Frames of both a and b have come in the page since ``since``."""
            ages = (await page_report(page))["ages"]
            elapsed = time.monotonic() - since
            return all(name in ages and ages[name] < elapsed for name in ("a", "b"))

        started = time.monotonic()
        while not await playing(started):  # frames newer than the join
            assert time.monotonic() - started < 30, "the page never played a and b"
            await asyncio.sleep(0.2)
        sfus = dev.sfu_pids()
        assert len(sfus) == 1, sfus
        os.kill(sfus[0], signal.SIGKILL)
        killed = time.monotonic()
        await until(lambda: dev.sfu_pids() not in ([], sfus), 15, "a new SFU process")
        while not await playing(killed):
            assert time.monotonic() - killed < 10, (
                f"the page's videos did not play again within 10 s: {await page_report(page)}"
            )
            await asyncio.sleep(0.2)
        back = time.monotonic() - killed

        async def connected() -> bool:
            return bool((await page_report(page))["states"][-1] == "connected")

        while not await connected():  # the new producer is up too
            assert time.monotonic() - killed < 20, await page_report(page)
            await asyncio.sleep(0.2)
        # the page published to the new SFU: both clients get its video again
        await until(
            lambda: all(w.last_frame.get("web", 0.0) > killed for w in watches),
            10,
            "the page's video at both clients after the new SFU",
        )
        report = await page_report(page)
    finally:
        await page.context.close()
        for w in watches:
            await w.close()
        for room in (a, b):
            await room.leave()
    print(f"\nvideo back in the page {back:.2f} s after SIGKILL; states {report['states']}")
    assert report["removed"] == [], report
    assert all(w.left == [] for w in watches), [w.left for w in watches]
    assert report["states"] == ["connected", "reconnecting", "connected"], report["states"]


@pytest.mark.timeout(120)
async def test_half_open_sockets_are_found_dead_by_keepalive_and_replaced(
    tmp_path: Path, browser: Browser
) -> None:
    """Every signaling socket (two Python clients, a Chromium page, the SFU) goes through a
    proxy that freezes them: no byte either way, no close. Each holder finds its socket
    dead when a keepalive goes unanswered and resumes on a new one; media never stops and
    nobody sees a leave."""
    page_dir = find_web_dir()
    assert page_dir is not None, "the demo page is not built: run `npm run build` in apps/web-sdk"
    proxy = FreezingProxy()
    port = await proxy.listen()
    config = LocalStackConfig(
        data_dir=tmp_path,
        port=0,
        pool_size=0,
        web_dir=page_dir,
        idle_timeout=3,
        settings={"signaling_url": f"ws://127.0.0.1:{port}/ws"},
        # the SFU process through the proxy too
        launcher_factory=lambda s: SubprocessLauncher(s.signaling_url, tmp_path / "logs"),
    )
    rooms: list[Room] = []
    watches: list[ClientWatch] = []
    async with running_stack(config) as stack:
        proxy.target = stack.port
        try:
            report, replaced_after, frozen_at = await _freeze_and_watch(
                stack, proxy, browser, rooms, watches
            )
        finally:
            for w in watches:
                await w.close()
            for room in rooms:
                await room.leave()
            await proxy.close()
    gaps = {f"{s}->{w.name}": g for w in watches for s, g in w.gaps_until_now().items()}
    gaps.update({f"{s}->web": g for s, g in report["gaps"].items() if s != "web"})
    print(f"\nevery socket replaced {replaced_after:.1f} s after the freeze; largest gaps {gaps}")
    for w in watches:  # when each sender's longest pause ended, from the freeze
        print(w.name, {s: round(t - frozen_at, 2) for s, t in w.gap_ended_at.items()})
    assert max(gaps.values()) <= MAX_GAP, gaps
    for w in watches:
        assert w.left == [] and w.disconnected is None, (w.name, w.left)
        assert w.states == ["connected", "reconnecting", "reconnected"], (w.name, w.states)
    assert report["removed"] == [], report
    assert report["states"] == ["connected", "reconnecting", "connected"], report["states"]


async def _freeze_and_watch(
    stack: LocalStack,
    proxy: FreezingProxy,
    browser: Browser,
    rooms: list[Room],
    watches: list[ClientWatch],
) -> tuple[dict[str, Any], float, float]:
    """Two clients and a page in a call; freeze every socket; wait until every holder is on
    a new one, then 2 s more. Returns the page's report, how long the replacement took,
    and when the freeze was."""
    url = await stack.create_room("blip")
    for name in ("a", "b"):
        rooms.append(await Room.join(url, name=name, video_size=(160, 120)))
        watches.append(ClientWatch(rooms[-1], name).start())
    page = await join_in_browser(browser, url, "web")
    try:
        await watch_page(page)
        await until(
            lambda: all(set(w.last_frame) == {"a", "b", "web"} - {w.name} for w in watches),
            30,
            "video from everyone",
        )
        assert proxy.freeze() == 4  # the SFU's, a's, b's and the page's sockets
        frozen_at = time.monotonic()
        gateway = stack.gateway
        assert gateway is not None
        holders = {f"participant:{r.participant_id}" for r in rooms} | {"sfu:blip"}
        await until(
            lambda: len(gateway.stats.resumes) == 4 and holders <= set(gateway.stats.resumes),
            15,
            "every holder on a new socket",
        )
        replaced_after = time.monotonic() - frozen_at
        await until(lambda: time.monotonic() - frozen_at > replaced_after + 2, 5, "2 s more")
        return await page_report(page), replaced_after, frozen_at
    finally:
        await page.context.close()
