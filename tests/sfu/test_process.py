"""The SFU as a process (``python -m arbiter_server.sfu``) against a signaling stand-in."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from .fake_signaling import FakeSignaling
from .peers import Peer

pytestmark = pytest.mark.timeout(30)

LOOKS = {"alice": ((320, 240), 40), "bob": ((352, 288), 128), "carol": ((256, 192), 210)}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def sfu_process(
    url: str, *extra: str, token: str | None = "sfu-secret"
) -> AsyncIterator[asyncio.subprocess.Process]:
    env = dict(os.environ, ARBITER_ICE_SERVERS="[]")
    env.pop("ARBITER_SFU_TOKEN", None)
    if token is not None:
        env["ARBITER_SFU_TOKEN"] = token
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "arbiter_server.sfu",
        "--room",
        "room1",
        "--signaling",
        url,
        "--log-level",
        "info",
        *extra,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def output(proc: asyncio.subprocess.Process, timeout: float = 10.0) -> tuple[int, str]:
    assert proc.stdout is not None
    out = await asyncio.wait_for(proc.stdout.read(), timeout)
    code = await asyncio.wait_for(proc.wait(), timeout)
    return code, out.decode(errors="replace")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def signaling() -> AsyncIterator[FakeSignaling]:
    server = FakeSignaling()
    await server.start()
    try:
        yield server
    finally:
        await server.close_peers()
        await server.stop()


async def three_peers(signaling: FakeSignaling) -> dict[str, Peer]:
    peers = {}
    for pid, (size, luma) in LOOKS.items():
        peers[pid] = await signaling.join(pid, size=size, luma=luma)
    return peers


async def wait_all(
    peers: dict[str, Peer], frames: Callable[[Peer, str], int], timeout: float = 15
) -> None:
    await asyncio.gather(
        *(
            peer.wait_media(other, video=frames(peer, other), audio=0, timeout=timeout)
            for peer in peers.values()
            for other in peers
            if other != peer.id
        )
    )


async def test_three_peers_through_the_sfu_process(
    signaling: FakeSignaling, record_property: Callable[[str, object], None]
) -> None:
    async with sfu_process(signaling.url) as proc:
        await asyncio.wait_for(signaling.connected.wait(), 10)
        peers = await three_peers(signaling)
        await wait_all(peers, lambda peer, other: 10)
        for peer in peers.values():
            for other in peers:
                if other != peer.id:
                    got = peer.got(other)
                    assert got.sizes == {LOOKS[other][0]} and got.audio_frames > 0

        # SFU CPU while forwarding 3 x (VP8 320x240-ish 30 fps + Opus) to 6 consumers.
        loop = asyncio.get_running_loop()
        start_cpu, start = cpu_seconds(proc.pid), loop.time()
        await wait_all(peers, lambda peer, other: peer.got(other).video_frames + 60)
        cpu = (cpu_seconds(proc.pid) - start_cpu) / (loop.time() - start)
        record_property("sfu_cpu_fraction", round(cpu, 3))
        print(f"SFU CPU with 3 participants: {cpu:.0%} of one core")

        proc.send_signal(signal.SIGTERM)
        code, out = await output(proc)
    assert code == 0, out
    assert "room room1 closed" in out
    assert "Traceback" not in out


async def test_exits_1_when_signaling_is_unreachable() -> None:
    url = f"ws://127.0.0.1:{free_port()}/ws"
    async with sfu_process(url, "--connect-attempts", "2", "--retry-delay", "0.1") as proc:
        code, out = await output(proc)
    assert code == 1, out
    assert "unreachable after 2 attempts" in out


async def test_exits_1_when_signaling_is_lost_for_good(signaling: FakeSignaling) -> None:
    async with sfu_process(signaling.url, "--connect-attempts", "2", "--retry-delay", "0.1") as p:
        await asyncio.wait_for(signaling.connected.wait(), 10)
        await signaling.stop()
        code, out = await output(p)
    assert code == 1, out
    assert "lost signaling" in out


async def test_exits_2_without_credential_and_1_when_refused(signaling: FakeSignaling) -> None:
    async with sfu_process(signaling.url, token=None) as proc:
        code, out = await output(proc)
    assert code == 2 and "ARBITER_SFU_TOKEN is not set" in out
    async with sfu_process(signaling.url, token="wrong") as proc:
        code, out = await output(proc)
    assert code == 1 and "unauthorized" in out
    assert signaling.identifies == ["wrong"]


async def test_sigint_with_idle_room_exits_0(signaling: FakeSignaling) -> None:
    async with sfu_process(signaling.url) as proc:
        await asyncio.wait_for(signaling.connected.wait(), 10)
        proc.send_signal(signal.SIGINT)
        code, out = await output(proc)
    assert code == 0, out


@pytest.mark.benchmark
@pytest.mark.timeout(90)
async def test_sfu_cpu_with_three_participants(
    signaling: FakeSignaling, record_property: Callable[[str, object], None]
) -> None:
    """SFU process CPU over 600 frames (~20 s) of 3 participants (``-m benchmark -s``)."""
    async with sfu_process(signaling.url, "--log-level", "warning") as proc:
        await asyncio.wait_for(signaling.connected.wait(), 10)
        peers = await three_peers(signaling)
        await wait_all(peers, lambda peer, other: 30)
        loop = asyncio.get_running_loop()
        start_cpu, start = cpu_seconds(proc.pid), loop.time()
        counts = {(p.id, o): p.got(o).video_frames for p in peers.values() for o in peers}
        await wait_all(peers, lambda peer, other: peer.got(other).video_frames + 600, 40)
        elapsed = loop.time() - start
        cpu = (cpu_seconds(proc.pid) - start_cpu) / elapsed
        frames = sum(peers[p].got(o).video_frames - n for (p, o), n in counts.items() if p != o)
        record_property("sfu_cpu_fraction", round(cpu, 3))
        print(
            f"\nSFU CPU with 3 participants over {elapsed:.1f} s: {cpu:.1%} of one core; "
            f"{frames / elapsed:.0f} video frames/s delivered to 6 consumers"
        )
        proc.send_signal(signal.SIGTERM)
        code, out = await output(proc)
    assert code == 0, out
