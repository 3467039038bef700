"""API Gateway's limits in the local gateway: idle timeout, connection age, frame size, and
``keepalive`` answered without the handlers (time compressed: 1 s idle, 3 s age)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from arbiter_server.cli import main
from arbiter_server.local import LocalStack, LocalStackConfig
from tests.utils import ManualLauncher, WsPeer

pytestmark = pytest.mark.timeout(30)

IDLE, AGE = 1, 3


@pytest.fixture
async def limited(tmp_path: Path) -> AsyncIterator[tuple[LocalStack, ManualLauncher]]:
    """A gateway with 1 s idle timeout and 3 s connection age; the test plays the SFU."""
    launcher = ManualLauncher()
    stack = LocalStack(
        LocalStackConfig(
            data_dir=tmp_path,
            port=0,
            pool_size=0,
            launcher_factory=lambda s: launcher,
            idle_timeout=IDLE,
            max_connection_age=AGE,
            debug_stats=True,
        )
    )
    await stack.start()
    try:
        yield stack, launcher
    finally:
        await stack.stop()


def ws_url(stack: LocalStack) -> str:
    return f"ws://127.0.0.1:{stack.port}/ws"


async def until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check() and loop.time() < deadline:
        await asyncio.sleep(0.02)
    assert check(), what


async def closed_code(ws: websockets.ClientConnection, timeout: float) -> int:
    """Read until the server closes ``ws``; its close code."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None, "the server did not send a close frame"
    return closed.value.rcvd.code


