"""A session's rights cannot grow on the way back: join tokens, refresh and resume under grants.

A grant-minted join gets what every join gets (a single-use join token, a refresh
credential that rotates on each ``refresh`` and ``resume``), and the session keeps the
grant's permissions and role across both: a viewer that resumes is still a viewer, a
moderator still moderates. A removed participant, and one denied in the lobby, have no
session left to refresh or resume; one waiting in the lobby that resumes waits again, and
cannot reach the room (no handshake, no moderation) until admitted. Raw signaling against
a local gateway whose SFU is played by the test.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from arbiter_server.local import LocalStack
from tests.utils import ManualLauncher, WsPeer

from .helpers import MODERATOR, grant

pytestmark = pytest.mark.timeout(60)

FAKE_OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}


async def _join(stack: LocalStack, room: str, body: dict[str, object]) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        reply = await http.post(f"{stack.room_url(room)}/join", json=body)
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


async def _sfu(stack: LocalStack, launcher: ManualLauncher, room: str) -> WsPeer:
    sfu = await WsPeer.connect(stack.signaling_url)
    await sfu.send({"action": "identify", "v": 1, "token": launcher.tokens[room]})
    await sfu.expect("identified")
    return sfu


async def _identify(body: dict[str, Any]) -> tuple[WsPeer, dict[str, Any]]:
    peer = await WsPeer.connect(body["signaling_url"])
    await peer.send({"action": "identify", "v": 1, "token": body["token"]})
    return peer, await peer.expect("identified")


async def _resume(url: str, credential: str) -> tuple[WsPeer, dict[str, Any]]:
    """A new socket that resumes with ``credential``: its first reply."""
    peer = await WsPeer.connect(url)
    await peer.send({"action": "resume", "v": 1, "refresh_token": credential})
    return peer, await peer.recv()


async def _refresh(peer: WsPeer, credential: str) -> str:
    await peer.send({"action": "refresh", "v": 1, "refresh_token": credential})
    refreshed = await peer.expect("refreshed")
    fresh: str = refreshed["refresh_token"]
    return fresh


def _mute(participant_id: str) -> dict[str, object]:
    return {
        "action": "moderate",
        "v": 1,
        "op": "mute",
        "participant_id": participant_id,
        "kind": "audio",
    }


async def test_a_grant_join_keeps_its_rights_and_no_more_through_refresh_and_resume(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    await stack.create_room("class", private=True)
    sfu = await _sfu(stack, launcher, "class")
    host_body = await _join(stack, "class", {"grant": grant(stack, "class", "t", grants=MODERATOR)})
    view_body = await _join(
        stack, "class", {"grant": grant(stack, "class", "v", grants=("subscribe",))}
    )
    host, _ = await _identify(host_body)
    assert (await sfu.expect("participant_joined"))["participant"]["grants"] == list(MODERATOR)
    viewer, _ = await _identify(view_body)
    joined = await sfu.expect("participant_joined")
    assert joined["participant"]["grants"] == ["subscribe"]
    await host.expect("participant_joined")
    peers = [sfu, host, viewer]
    try:
        # the grant-minted join token opens one connection, once
        again = await WsPeer.connect(stack.signaling_url)
        peers.append(again)
        await again.send({"action": "identify", "v": 1, "token": view_body["token"]})
        spent = await again.expect("error")
        assert (spent["code"], spent["ref"]) == ("unauthorized", "identify")

        # the viewer refreshes, then resumes on a new socket with the newest credential
        fresh = await _refresh(viewer, view_body["refresh_token"])
        old, refused = await _resume(stack.signaling_url, view_body["refresh_token"])
        peers.append(old)
        assert (refused["action"], refused["code"]) == ("error", "unauthorized")
        await viewer.close()
        viewer, back = await _resume(stack.signaling_url, fresh)
        peers.append(viewer)
        assert (back["action"], back["resumed"]) == ("identified", True)
        fresh_viewer: str = back["refresh_token"]
        assert back["participant_id"] == view_body["participant_id"]
        # still a viewer: the SFU (which enforces publishing) is told the same grants
        rejoined = await sfu.expect("participant_joined")
        assert rejoined["participant"]["grants"] == ["subscribe"]
        # and it cannot moderate
        await viewer.send(_mute(host_body["participant_id"]))
        forbidden = await viewer.expect("error")
        assert (forbidden["code"], forbidden["ref"]) == ("forbidden", "moderate")

        # the moderator refreshes and resumes too, and still moderates
        host_fresh = await _refresh(host, host_body["refresh_token"])
        await host.close()
        host, back = await _resume(stack.signaling_url, host_fresh)
        peers.append(host)
        assert (back["action"], back["resumed"]) == ("identified", True)
        assert (await sfu.expect("participant_joined"))["participant"]["grants"] == list(MODERATOR)
        await host.send(_mute(view_body["participant_id"]))
        lock = await sfu.expect("track_state")
        assert (lock["sender"], lock["by"]) == (
            view_body["participant_id"],
            host_body["participant_id"],
        )
        # the lock outlives the viewer's next resume too: the SFU is told it again
        credential = await _refresh(viewer, fresh_viewer)
        await viewer.close()
        back_viewer, again = await _resume(stack.signaling_url, credential)
        peers.append(back_viewer)
        assert again["resumed"] is True
        rejoined = await sfu.expect("participant_joined")
        assert (rejoined["participant"]["grants"], rejoined["participant"]["locked"]) == (
            ["subscribe"],
            ["audio"],
        )
    finally:
        for peer in peers:
            await peer.close()


async def test_a_removed_participant_cannot_resume_or_refresh_back_in(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    await stack.create_room("r", private=True)
    sfu = await _sfu(stack, launcher, "r")
    host_body = await _join(stack, "r", {"grant": grant(stack, "r", "host", grants=MODERATOR)})
    bob_body = await _join(stack, "r", {"grant": grant(stack, "r", "bob")})
    host, _ = await _identify(host_body)
    bob, _ = await _identify(bob_body)
    await sfu.expect("participant_joined")
    await sfu.expect("participant_joined")
    await host.expect("participant_joined")
    peers = [sfu, host, bob]
    try:
        fresh = await _refresh(bob, bob_body["refresh_token"])
        await host.send(
            {
                "action": "moderate",
                "v": 1,
                "op": "remove",
                "participant_id": bob_body["participant_id"],
            }
        )
        assert (await bob.expect("removed"))["reason"] == "removed"
        assert (await sfu.expect("participant_left"))["participant_id"] == bob_body[
            "participant_id"
        ]
        await host.expect("participant_left")
        # neither the newest credential nor the one before it brings bob back
        for credential in (fresh, bob_body["refresh_token"]):
            peer, refused = await _resume(stack.signaling_url, credential)
            peers.append(peer)
            assert (refused["action"], refused["code"], refused["ref"]) == (
                "error",
                "unauthorized",
                "resume",
            )
        # nor its join token
        peer = await WsPeer.connect(stack.signaling_url)
        peers.append(peer)
        await peer.send({"action": "identify", "v": 1, "token": bob_body["token"]})
        assert (await peer.expect("error"))["code"] == "unauthorized"
        # the room heard nothing of those attempts: the next it hears of is a newcomer
        carol_body = await _join(stack, "r", {"grant": grant(stack, "r", "carol")})
        carol, _ = await _identify(carol_body)
        peers.append(carol)
        assert (await sfu.expect("participant_joined"))["participant"]["id"] == carol_body[
            "participant_id"
        ]
        assert (await host.expect("participant_joined"))["participant"]["id"] == carol_body[
            "participant_id"
        ]
    finally:
        for peer in peers:
            await peer.close()


async def test_the_lobby_holds_a_participant_through_resume_and_a_denied_one_stays_out(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    await stack.create_room("clinic", private=False, lobby=True)
    sfu = await _sfu(stack, launcher, "clinic")
    host_body = await _join(
        stack, "clinic", {"grant": grant(stack, "clinic", "dr", grants=MODERATOR)}
    )
    host, _ = await _identify(host_body)
    await sfu.expect("participant_joined")
    assert (await host.expect("lobby"))["waiting"] == []
    walk_body = await _join(stack, "clinic", {"name": "walk-in"})
    walk_id = walk_body["participant_id"]
    walk, waiting = await _identify(walk_body)
    peers = [sfu, host, walk]
    try:
        assert (waiting["waiting"], waiting["participants"]) == (True, [])
        # a waiting socket must be kept alive, so it is told the idle timeout
        assert waiting["idle_timeout"] == 600  # the default, as API Gateway
        assert [p["id"] for p in (await host.expect("lobby"))["waiting"]] == [walk_id]

        # it cannot reach anyone in the room: no handshake (not even one addressed to
        # the host, as the SFU's are), no moderation
        await walk.send(
            {
                "action": "handshake",
                "v": 1,
                "connection": "consumer",
                "participant_id": host_body["participant_id"],
                "sdp": FAKE_OFFER,
            }
        )
        refused = await walk.expect("error")
        assert (refused["code"], refused["ref"]) == ("forbidden", "handshake")
        await walk.send(_mute(host_body["participant_id"]))
        assert (await walk.expect("error"))["code"] == "forbidden"

        # a refresh and a resume on a new socket put it back in the lobby, not the room
        fresh = await _refresh(walk, walk_body["refresh_token"])
        await walk.close()
        assert (await host.expect("lobby"))["waiting"] == []  # its socket went
        walk, back = await _resume(stack.signaling_url, fresh)
        peers.append(walk)
        assert (back["action"], back["waiting"], back["participants"]) == ("identified", True, [])
        assert [p["id"] for p in (await host.expect("lobby"))["waiting"]] == [walk_id]
        newest: str = back["refresh_token"]

        # denied: its session is over, so no credential or token brings it back
        await host.send({"action": "moderate", "v": 1, "op": "deny", "participant_id": walk_id})
        assert (await walk.expect("removed"))["reason"] == "denied"
        assert (await host.expect("lobby"))["waiting"] == []
        for credential in (newest, fresh, walk_body["refresh_token"]):
            peer, answer = await _resume(stack.signaling_url, credential)
            peers.append(peer)
            assert (answer["action"], answer["code"]) == ("error", "unauthorized")
        peer = await WsPeer.connect(stack.signaling_url)
        peers.append(peer)
        await peer.send({"action": "identify", "v": 1, "token": walk_body["token"]})
        assert (await peer.expect("error"))["code"] == "unauthorized"
        # the SFU never heard of it: the next participant it hears of is a newcomer
        guest_body = await _join(stack, "clinic", {"grant": grant(stack, "clinic", "guest")})
        guest, admitted = await _identify(guest_body)
        peers.append(guest)
        assert not admitted.get("waiting")
        joined = await sfu.expect("participant_joined")
        assert joined["participant"]["id"] == guest_body["participant_id"]
    finally:
        for peer in peers:
            await peer.close()
