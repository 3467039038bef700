"""The terminal app under moderation (marker ``scenarios``): it joins a private room with a
grant, shows another participant held muted and removed, then its own microphone held
muted by a moderator, and that it was removed."""

from __future__ import annotations

import pytest
from arbiter_tui import ArbiterTUI

from arbiter_client import Room
from arbiter_protocol import mint_grant
from arbiter_server.local import LocalStack

from .test_app import wait_until

pytestmark = [pytest.mark.scenarios, pytest.mark.timeout(90)]


async def test_the_app_shows_it_was_held_muted_and_removed(stack: LocalStack) -> None:
    url = await stack.create_room("desk", private=True)
    host = mint_grant(
        stack.api_key, "desk", "host", grants=["publish", "subscribe", "data", "moderator"]
    )
    async with Room.join(url, token=host, video_size=(160, 120), fps=10) as moderator:
        app = ArbiterTUI(
            url,
            name="ignored",
            publish="test",
            video_size=(160, 120),
            fps=5,
            audio_out=None,
            token=mint_grant(stack.api_key, "desk", "guest-1", name="Guest"),
        )
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: app.room is not None, 20, "the app to join")
            assert app.room is not None and app.room.local_participant.name == "Guest"
            me = app.room.participant_id
            await wait_until(pilot, lambda: me in moderator.participants, 10, "the host sees it")
            # another participant held muted, then removed: the app says so
            bob = await Room.join(
                url,
                token=mint_grant(stack.api_key, "desk", "bob", name="bob"),
                video_size=(160, 120),
                fps=10,
            )
            notes = app.chat.notes
            try:
                await wait_until(
                    pilot, lambda: bob.participant_id in app.room.participants, 10, "bob seen"
                )
                await moderator.mute_participant(bob.participant_id, "audio")
                await wait_until(
                    pilot,
                    lambda: "bob's microphone is held muted by a moderator" in notes,
                    10,
                    "bob shown held muted",
                )
                await moderator.remove_participant(bob.participant_id, reason="bye")
                await wait_until(
                    pilot, lambda: "bob was removed by a moderator" in notes, 10, "bob removed"
                )
            finally:
                await bob.leave()
            await moderator.mute_participant(me, "audio")
            await wait_until(
                pilot, lambda: app.status.mic == "held by moderator", 10, "the mic held"
            )
            await moderator.remove_participant(me, reason="done")
            await wait_until(
                pilot,
                lambda: (app.status.state, app.status.reason) == ("disconnected", "removed"),
                10,
                "the app to show it was removed",
            )


async def test_the_app_shows_it_waits_in_the_lobby_and_was_denied(stack: LocalStack) -> None:
    url = await stack.create_room("door", private=True, lobby=True)
    host = mint_grant(stack.api_key, "door", "host", grants=["subscribe", "moderator"])
    async with Room.join(url, token=host, publish=None) as moderator:
        app = ArbiterTUI(
            url,
            name="ignored",
            publish="test",
            video_size=(160, 120),
            fps=5,
            audio_out=None,
            token=mint_grant(stack.api_key, "door", "guest-2", name="Knocker", lobby=True),
        )
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: app.status.state == "waiting", 20, "the app to wait")
            assert app.status.reason == "in the lobby until a moderator lets you in"
            await wait_until(pilot, lambda: bool(moderator.waiting), 10, "the host sees it")
            (knocker,) = moderator.waiting.values()
            assert knocker.name == "Knocker"
            await moderator.deny(knocker.id, reason="closed today")
            await wait_until(
                pilot, lambda: app.status.state == "failed", 10, "the app to show the refusal"
            )
            assert app.status.reason == "a moderator did not admit you: closed today"