async def test_idle_sockets_close_pings_do_not_count_and_every_socket_ages_out(
    limited: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, _ = limited
    loop = asyncio.get_running_loop()
    # protocol pings only: API Gateway does not count them as activity
    pinger = await websockets.connect(ws_url(stack), ping_interval=0.2, ping_timeout=5)
    # keepalive messages: the socket stays open until its age
    talker = await websockets.connect(ws_url(stack), ping_interval=None)
    opened = loop.time()
    acks = 0

    async def keep_talking() -> None:
        nonlocal acks
        while True:
            await talker.send(json.dumps({"action": "keepalive", "v": 1}))
            reply = json.loads(await talker.recv())
            assert reply == {"action": "keepalive_ack", "v": 1}
            acks += 1
            await asyncio.sleep(0.3)

    talking = asyncio.create_task(keep_talking())
    try:
        assert await closed_code(pinger, IDLE + 2) == 1001
        idle_closed = loop.time() - opened
        assert IDLE - 0.1 <= idle_closed < IDLE + 1.5, idle_closed
        assert not talking.done(), "the socket that sends messages was closed for idleness"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(talking, AGE + 2)
        aged = loop.time() - opened
    finally:
        talking.cancel()
        await pinger.close()
        await talker.close()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert AGE - 0.1 <= aged < AGE + 1.5, aged
    assert acks >= 2 * AGE  # every 0.3 s until the age limit
    gateway = stack.gateway
    assert gateway is not None
    await until(lambda: gateway.stats.closed == {"idle": 1, "age": 1}, "one idle, one age close")


async def test_a_message_over_one_32_kb_frame_closes_the_socket_with_1009(
    limited: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, _ = limited
    peer = await WsPeer.connect(ws_url(stack))
    # 32768 bytes exactly, counted in UTF-8 (a 4-byte character inside): accepted
    body = '{"action":"teleport","v":1,"pad":"🎥'
    fits = body + "x" * (32 * 1024 - len(body.encode()) - 2) + '"}'
    assert len(fits.encode()) == 32 * 1024
    await peer.send(fits)
    assert (await peer.expect("error"))["code"] == "unknown_action"
    # one byte more: closed, as API Gateway closes a socket that sends a bigger frame
    await peer.send(fits[:-2] + 'x"}')
    assert await closed_code(peer.ws, 5) == 1009
    for big in (b"{" * (40 * 1024), "x" * (200 * 1024)):  # binary, and over 128 KB
        other = await WsPeer.connect(ws_url(stack))
        await other.send(big)
        assert await closed_code(other.ws, 5) == 1009
    gateway = stack.gateway
    assert gateway is not None
    await until(lambda: gateway.stats.closed["too_big"] == 3, str(gateway.stats.closed))


async def test_keepalive_is_answered_without_the_store_and_within_a_rate(
    limited: tuple[LocalStack, ManualLauncher],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack, _ = limited
    store = stack.store
    assert store is not None
    writes: list[str] = []
    real_allow = store.allow

    def counting_allow(key: str, now: float, limit: int, window: float) -> bool:
        writes.append(key)
        return real_allow(key, now, limit, window)

    monkeypatch.setattr(store, "allow", counting_allow)
    peer = await WsPeer.connect(ws_url(stack))
    for _ in range(20):  # the per-connection burst
        await peer.send({"action": "keepalive", "v": 1})
        assert await peer.recv() == {"action": "keepalive_ack", "v": 1}
    await peer.send({"action": "keepalive", "v": 1})
    refused = await peer.expect("error")
    assert refused["code"] == "rate_limited" and refused["ref"] == "keepalive"
    assert writes == [], "a keepalive went through the store's rate limiter"
    await peer.send({"action": "leave", "v": 1})  # any other message does
    assert (await peer.expect("error"))["code"] == "not_identified"
    assert len(writes) == 1 and writes[0].startswith("conn:")
    assert stack.gateway is not None
    assert stack.gateway.stats.keepalives == 20 and stack.gateway.stats.keepalives_limited == 1
    await peer.close()


async def test_socket_replacements_are_counted_per_holder(
    limited: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = limited
    await stack.create_room("r")
    sfu = await WsPeer.connect(ws_url(stack))
    await sfu.send({"action": "identify", "v": 1, "token": launcher.tokens["r"]})
    sfu_refresh = (await sfu.expect("identified"))["refresh_token"]
    async with httpx.AsyncClient() as http:
        joined: dict[str, Any] = (
            await http.post(f"{stack.room_url('r')}/join", json={"name": "ada"})
        ).json()
    ada = await WsPeer.connect(joined["signaling_url"])
    await ada.send({"action": "identify", "v": 1, "token": joined["token"]})
    first = await ada.expect("identified")
    assert first["idle_timeout"] == IDLE and first["resumed"] is False
    refresh = joined["refresh_token"]
    for _ in range(2):  # the participant's socket, replaced twice
        again = await WsPeer.connect(ws_url(stack))
        await again.send({"action": "resume", "v": 1, "refresh_token": refresh})
        resumed = await again.expect("identified")
        assert resumed["resumed"] is True and resumed["idle_timeout"] == IDLE
        refresh = resumed["refresh_token"]
    sfu_again = await WsPeer.connect(ws_url(stack))
    await sfu_again.send({"action": "resume", "v": 1, "refresh_token": sfu_refresh})
    assert (await sfu_again.expect("identified"))["resumed"] is True
    async with httpx.AsyncClient() as http:
        stats = (await http.get(f"{stack.base_url}/_dev/gateway")).json()
    assert stats["resumes"] == {f"participant:{joined['participant_id']}": 2, "sfu:r": 1}
    assert stats["opened"] == 5


async def test_the_debug_endpoint_is_off_by_default(tmp_path: Path) -> None:
    stack = LocalStack(LocalStackConfig(data_dir=tmp_path, port=0, pool_size=0))
    await stack.start()
    try:
        async with httpx.AsyncClient() as http:
            resp = await http.get(f"{stack.base_url}/_dev/gateway")
        assert resp.status_code == 404
        assert stack.gateway is not None
        assert stack.gateway.limits.idle_timeout == 600
        assert stack.gateway.limits.max_connection_age == 7200
    finally:
        await stack.stop()


def test_dev_has_flags_that_compress_time(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["dev", "--help"])
    assert done.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    for flag in ("--idle-timeout", "--max-connection-age", "--token-ttl", "--refresh-ttl"):
        assert f"{flag} SECONDS" in shown, flag
    assert "--session-lifetime SECONDS" in shown and "--debug-stats" in shown
