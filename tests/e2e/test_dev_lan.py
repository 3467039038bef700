"""``arbiter-server dev --host 0.0.0.0 --public-host NAME``: every URL handed out names a
host other machines reach (this machine's own address here), never 0.0.0.0."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from aioice.ice import get_host_addresses

from arbiter_client import Room
from arbiter_server.local import LocalStack, LocalStackConfig, public_host_for
from tests.e2e.devserver import dev_server
from tests.e2e.probe import MediaProbe

pytestmark = pytest.mark.timeout(90)


def _lan_address() -> str:
    return get_host_addresses(use_ipv4=True, use_ipv6=False)[0]


async def test_dev_on_every_interface_hands_out_urls_with_the_public_host(
    tmp_path: Path,
) -> None:
    lan = _lan_address()
    args = ("--host", "0.0.0.0", "--public-host", lan, "--pool-size", "0")
    with dev_server(tmp_path, *args) as facts:
        port = facts["api"].rsplit(":", 1)[1]
        assert facts["url"] == f"http://{lan}:{port}/rooms/demo"
        assert facts["signaling"] == f"ws://{lan}:{port}/ws"
        assert facts["turn"].startswith(f"turn:{lan}:")
        async with httpx.AsyncClient(timeout=10) as http:
            joined = (await http.post(f"{facts['url']}/join", json={"name": "x"})).json()
        assert joined["signaling_url"] == facts["signaling"]
        urls = [u for server in joined["ice_servers"] for u in server["urls"]]
        assert urls and all(u.split(":")[1] == lan for u in urls), urls
        # a client that only knows the public host gets the demo bot's video
        async with Room.join(facts["url"], name="visitor", publish=None, timeout=20) as room:
            probe = MediaProbe(room)
            try:
                await probe.wait_for(
                    lambda: any(
                        p.name == "demo-bot" and p.id in probe.video_sizes
                        for p in room.participants.values()
                    ),
                    30,
                )
            finally:
                await probe.close()


async def test_a_public_name_goes_in_the_urls_while_sfus_use_the_local_address(
    tmp_path: Path,
) -> None:
    name = "arbiter-lan.invalid"  # never resolved: only the URLs carry it
    stack = LocalStack(
        LocalStackConfig(data_dir=tmp_path, port=0, pool_size=0, public_host=name, turn=True)
    )
    await stack.start()
    try:
        url = await stack.create_room("lan")
        assert url == f"http://{name}:{stack.port}/rooms/lan"
        assert stack.turn is not None
        ice = stack.turn.ice_servers("p-1", ttl=60)
        assert ice[0].urls == [f"stun:{name}:{stack.turn.port}"]
        assert stack.services is not None and stack.store is not None
        assert stack.services.settings.signaling_url == f"ws://{name}:{stack.port}/ws"
        # the room's SFU reached signaling anyway: on this machine, by its local address
        deadline = time.monotonic() + 20
        while (room := stack.store.get_room("lan")) is None or room.sfu_state != "ready":
            assert time.monotonic() < deadline, room
            await asyncio.sleep(0.1)
    finally:
        await stack.stop()
    assert public_host_for("0.0.0.0", None) == _lan_address()
    assert public_host_for("127.0.0.1", None) == "127.0.0.1"
