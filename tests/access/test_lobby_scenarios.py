"""A room with a lobby, end to end with Python clients (marker ``scenarios``).

Joiners without a grant (and grants that say ``lobby``) wait; the moderator sees each one
(event and list) and admits or denies; the waiting client sees its state and the outcome.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from arbiter_client import (
    AdmissionDenied,
    ParticipantJoined,
    ParticipantWaiting,
    Room,
    TrackSubscribed,
)

from .helpers import MODERATOR, Collector, grant, running_stack, within

pytestmark = [pytest.mark.scenarios, pytest.mark.timeout(120)]


async def test_the_lobby_admits_and_denies(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        url = await stack.create_room("surgery", private=True, lobby=True)
        host = await Room.join(url, token=grant(stack, "surgery", "dr-who", grants=MODERATOR))
        seen = Collector(host)
        waited: list[str] = []
        try:
            # a walk-in (no grant) waits; the join does not return meanwhile
            walk_in = asyncio.ensure_future(
                Room.join(url, name="walk-in", on_waiting=lambda: waited.append("walk-in"))
            )
            arrived = await seen.wait_for(
                lambda e: isinstance(e, ParticipantWaiting), "the walk-in in the lobby"
            )
            assert isinstance(arrived, ParticipantWaiting)
            assert arrived.participant.name == "walk-in" and waited == ["walk-in"]
            assert list(host.waiting) == [arrived.participant.id]
            assert not walk_in.done()
            # nobody in the room heard of it
            assert arrived.participant.id not in host.participants

            await host.admit(arrived.participant.id)
            guest = await within(walk_in, "the admitted join")
            assert guest.participant_id == arrived.participant.id and not host.waiting
            await seen.wait_for(
                lambda e: (
                    isinstance(e, ParticipantJoined) and e.participant.id == guest.participant_id
                ),
                "the guest joined",
            )
            await seen.wait_for(
                lambda e: (
                    isinstance(e, TrackSubscribed) and e.participant.id == guest.participant_id
                ),
                "the guest's media",
            )

            # a grant that says lobby waits too; this one is denied
            token = grant(stack, "surgery", "patient-2", name="Bea", lobby=True)
            refused = asyncio.ensure_future(Room.join(url, token=token))
            second = await seen.wait_for(
                lambda e: isinstance(e, ParticipantWaiting) and e.participant.name == "Bea",
                "Bea in the lobby",
            )
            assert isinstance(second, ParticipantWaiting)
            assert second.participant.identity == "patient-2"
            await host.deny(second.participant.id, reason="not today")
            with pytest.raises(AdmissionDenied) as denied:
                await within(refused, "the denied join")
            assert denied.value.by == host.participant_id
            assert str(denied.value) == "a moderator did not admit you: not today"
            assert not host.waiting
            await guest.leave()
        finally:
            await seen.close()
            await host.leave()


IDLE = 2
"The gateway's idle timeout in the next test (API Gateway's is 600 s)."


async def test_a_walk_in_waits_past_the_idle_timeout_and_is_admitted(tmp_path: Path) -> None:
    """Its socket kept alive and its refresh credential renewed (4 s here) while it waits."""
    async with running_stack(tmp_path, idle_timeout=IDLE, token_ttl=4, refresh_ttl=4) as stack:
        gateway = stack.gateway
        assert gateway is not None
        url = await stack.create_room("late", private=False, lobby=True)
        host = await Room.join(url, token=grant(stack, "late", "host", grants=MODERATOR))
        seen = Collector(host)
        try:
            walk_in = asyncio.ensure_future(Room.join(url, name="walk-in"))
            arrived = await seen.wait_for(
                lambda e: isinstance(e, ParticipantWaiting), "the walk-in in the lobby"
            )
            assert isinstance(arrived, ParticipantWaiting)
            # the lobby's socket is quiet but for keepalive: let 3 idle timeouts go by,
            # seeing keepalives answered all along (the clients' and the SFU's)
            loop = asyncio.get_running_loop()
            quiet_from, quiet_from_wall = loop.time(), time.time()
            while loop.time() - quiet_from < 3 * IDLE:
                count = gateway.stats.keepalives
                await within(
                    _until(lambda count=count: gateway.stats.keepalives > count), "a keepalive"
                )
            assert gateway.stats.closed.get("idle", 0) == 0, gateway.stats.snapshot()
            assert list(host.waiting) == [arrived.participant.id] and not walk_in.done()
            # its credential (4 s) was renewed meanwhile: it still works past its first life
            store = stack.store
            assert store is not None
            session = store.get_session(arrived.participant.id)
            assert session is not None and session.refresh_expires_at > quiet_from_wall + 4
            await host.admit(arrived.participant.id)
            guest = await within(walk_in, "the admitted join")
            assert guest.participant_id == arrived.participant.id
            await guest.leave()
        finally:
            await seen.close()
            await host.leave()


async def _until(condition: Callable[[], bool]) -> None:
    """Return once ``condition`` holds (checked every 20 ms; the caller bounds the wait)."""
    while not condition():
        await asyncio.sleep(0.02)
