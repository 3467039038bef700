"""The SFU's socket away and back (API Gateway's age limit, a blip), with the test playing
the SFU: nobody mid-call hears ``sfu_ready``; whoever was told the SFU is not ready hears it
when it is back; participants that resumed meanwhile are announced to the SFU again; a
participant away across the blip gets no ``sfu_ready``, one away across a new SFU does."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from arbiter_server.lambdas.rooms import reset_sfu, restart_lost_sfus
from arbiter_server.local import LocalStack
from tests.utils import ManualLauncher, WsPeer

pytestmark = pytest.mark.timeout(30)

SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


async def _sfu(stack: LocalStack, token: str, hello: str = "identify") -> tuple[WsPeer, str]:
    """An SFU socket identified (``identify`` with a code, or ``resume``); its credential."""
    peer = await WsPeer.connect(f"ws://127.0.0.1:{stack.port}/ws")
    key = "token" if hello == "identify" else "refresh_token"
    await peer.send({"action": hello, "v": 1, key: token})
    msg = await peer.expect("identified")
    assert msg["role"] == "sfu"
    return peer, str(msg["refresh_token"])


async def _join(stack: LocalStack, name: str) -> tuple[WsPeer, dict[str, Any], dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        joined: dict[str, Any] = (
            await http.post(f"{stack.room_url('r')}/join", json={"name": name})
        ).json()
    peer = await WsPeer.connect(joined["signaling_url"])
    await peer.send({"action": "identify", "v": 1, "token": joined["token"]})
    return peer, joined, await peer.expect("identified")


async def _resume(stack: LocalStack, credential: str) -> tuple[WsPeer, dict[str, Any]]:
    peer = await WsPeer.connect(f"ws://127.0.0.1:{stack.port}/ws")
    await peer.send({"action": "resume", "v": 1, "refresh_token": credential})
    return peer, await peer.expect("identified")


async def _until_sfu_state(stack: LocalStack, state: str) -> None:
    assert stack.store is not None
    async with asyncio.timeout(5):
        while (room := stack.store.get_room("r")) is None or room.sfu_state != state:
            await asyncio.sleep(0.02)


async def test_a_newcomer_told_the_sfu_is_away_hears_sfu_ready_when_it_resumes(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    await stack.create_room("r")
    sfu, credential = await _sfu(stack, launcher.tokens["r"])
    alice, alice_join, me = await _join(stack, "alice")
    assert me["sfu_ready"] is True
    await sfu.expect("participant_joined")

    await sfu.close()  # the SFU's socket reaches its age limit
    await _until_sfu_state(stack, "starting")
    bob, bob_join, bob_me = await _join(stack, "bob")
    assert bob_me["sfu_ready"] is False  # bob waits for sfu_ready
    await alice.expect("participant_joined")
    # alice's socket is replaced too, while the SFU's is away: her media is untouched
    await alice.close()
    alice, again = await _resume(stack, alice_join["refresh_token"])
    assert again["resumed"] is True and again["sfu_ready"] is False

    sfu, _ = await _sfu(stack, credential, "resume")  # the same SFU on a new socket
    # the SFU hears of alice again (what it sent her meanwhile was lost); bob it knows
    # from its identified
    announced = await sfu.expect("participant_joined")
    assert announced["participant"]["id"] == alice_join["participant_id"]
    assert (await bob.expect("sfu_ready"))["room_id"] == "r"
    await alice.assert_silent()  # no sfu_ready mid-call
    # handshakes reach the SFU again
    await bob.send({"action": "handshake", "v": 1, "connection": "producer", "sdp": SDP_OFFER})
    assert (await sfu.expect("handshake"))["participant_id"] == bob_join["participant_id"]
    for peer in (alice, bob, sfu):
        await peer.close()


SDP_OFFER = {"type": "offer", "sdp": SDP}


async def test_an_offer_that_finds_the_sfu_away_is_owed_sfu_ready_an_answer_is_offered_again(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    """A producer offer refused with sfu_unavailable: sfu_ready when the SFU is back (the
    client offers again). A consumer answer is dropped: the SFU hears of its sender again
    (and sends the offer that waits for an answer again); no error, no sfu_ready."""
    stack, launcher = manual_stack
    await stack.create_room("r")
    sfu, credential = await _sfu(stack, launcher.tokens["r"])
    alice, _, _ = await _join(stack, "alice")
    await sfu.expect("participant_joined")
    bob, bob_join, _ = await _join(stack, "bob")
    await sfu.expect("participant_joined")
    await alice.expect("participant_joined")
    await sfu.close()
    await _until_sfu_state(stack, "starting")
    await alice.send({"action": "handshake", "v": 1, "connection": "producer", "sdp": SDP_OFFER})
    answer = {"type": "answer", "sdp": SDP}
    await bob.send({"action": "handshake", "v": 1, "connection": "consumer", "sdp": answer})
    refused = await alice.expect("error")
    assert (refused["code"], refused["ref"]) == ("sfu_unavailable", "handshake")
    await bob.assert_silent()
    sfu, _ = await _sfu(stack, credential, "resume")
    assert (await alice.expect("sfu_ready"))["room_id"] == "r"  # offer again now
    announced = await sfu.expect("participant_joined")
    assert announced["participant"]["id"] == bob_join["participant_id"]
    await bob.assert_silent()
    for peer in (alice, bob, sfu):
        await peer.close()


async def test_away_across_an_sfu_blip_no_sfu_ready_across_a_new_sfu_one(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    services = stack.services
    assert services is not None
    await stack.create_room("r")
    sfu, credential = await _sfu(stack, launcher.tokens["r"])
    alice, joined, _ = await _join(stack, "alice")
    await sfu.expect("participant_joined")

    # alice away; the SFU's socket drops and comes back; alice resumes: nothing to redo
    await alice.close()
    await sfu.close()
    await _until_sfu_state(stack, "starting")
    sfu, credential = await _sfu(stack, credential, "resume")
    alice, again = await _resume(stack, joined["refresh_token"])
    assert again["resumed"] is True and again["sfu_ready"] is True
    await alice.assert_silent()

    # alice away; the room gets a new SFU meanwhile; alice resumes: she publishes anew
    await alice.close()
    room = services.store.get_room("r")
    assert room is not None
    await asyncio.to_thread(reset_sfu, services, room, "test: a new SFU")
    assert await asyncio.to_thread(restart_lost_sfus, services) == ["r"]
    new_sfu, _ = await _sfu(stack, launcher.tokens["r"])
    alice, again = await _resume(stack, again["refresh_token"])
    assert again["resumed"] is True and again["sfu_ready"] is True
    assert (await alice.expect("sfu_ready"))["room_id"] == "r"
    for peer in (alice, sfu, new_sfu):
        await peer.close()
