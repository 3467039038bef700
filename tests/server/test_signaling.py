"""Signaling and Room API through the real local gateway, with the test playing the SFU."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from arbiter_server.local import LocalStack
from tests.utils import ManualLauncher, WsPeer

pytestmark = pytest.mark.timeout(30)

SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
OFFER = {"type": "offer", "sdp": SDP}
ALL = ["publish", "subscribe", "data", "screen"]


async def _room_with_sfu(stack: LocalStack, launcher: ManualLauncher, room_id: str) -> WsPeer:
    await stack.create_room(room_id)
    sfu = await WsPeer.connect(f"ws://127.0.0.1:{stack.port}/ws")
    await sfu.send({"action": "identify", "v": 1, "token": launcher.tokens[room_id]})
    msg = await sfu.expect("identified")
    assert msg["role"] == "sfu" and msg["participants"] == []
    return sfu


async def _join(stack: LocalStack, room_id: str, name: str) -> tuple[WsPeer, dict[str, object]]:
    async with httpx.AsyncClient() as http:
        resp = await http.post(f"{stack.room_url(room_id)}/join", json={"name": name})
    assert resp.status_code == 200, resp.text
    joined = resp.json()
    peer = await WsPeer.connect(joined["signaling_url"])
    await peer.send({"action": "identify", "v": 1, "token": joined["token"]})
    return peer, joined


async def test_identify_and_handshake_are_routed_between_client_and_sfu(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    sfu = await _room_with_sfu(stack, launcher, "r1")
    alice, joined = await _join(stack, "r1", "alice")
    me = await alice.expect("identified")
    assert me["participant_id"] == joined["participant_id"] and me["sfu_ready"] is True
    seen = await sfu.expect("participant_joined")
    assert seen["participant"] == {"id": joined["participant_id"], "name": "alice", "grants": ALL}

    # a client cannot choose who it speaks for: signaling stamps the sender
    await alice.send(
        {
            "action": "handshake",
            "v": 1,
            "connection": "producer",
            "participant_id": "p-someone-else",
            "sdp": OFFER,
        }
    )
    got = await sfu.expect("handshake")
    assert got["participant_id"] == joined["participant_id"] and got["sdp"] == OFFER

    await sfu.send(
        {
            "action": "handshake",
            "v": 1,
            "connection": "producer",
            "participant_id": joined["participant_id"],
            "sdp": {"type": "answer", "sdp": SDP},
        }
    )
    answer = await alice.expect("handshake")
    assert answer["sdp"]["type"] == "answer"

    bob, bob_join = await _join(stack, "r1", "bob")
    bob_me = await bob.expect("identified")
    assert bob_me["participants"] == [
        {"id": joined["participant_id"], "name": "alice", "grants": ALL}
    ]
    assert (await alice.expect("participant_joined"))["participant"]["name"] == "bob"
    assert (await sfu.expect("participant_joined"))["participant"]["name"] == "bob"

    # a dropped socket is kept "away" for the reconnect grace, then the room hears of it
    await bob.close()
    await alice.assert_silent()
    await _expire_away_now(stack)
    left = await alice.expect("participant_left")
    assert left["participant_id"] == bob_join["participant_id"]
    assert left["reason"] == "disconnected"
    assert (await sfu.expect("participant_left"))["participant_id"] == bob_join["participant_id"]

    async with httpx.AsyncClient() as http:
        info = (await http.get(stack.room_url("r1"))).json()
    assert [p["name"] for p in info["participants"]] == ["alice"]
    assert info["sfu_state"] == "ready"
    for peer in (alice, sfu):
        await peer.close()


async def test_bad_messages_get_clear_errors_and_the_connection_stays_usable(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    sfu = await _room_with_sfu(stack, launcher, "r2")
    peer = await WsPeer.connect(f"ws://127.0.0.1:{stack.port}/ws")

    await peer.send("{not json")
    err = await peer.expect("error")
    assert err["code"] == "malformed_json"

    await peer.send({"action": "teleport", "v": 1})
    err = await peer.expect("error")
    assert err["code"] == "unknown_action" and "teleport" in err["message"]

    await peer.send({"action": "handshake", "v": 1, "connection": "producer", "sdp": OFFER})
    err = await peer.expect("error")
    assert err["code"] == "not_identified"

    await peer.send({"action": "identify", "v": 1, "token": "forged.token.value"})
    err = await peer.expect("error")
    assert err["code"] == "unauthorized"

    await peer.send({"action": "identify", "v": 99, "token": "x"})
    assert (await peer.expect("error"))["code"] == "unsupported_version"

    await peer.send({"action": "handshake", "v": 1, "connection": "sideways", "sdp": OFFER})
    err = await peer.expect("error")
    assert err["code"] == "invalid_message" and "connection" in err["message"]

    await peer.send(b"\x00\x01binary")  # not JSON
    assert (await peer.expect("error"))["code"] == "malformed_json"
    await peer.send(b'{"action": "leave", "v": 1}')  # JSON, but in a binary frame
    err = await peer.expect("error")
    assert err["code"] == "invalid_message" and "binary" in err["message"]

    # nothing reached the SFU, and the same connection can still join properly
    await sfu.assert_silent()
    alice, _ = await _join(stack, "r2", "alice")
    await alice.expect("identified")
    await sfu.expect("participant_joined")
    for p in (peer, alice, sfu):
        await p.close()


async def test_room_api_errors(manual_stack: tuple[LocalStack, ManualLauncher]) -> None:
    stack, _ = manual_stack
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        resp = await http.post("/rooms/nowhere/join", json={"name": "x"})
        assert resp.status_code == 404
        assert resp.json()["error"]["code"] == "room_not_found"

        resp = await http.get("/rooms/nowhere")
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "room_not_found"

        resp = await http.post("/rooms", content=b"{oops")
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "malformed_json"

        resp = await http.post("/rooms", json={"room_id": "bad id!"})
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_message"

        resp = await http.post("/rooms", json={"room_id": "named"})
        assert resp.status_code == 201
        assert resp.json()["url"] == stack.room_url("named")
        resp = await http.post("/rooms", json={"room_id": "named"})
        assert resp.status_code == 409 and resp.json()["error"]["code"] == "room_exists"

        resp = await http.post("/rooms/named/join", json={"name": 7})
        assert resp.status_code == 400 and "name" in resp.json()["error"]["message"]

        resp = await http.delete("/rooms/named")
        assert resp.status_code == 405
        resp = await http.get("/nope")
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


async def test_two_rooms_stay_isolated_in_signaling(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    sfu_a = await _room_with_sfu(stack, launcher, "ra")
    sfu_b = await _room_with_sfu(stack, launcher, "rb")
    a, a_join = await _join(stack, "ra", "a")
    await a.expect("identified")
    await sfu_a.expect("participant_joined")
    b, _ = await _join(stack, "rb", "b")
    await b.expect("identified")
    await sfu_b.expect("participant_joined")
    # room B's SFU cannot address room A's participant
    await sfu_b.send(
        {
            "action": "handshake",
            "v": 1,
            "connection": "producer",
            "participant_id": a_join["participant_id"],
            "sdp": OFFER,
        }
    )
    err = await sfu_b.expect("error")
    assert err["code"] == "participant_not_found"
    await a.assert_silent()
    # an SFU credential of room A is not accepted twice, nor a client token as an SFU
    for p in (a, b, sfu_a, sfu_b):
        await p.close()


async def test_pool_hands_out_ready_rooms_and_refills(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    assert stack.services is not None
    stack.services.settings.pool_size = 2
    from arbiter_server.lambdas.rooms import refill_pool

    made = refill_pool(stack.services)
    assert len(made) == 2 and all(r in launcher.tokens for r in made)
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        resp = await http.post("/rooms")
    assert resp.status_code == 201
    room_id = resp.json()["room_id"]
    assert room_id in made  # a ready room was handed out, not a cold one
    pooled = [r.room_id for r in stack.services.store.list_rooms() if r.pooled]
    assert len(pooled) == 2 and room_id not in pooled  # and the pool was refilled


async def test_a_flooding_connection_is_rate_limited_and_others_are_not(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    assert stack.services is not None
    stack.services.settings.rate_limit = 5
    sfu = await _room_with_sfu(stack, launcher, "rl")
    flooder = await WsPeer.connect(f"ws://127.0.0.1:{stack.port}/ws")
    codes = []
    for _ in range(8):
        await flooder.send({"action": "leave", "v": 1})
        codes.append((await flooder.expect("error"))["code"])
    assert codes == ["not_identified"] * 5 + ["rate_limited"] * 3
    # the SFU is infrastructure: its offers grow with the square of the room, so no limit
    for _ in range(8):
        await sfu.send({"action": "leave", "v": 1})
        assert (await sfu.expect("error"))["code"] == "forbidden"
    # another connection is unaffected
    alice, _ = await _join(stack, "rl", "alice")
    await alice.expect("identified")
    await sfu.expect("participant_joined")
    for p in (flooder, alice, sfu):
        await p.close()


async def test_only_the_rooms_current_sfu_and_valid_tokens_are_accepted(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    import jwt

    from arbiter_server.auth import issue_participant_token
    from arbiter_server.lambdas.rooms import ensure_sfu, reset_sfu

    stack, launcher = manual_stack
    services = stack.services
    assert services is not None
    sfu = await _room_with_sfu(stack, launcher, "sec")
    old_token = launcher.tokens["sec"]
    peer = await WsPeer.connect(f"ws://127.0.0.1:{stack.port}/ws")

    async def refused(token: str, words: str) -> None:
        await peer.send({"action": "identify", "v": 1, "token": token})
        err = await peer.expect("error")
        assert err["code"] == "unauthorized" and words in err["message"], err

    # a client cannot mint itself an SFU credential (or anything) without the secret
    claims = jwt.decode(old_token, options={"verify_signature": False})
    await refused(
        jwt.encode(
            {**claims, "room": "sec"},
            "a-guessed-secret-of-enough-length-0123456789",
            algorithm="HS256",
        ),
        "signature",
    )
    # an expired join token
    expired, _ = issue_participant_token(services.settings.secret, "sec", "p-x", "x", ttl=-5)
    await refused(expired, "expired")
    # the SFU credential of a replaced SFU no longer works
    room = services.store.get_room("sec")
    assert room is not None
    await asyncio.to_thread(reset_sfu, services, room, "test")
    fresh = services.store.get_room("sec")
    assert fresh is not None
    await asyncio.to_thread(ensure_sfu, services, fresh)
    assert launcher.tokens["sec"] != old_token
    await refused(old_token, "session is over")
    # and the new one does
    await peer.send({"action": "identify", "v": 1, "token": launcher.tokens["sec"]})
    assert (await peer.expect("identified"))["role"] == "sfu"
    await peer.close()
    await sfu.close()


async def test_an_sfu_reports_errors_to_one_participant_and_clients_cannot(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    sfu = await _room_with_sfu(stack, launcher, "err")
    alice, joined = await _join(stack, "err", "alice")
    await alice.expect("identified")
    await sfu.expect("participant_joined")
    await sfu.send(
        {
            "action": "error",
            "v": 1,
            "code": "invalid_message",
            "message": "your offer has no media",
            "ref": "handshake",
            "participant_id": joined["participant_id"],
        }
    )
    got = await alice.expect("error")
    assert got["message"] == "your offer has no media" and got["ref"] == "handshake"
    # a participant cannot send errors to others
    await alice.send(
        {
            "action": "error",
            "v": 1,
            "code": "x",
            "message": "spoof",
            "participant_id": joined["participant_id"],
        }
    )
    assert (await alice.expect("error"))["code"] == "forbidden"
    await sfu.assert_silent()
    for p in (alice, sfu):
        await p.close()


async def _expire_away_now(stack: LocalStack) -> None:
    from arbiter_server.lambdas import maintenance

    assert stack.services is not None
    grace = stack.services.settings.reconnect_grace
    stack.services.settings.reconnect_grace = 0
    try:
        result = await asyncio.to_thread(maintenance.handler, {}, None)
    finally:
        stack.services.settings.reconnect_grace = grace
    assert result["left"], result


async def test_a_dropped_participant_resumes_within_the_grace_and_nobody_notices(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    sfu = await _room_with_sfu(stack, launcher, "rs")
    alice, a_join = await _join(stack, "rs", "alice")
    await alice.expect("identified")
    await sfu.expect("participant_joined")
    bob, _ = await _join(stack, "rs", "bob")
    await bob.expect("identified")
    await sfu.expect("participant_joined")
    await alice.expect("participant_joined")

    await alice.close()  # the socket drops, no leave
    # the join token was spent by its identify: it does not come back in
    replay = await WsPeer.connect(a_join["signaling_url"])
    await replay.send({"action": "identify", "v": 1, "token": a_join["token"]})
    err = await replay.expect("error")
    assert err["code"] == "unauthorized" and "used already" in err["message"]
    # a forged credential, or one of another room's participant, resumes nothing
    await replay.send(
        {"action": "resume", "v": 1, "refresh_token": a_join["refresh_token"][:-4] + "AAAA"}
    )
    assert (await replay.expect("error"))["code"] == "unauthorized"
    await replay.close()
    alice2 = await WsPeer.connect(a_join["signaling_url"])
    await alice2.send({"action": "resume", "v": 1, "refresh_token": a_join["refresh_token"]})
    back = await alice2.expect("identified")
    assert back["resumed"] is True and back["participant_id"] == a_join["participant_id"]
    assert [p["name"] for p in back["participants"]] == ["bob"]
    assert back["refresh_token"] != a_join["refresh_token"]
    # the credential it spent is no good any more
    thief = await WsPeer.connect(a_join["signaling_url"])
    await thief.send({"action": "resume", "v": 1, "refresh_token": a_join["refresh_token"]})
    err = await thief.expect("error")
    assert err["code"] == "unauthorized" and "spent" in err["message"]
    await thief.close()
    # bob never heard of the blip; the SFU is told alice is back (to re-send lost offers),
    # and handshakes reach the new socket
    await bob.assert_silent()
    again_joined = await sfu.expect("participant_joined")
    assert again_joined["participant"]["id"] == a_join["participant_id"]
    await sfu.send(
        {
            "action": "handshake",
            "v": 1,
            "connection": "producer",
            "participant_id": a_join["participant_id"],
            "sdp": {"type": "answer", "sdp": SDP},
        }
    )
    assert (await alice2.expect("handshake"))["sdp"]["type"] == "answer"
    # an explicit leave is told at once
    await alice2.send({"action": "leave", "v": 1})
    assert (await bob.expect("participant_left"))["reason"] == "left"
    for p in (alice2, bob, sfu):
        await p.close()


async def test_a_dead_sfu_is_replaced_and_participants_are_told_to_publish_again(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    from arbiter_server.lambdas import maintenance

    stack, launcher = manual_stack
    assert stack.services is not None
    sfu = await _room_with_sfu(stack, launcher, "phoenix")
    alice, _ = await _join(stack, "phoenix", "alice")
    await alice.expect("identified")
    old_token = launcher.tokens["phoenix"]
    room = stack.services.store.get_room("phoenix")
    assert room is not None and room.sfu_handle
    launcher.stop(room.sfu_handle)  # the process died
    await sfu.close()
    result = await asyncio.to_thread(maintenance.handler, {}, None)
    assert result["stopped"] == ["phoenix"] and result["restarted"] == ["phoenix"]
    assert launcher.tokens["phoenix"] != old_token
    new_sfu = await WsPeer.connect(f"ws://127.0.0.1:{stack.port}/ws")
    await new_sfu.send({"action": "identify", "v": 1, "token": launcher.tokens["phoenix"]})
    hello = await new_sfu.expect("identified")
    assert [p["name"] for p in hello["participants"]] == ["alice"]
    assert (await alice.expect("sfu_ready"))["room_id"] == "phoenix"
    for p in (alice, new_sfu):
        await p.close()


async def test_a_viewer_token_carries_fewer_grants_to_the_sfu(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    sfu = await _room_with_sfu(stack, launcher, "webinar")
    async with httpx.AsyncClient() as http:
        resp = await http.post(
            f"{stack.room_url('webinar')}/join", json={"name": "viewer", "grants": ["subscribe"]}
        )
        assert resp.status_code == 200
        bad = await http.post(
            f"{stack.room_url('webinar')}/join", json={"name": "x", "grants": ["admin"]}
        )
        assert bad.status_code == 400 and "grants" in bad.json()["error"]["message"]
    viewer = await WsPeer.connect(resp.json()["signaling_url"])
    await viewer.send({"action": "identify", "v": 1, "token": resp.json()["token"]})
    await viewer.expect("identified")
    joined = await sfu.expect("participant_joined")
    assert joined["participant"]["grants"] == ["subscribe"]
    alice, _ = await _join(stack, "webinar", "alice")
    assert (await alice.expect("identified"))["participants"][0]["grants"] == ["subscribe"]
    assert (await sfu.expect("participant_joined"))["participant"]["grants"] == ALL
    for p in (viewer, alice, sfu):
        await p.close()
