"""Moderation seen in Chromium (marker ``scenarios``): the web SDK's demo page joins a
private room with a grant (``?token=``); a Python moderator holds another participant's
microphone muted and removes it, then does the same to the page; the page shows all four."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from arbiter_client import ParticipantJoined, ParticipantRemoved, Room, TrackMuted, TrackSubscribed
from arbiter_protocol import mint_grant
from arbiter_server.local import LocalStack
from tests.web.test_browser import STEP, Collector, assert_video_plays, close_pages

pytestmark = [pytest.mark.scenarios, pytest.mark.timeout(120)]

MODERATOR = ("publish", "subscribe", "data", "screen", "moderator")


async def test_the_page_shows_others_and_itself_held_muted_and_removed(
    web_stack: LocalStack, browser: Browser
) -> None:
    url = await web_stack.create_room("clinic", private=True)
    host = mint_grant(web_stack.api_key, "clinic", "dr-ada", name="host", grants=MODERATOR)
    patient = mint_grant(web_stack.api_key, "clinic", "pat-7", name="alice")
    async with Room.join(url, token=host) as bot:
        events = Collector(bot)
        context = await browser.new_context(viewport={"width": 1280, "height": 720})
        page = await context.new_page()
        page.on("console", lambda msg: print(f"[alice console] {msg.type}: {msg.text}"))
        try:
            await page.goto(f"{url}?token={patient}")  # no pre-join: the grant names her
            await page.locator('.arb-conference[data-state="connected"]').wait_for(
                timeout=STEP * 1000
            )
            sub = await events.wait_for(
                lambda e: isinstance(e, TrackSubscribed) and e.participant.name == "alice",
                "alice's tracks at the moderator",
            )
            assert isinstance(sub, TrackSubscribed) and sub.participant.identity == "pat-7"
            alice = sub.participant.id

            # another participant held muted, then removed: the page shows both
            async with Room.join(
                url, token=mint_grant(web_stack.api_key, "clinic", "bob"), video_size=(160, 120)
            ) as bob:
                tile = page.get_by_role("group", name="bob", exact=True)
                await tile.wait_for(timeout=STEP * 1000)
                await bot.mute_participant(bob.participant_id, "audio")
                await tile.get_by_role("img", name="microphone held muted by a moderator").wait_for(
                    timeout=STEP * 1000
                )
                await bot.remove_participant(bob.participant_id)
                notice = page.get_by_role("status").filter(has_text="bob was removed")
                await notice.wait_for(timeout=STEP * 1000)
                assert await notice.inner_text() == "bob was removed by a moderator"
                await tile.wait_for(state="detached", timeout=STEP * 1000)

            await bot.mute_participant(alice, "audio")
            own = page.get_by_role("group", name="alice (you)")
            await own.get_by_role("img", name="microphone held muted by a moderator").wait_for(
                timeout=STEP * 1000
            )
            muted = await events.wait_for(
                lambda e: isinstance(e, TrackMuted) and e.participant.id == alice,
                "alice shown muted at the moderator",
            )
            assert isinstance(muted, TrackMuted) and muted.by == bot.participant_id

            await bot.remove_participant(alice, reason="consultation over")
            alert = page.get_by_role("alert")
            await alert.wait_for(timeout=STEP * 1000)
            assert await alert.inner_text() == (
                "You were removed from the room. (consultation over)"
            )
            removed = await events.wait_for(
                lambda e: isinstance(e, ParticipantRemoved) and e.participant.id == alice,
                "alice's ParticipantRemoved",
            )
            assert isinstance(removed, ParticipantRemoved) and removed.participant.id == alice
        finally:
            await events.close()
            await close_pages(page)


async def test_a_viewer_grant_joins_the_page_receiving_only(
    web_stack: LocalStack, browser: Browser
) -> None:
    url = await web_stack.create_room("lecture", private=True)
    viewer = mint_grant(
        web_stack.api_key, "lecture", "student-1", name="student", grants=["subscribe"]
    )
    lecturer = mint_grant(web_stack.api_key, "lecture", "prof", name="prof")
    async with Room.join(url, token=lecturer, video_size=(320, 240)) as bot:
        events = Collector(bot)
        context = await browser.new_context(viewport={"width": 1280, "height": 720})
        page = await context.new_page()
        try:
            page.on("console", lambda msg: print(f"[viewer console] {msg.type}: {msg.text}"))
            await page.goto(f"{url}?token={viewer}")
            await page.locator('.arb-conference[data-state="connected"]').wait_for(
                timeout=STEP * 1000
            )
            # it receives the lecturer's video
            await assert_video_plays(page, "prof")
            # and publishes nothing (the SFU would refuse the join): its own tile has no
            # microphone or camera, and their buttons are disabled
            own = page.get_by_role("group", name="student (you)")
            await own.get_by_role("img", name="microphone off").wait_for(timeout=STEP * 1000)
            await own.get_by_role("img", name="camera off").wait_for(timeout=STEP * 1000)
            for label in ("Microphone", "Camera"):
                assert await page.get_by_role("button", name=label, exact=True).is_disabled()
            joined = await events.wait_for(
                lambda e: isinstance(e, ParticipantJoined) and e.participant.name == "student",
                "the viewer joined",
            )
            assert isinstance(joined, ParticipantJoined)
            assert joined.participant.identity == "student-1"
        finally:
            await events.close()
            await close_pages(page)
