"""``arbiter-server dev`` owns its children: it stops them all within 5 s on Ctrl-C or
SIGTERM, none outlives it when it is killed, and a killed coturn comes back."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from arbiter_client import Room, TrackSubscribed
from tests.faults.dev import Dev, alive, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    # the demo bot, the demo room's SFU, a pooled room's SFU and coturn: four children
    process = Dev(tmp_path / "data", "--pool-size", "1")
    (tmp_path / "data").mkdir()
    try:
        yield process
    finally:
        process.cleanup()


async def _wait_children(dev: Dev) -> list[psutil.Process]:
    """Wait until the bot, two SFUs and coturn run; return them."""
    await wait_until(lambda: len(dev.sfu_pids()) == 2, 30, "two SFUs")
    children = dev.children()
    names = " ".join(" ".join(c.cmdline()) for c in children)
    assert "arbiter_server.demo_bot" in names and "turnserver" in names, names
    return children


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
async def test_a_signal_stops_dev_and_every_child_within_5_s(dev: Dev, sig: int) -> None:
    await dev.start()
    children = await _wait_children(dev)
    # the room is in use: the bot publishes, its SFU forwards
    await wait_until(lambda: _sfu_has_producer(dev), 20, "the bot publishing to its SFU")
    # and three clients hang: their WebSockets never answer the closing handshake
    hung = [_silent_websocket(dev.port) for _ in range(3)]
    dev.signal(sig)
    took = await wait_until(
        lambda: (
            dev.proc is not None
            and dev.proc.poll() is not None
            and not any(alive(c.pid) for c in children)
        ),
        10,
        "dev and its children gone",
    )
    for sock in hung:
        sock.close()
    assert dev.proc is not None and dev.proc.returncode == 0
    assert took < 5.0, f"dev and its children took {took:.1f} s to stop"


def _silent_websocket(port: int) -> socket.socket:
    """A WebSocket upgraded by hand that then reads and answers nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert sock.recv(4096).startswith(b"HTTP/1.1 101"), "no WebSocket upgrade"
    return sock


def _sfu_has_producer(dev: Dev) -> bool:
    state = dev.data_dir / "logs" / "sfu-demo.json"
    try:
        return int(json.loads(state.read_text())["producers"]) >= 1
    except (OSError, ValueError, KeyError):
        return False


async def test_no_child_outlives_dev_killed_with_sigkill(dev: Dev) -> None:
    await dev.start()
    children = await _wait_children(dev)
    # the room is in use: left alone, its SFU and the bot would try to reconnect
    await wait_until(lambda: _sfu_has_producer(dev), 20, "the bot publishing to its SFU")
    dev.signal(signal.SIGKILL)
    await dev.wait_exit(5)
    await wait_until(
        lambda: not any(alive(c.pid) for c in children),
        5,
        f"children of the killed dev ({[(c.pid, c.name()) for c in children]}) stopped",
    )


async def test_killed_coturn_comes_back_on_its_port_and_relays_again(dev: Dev) -> None:
    facts = await dev.start()
    old = psutil.Process(facts["turn_pid"])
    port = int(facts["turn"].rsplit(":", 1)[1])
    assert {c.laddr.port for c in old.net_connections("udp")} == {port}
    old.kill()

    def restarted() -> bool:
        return any(
            "turnserver" in c.name() and c.pid != old.pid and port in _udp_ports(c)
            for c in dev.children()
        )

    took = await wait_until(restarted, 5, "coturn restarted on the same port")
    assert took < 5.0
    # a relay-only client gets its media through the new coturn: the same secret signs
    # the credentials dev hands out
    async with Room.join(
        facts["url"], name="relayed", publish=None, ice_transport_policy="relay", timeout=20
    ) as room:
        async for event in room.events():
            if isinstance(event, TrackSubscribed) and event.kind == "video":
                frame = await event.track.recv()
                assert (frame.width, frame.height) == (640, 480)
                break


def _udp_ports(process: psutil.Process) -> set[int]:
    try:
        return {c.laddr.port for c in process.net_connections("udp")}
    except psutil.Error:
        return set()
