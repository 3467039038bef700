"""The terminal app under moderation (marker ``scenarios``): it joins a private room with a
grant, shows its microphone held muted by a moderator, and that it was removed."""

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
