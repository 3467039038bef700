"""The server API (``/v1/...``) through the Python server SDK and as plain HTTP, against a
local gateway whose SFU is played by the test: what each route does, and that every
route refuses a wrong or missing API key."""

from __future__ import annotations

import sys

import httpx
import pytest

from arbiter_admin import Admin, ApiError, read_grant
from arbiter_server.lambdas.routes import HTTP_ROUTES
from arbiter_server.local import LocalStack
from tests.utils import ManualLauncher, WsPeer

pytestmark = pytest.mark.timeout(60)


async def _sfu(stack: LocalStack, launcher: ManualLauncher, room: str) -> WsPeer:
    sfu = await WsPeer.connect(stack.signaling_url)
    await sfu.send({"action": "identify", "v": 1, "token": launcher.tokens[room]})
    await sfu.expect("identified")
    return sfu


async def _enter(url: str, body: dict[str, object]) -> tuple[WsPeer, dict[str, object]]:
    async with httpx.AsyncClient() as http:
        joined = (await http.post(f"{url}/join", json=body)).json()
    peer = await WsPeer.connect(str(joined["signaling_url"]))
    await peer.send({"action": "identify", "v": 1, "token": joined["token"]})
    return peer, joined


async def test_every_server_route_refuses_a_wrong_or_missing_key(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, _ = manual_stack
    routes = [r for r in HTTP_ROUTES if " /v1/" in r]
    assert len(routes) == 13
    async with httpx.AsyncClient() as http:
        for route in routes:
            method, path = route.split(" ", 1)
            url = stack.base_url + path.format(room_id="r", participant_id="p")
            for headers in ({"x-api-key": stack.api_key + "x"}, {}, {"x-api-key": "é".encode()}):
                reply = await http.request(method, url, headers=headers, json={})
                assert reply.status_code == 401, (route, reply.text)
                assert reply.json()["error"]["code"] == "unauthorized"
    with pytest.raises(ApiError) as wrong:
        async with Admin(stack.base_url, "not-the-key") as admin:
            await admin.list_rooms()
    assert (wrong.value.code, wrong.value.status_code) == ("unauthorized", 401)


async def test_the_app_runs_a_room_through_the_server_api(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    async with Admin(stack.base_url, stack.api_key) as admin:
        room = await admin.create_room("desk", private=True, lobby=True)
        assert (room.room_id, room.private, room.lobby, room.url) == (
            "desk",
            True,
            True,
            stack.room_url("desk"),
        )
        with pytest.raises(ApiError, match="room_exists"):
            await admin.create_room("desk")
        sfu = await _sfu(stack, launcher, "desk")
        grant = admin.mint_grant("desk", "agent-1", name="Agent", moderator=True)
        assert read_grant(grant, stack.api_key).grants[-1] == "moderator"
        agent, joined = await _enter(room.url or "", {"grant": grant})
        await agent.expect("identified")
        assert (await agent.expect("lobby"))["waiting"] == []  # a moderator sees the lobby
        await sfu.expect("participant_joined")
        # the same grant minted over HTTP (what a Node or Go backend does)
        async with httpx.AsyncClient(headers={"x-api-key": stack.api_key}) as http:
            minted = await http.post(
                f"{stack.base_url}/v1/grants",
                json={"room_id": "desk", "identity": "cust-9", "name": "Cus", "lobby": True},
            )
        assert minted.status_code == 200, minted.text
        customer, _ = await _enter(room.url or "", {"grant": minted.json()["grant"]})
        waiting = await customer.expect("identified")
        assert waiting["waiting"] is True and waiting["participants"] == []
        lobby = await agent.expect("lobby")
        assert [p["identity"] for p in lobby["waiting"]] == ["cust-9"]
        info = await admin.get_room("desk")
        assert [p.identity for p in info.waiting or []] == ["cust-9"]
        assert [p.identity for p in info.participants] == ["agent-1"]

        # admit: the customer gets a full identified, the room hears of it
        await admin.admit("desk", waiting["participant_id"])
        admitted = await customer.expect("identified")
        assert admitted.get("waiting") is None and admitted["participants"][0]["name"] == "Agent"
        assert (await agent.expect("participant_joined"))["participant"]["identity"] == "cust-9"
        assert (await agent.expect("lobby"))["waiting"] == []
        await sfu.expect("participant_joined")
        cid = str(waiting["participant_id"])

        # metadata: everyone is told
        updated = await admin.update_participant("desk", cid, metadata='{"tier": "gold"}')
        assert updated.metadata == '{"tier": "gold"}'
        for peer in (agent, customer):  # it is told too
            told = await peer.expect("participant_updated")
            assert told["participant"]["metadata"] == '{"tier": "gold"}'

        # mute by the app: the SFU gets the lock with by=app
        muted = await admin.mute_participant("desk", cid, "audio")
        assert muted.locked == ["audio"]
        lock = await sfu.expect("track_state")
        assert (lock["sender"], lock["kind"], lock["by"]) == (cid, "audio", "app")

        # remove by the app
        assert [p.id for p in await admin.list_participants("desk")] == [
            joined["participant_id"],
            cid,
        ]
        await admin.remove_participant("desk", cid, reason="closing time")
        assert (await customer.expect("removed"))["by"] == "app"
        left = await agent.expect("participant_left")
        assert (left["reason"], left["by"]) == ("removed", "app")
        with pytest.raises(ApiError) as missing:
            await admin.remove_participant("desk", cid)
        assert (missing.value.code, missing.value.status_code) == ("participant_not_found", 404)

        # close: everyone is told, the room is gone
        assert [r.room_id for r in await admin.list_rooms()] == ["desk"]
        await admin.close_room("desk", reason="bye")
        ended = await agent.expect("removed")
        assert (ended["reason"], ended["by"], ended["message"]) == ("room_ended", "app", "bye")
        with pytest.raises(ApiError, match="room_not_found"):
            await admin.get_room("desk")
        for peer in (agent, customer, sfu):
            await peer.close()


def test_the_server_sdk_needs_no_webrtc_stack() -> None:
    import subprocess

    probe = (
        "import sys, arbiter_admin; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiortc', 'av', 'numpy')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
