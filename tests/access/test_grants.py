"""Who may join: private rooms, join grants, what a grant allows (the Room API and signaling).

Fast tests against a local gateway whose SFU is played by the test (``manual_stack``), and
one real client join. Every refusal is a clear error body; nothing is half made.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest

from arbiter_client import Room, Unauthorized
from arbiter_protocol import mint_grant
from arbiter_server.local import LocalStack
from tests.utils import ManualLauncher, WsPeer

from .helpers import MODERATOR, grant, running_stack

pytestmark = pytest.mark.timeout(60)


async def _join(stack: LocalStack, room: str, body: dict[str, object]) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(f"{stack.room_url(room)}/join", json=body)


async def test_a_private_room_refuses_a_plain_join_and_admits_a_minted_grant(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, _ = manual_stack
    await stack.create_room("clinic", private=True)
    plain = await _join(stack, "clinic", {"name": "mallory"})
    assert plain.status_code == 403
    assert plain.json()["error"]["code"] == "forbidden"
    assert "room 'clinic' is private" in plain.json()["error"]["message"]
    # asking for the moderator grant without one from the app is refused too
    await stack.create_room("open")
    asked = await _join(stack, "open", {"name": "mallory", "grants": ["moderator"]})
    assert asked.status_code == 403 and "'moderator'" in asked.json()["error"]["message"]

    token = grant(
        stack, "clinic", "patient-7", name="Ada", metadata='{"bed": 3}', grants=("subscribe",)
    )
    joined = await _join(stack, "clinic", {"name": "ignored", "grant": token})
    assert joined.status_code == 200, joined.text
    body = joined.json()
    assert body["grants"] == ["subscribe"]
    peer = await WsPeer.connect(body["signaling_url"])
    try:
        await peer.send({"action": "identify", "v": 1, "token": body["token"]})
        await peer.expect("identified")
    finally:
        await peer.close()
    # the server API shows the grant's identity, name and metadata
    async with httpx.AsyncClient(headers={"x-api-key": stack.api_key}) as http:
        listed = (await http.get(f"{stack.base_url}/v1/rooms/clinic/participants")).json()
    assert [(p["name"], p["identity"], p["metadata"]) for p in listed["participants"]] == [
        ("Ada", "patient-7", '{"bed": 3}')
    ]
    # the public room route does not list a private room's participants
    async with httpx.AsyncClient() as http:
        public = (await http.get(stack.room_url("clinic"))).json()
    assert public["participants"] == [] and public["private"] is True


async def test_an_expired_tampered_or_foreign_grant_is_refused(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, _ = manual_stack
    await stack.create_room("a", private=True)
    await stack.create_room("b", private=True)
    expired = mint_grant(stack.api_key, "a", "u1", ttl=5, now=1_000_000)
    r = await _join(stack, "a", {"grant": expired})
    assert (r.status_code, r.json()["error"]["message"]) == (401, "grant has expired")

    good = grant(stack, "a", "u1")
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["grants"].append("moderator")  # promote yourself
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    r = await _join(stack, "a", {"grant": f"{header}.{forged}.{signature}"})
    assert r.status_code == 401 and "signature is invalid" in r.json()["error"]["message"]

    other_key = mint_grant("x" * 43, "a", "u1")
    r = await _join(stack, "a", {"grant": other_key})
    assert r.status_code == 401 and "signature is invalid" in r.json()["error"]["message"]

    r = await _join(stack, "b", {"grant": good})
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "this grant is for room 'a', not 'b'"

    r = await _join(stack, "a", {"grant": "not.a-grant"})
    assert r.status_code == 401 and "malformed" in r.json()["error"]["message"]
    # and the good one still works
    assert (await _join(stack, "a", {"grant": good})).status_code == 200


async def test_a_moderator_grant_moderates_and_a_plain_one_is_forbidden(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    await stack.create_room("r", private=True)
    sfu = await WsPeer.connect(stack.signaling_url)
    await sfu.send({"action": "identify", "v": 1, "token": launcher.tokens["r"]})
    await sfu.expect("identified")
    peers = {}
    ids = {}
    for who, grants in (("mod", MODERATOR), ("bob", ("publish", "subscribe", "data"))):
        body = (await _join(stack, "r", {"grant": grant(stack, "r", who, grants=grants)})).json()
        peer = await WsPeer.connect(body["signaling_url"])
        await peer.send({"action": "identify", "v": 1, "token": body["token"]})
        await peer.expect("identified")
        await sfu.expect("participant_joined")
        peers[who], ids[who] = peer, body["participant_id"]
    await peers["mod"].expect("participant_joined")
    try:
        # bob may not: forbidden, and nothing happens
        await peers["bob"].send(
            {"action": "moderate", "v": 1, "op": "remove", "participant_id": ids["mod"]}
        )
        refused = await peers["bob"].expect("error")
        assert (refused["code"], refused["ref"]) == ("forbidden", "moderate")
        # the moderator holds bob's video muted: the SFU is told who and by whom
        await peers["mod"].send(
            {
                "action": "moderate",
                "v": 1,
                "op": "mute",
                "participant_id": ids["bob"],
                "kind": "video",
            }
        )
        lock = await sfu.expect("track_state")
        assert lock == {
            "action": "track_state",
            "v": 1,
            "kind": "video",
            "muted": True,
            "sender": ids["bob"],
            "by": ids["mod"],
        }
        # then removes bob: bob is told and closed, the room hears who did it
        await peers["mod"].send(
            {"action": "moderate", "v": 1, "op": "remove", "participant_id": ids["bob"]}
        )
        assert await peers["bob"].expect("removed") == {
            "action": "removed",
            "v": 1,
            "reason": "removed",
            "by": ids["mod"],
        }
        left = await peers["mod"].expect("participant_left")
        assert (left["participant_id"], left["reason"], left["by"]) == (
            ids["bob"],
            "removed",
            ids["mod"],
        )
        assert (await sfu.expect("participant_left"))["participant_id"] == ids["bob"]
        # a removed participant's session is over: its refresh credential is spent
    finally:
        for peer in (*peers.values(), sfu):
            await peer.close()


@pytest.mark.timeout(90)
async def test_a_viewer_grant_cannot_publish(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        await stack.create_room("talk", private=True)
        viewer = grant(stack, "talk", "viewer", grants=("subscribe",))
        # a viewer grant joins receiving only, whatever the client was asked to publish
        async with Room.join(stack.room_url("talk"), token=viewer, timeout=20) as room:
            assert room.grants == ("subscribe",)
            assert room.local_participant.video is None and room.local_participant.audio is None
        # without a grant it cannot even try
        with pytest.raises(Unauthorized, match="is private"):
            await Room.join(stack.room_url("talk"), publish=None, timeout=20)
        # with the grant and nothing to publish it is in
        async with Room.join(stack.room_url("talk"), token=viewer, publish=None) as room:
            assert room.grants == ("subscribe",)
