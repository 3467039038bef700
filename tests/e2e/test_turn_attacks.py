"""TURN as an outsider uses it: credentials from any join, then relays to wherever.

Every refusal is proven by coturn's answer to Allocate or CreatePermission alone
(``tests/turnprobe.py`` never sends data through a relay): no packet leaves this machine.
The dev configuration is attacked through a running stack while a room next door keeps
its relayed media flowing; the production configuration is attacked by running
``deploy/coturn-entrypoint.sh`` itself, which renders it with the same code.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from arbiter_client import Room
from arbiter_server.local import LocalStack, LocalStackConfig
from arbiter_server.turn import TurnServer, dev_allowed_peers, free_turn_port
from arbiter_server.turn_config import DENIED_PEER_RANGES, limits_for
from tests.e2e.probe import MediaProbe
from tests.turnprobe import TCP, TurnProbe

pytestmark = pytest.mark.timeout(90)

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "deploy" / "coturn-entrypoint.sh"
PUBLIC_V4, PUBLIC_V6 = "8.8.8.8", "2001:4860:4860::8888"  # permission only: nothing is sent
FORBIDDEN = 403


def own_addresses() -> set[str]:
    """Every address of this host (loopback included)."""
    return {*dev_allowed_peers("127.0.0.1"), "127.0.0.1", "::1"}


def samples(version: int, skip: set[str]) -> dict[str, str]:
    """One address in each denied range of an IP version that is not in ``skip``."""
    out: dict[str, str] = {}
    for cidr in DENIED_PEER_RANGES:
        net = ipaddress.ip_network(cidr)
        if net.version != version:
            continue
        for offset in (1, 2, 3, 5, 7):  # the network's own address is a different case
            candidate = net[offset % net.num_addresses].compressed
            if candidate not in skip:
                out[cidr] = candidate
                break
    extra = {"169.254.169.254": "cloud metadata", "255.255.255.255": "broadcast"}
    if version == 4:
        out.update({name: addr for addr, name in extra.items()})
    else:
        out["IPv4-mapped 10.0.0.1"] = "::ffff:10.0.0.1"
        out["NAT64 of 10.0.0.1"] = "64:ff9b::a00:1"
    return out


def refusals(probe: TurnProbe, peers: dict[str, str]) -> dict[str, tuple[str, int]]:
    """CreatePermission for every peer; the ones not answered 403, with their code."""
    wrong = {}
    for name, peer in peers.items():
        answer = probe.permit(peer)
        if answer.code != FORBIDDEN:
            wrong[name] = (peer, answer.code)
    return wrong


# ---------------------------------------------------------------------- dev, as run


@pytest.fixture
async def turn_stack(tmp_path: Path) -> AsyncIterator[LocalStack]:
    stack = LocalStack(
        LocalStackConfig(data_dir=tmp_path, port=0, pool_size=0, turn=True, max_participants=2)
    )
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


async def test_dev_turn_refuses_private_ranges_quota_and_tcp_relay_while_a_room_relays(
    turn_stack: LocalStack,
) -> None:
    stack = turn_stack
    assert stack.turn is not None
    url = await stack.create_room("next-door")
    direct = await Room.join(url, name="direct", video_size=(320, 240))
    relayed = await Room.join(
        url, name="relayed", video_size=(352, 288), ice_transport_policy="relay"
    )
    probes = MediaProbe(direct), MediaProbe(relayed)
    try:
        await probes[0].wait_media({relayed.participant_id: (352, 288)}, 15)
        await probes[1].wait_media({direct.participant_id: (320, 240)}, 15)

        # the attacker's credentials: any room's join hands them out
        await stack.create_room("attack")
        async with httpx.AsyncClient() as http:
            joined = (await http.post(f"{stack.room_url('attack')}/join", json={})).json()
        turn = next(s for s in joined["ice_servers"] if s.get("username"))
        host, port = turn["urls"][0].removeprefix("turn:").split("?")[0].rsplit(":", 1)
        server, user, password = (host, int(port)), turn["username"], turn["credential"]
        allowed = set(dev_allowed_peers(host))  # this host's addresses and 127.0.0.1

        def attack() -> dict[str, object]:
            found: dict[str, object] = {}
            with TurnProbe(server, user, password) as probe:
                assert probe.allocate().code == 0
                found["v4 not refused"] = refusals(probe, samples(4, allowed))
                found["own addresses"] = {
                    a: probe.permit(a).code for a in sorted(allowed) if ":" not in a
                }
                found["public"] = probe.permit(PUBLIC_V4).code
                # an IPv4 relay reaches no IPv6 peer, and dev has no IPv6 relay
                found["v6 peer"] = probe.permit("fd00::1").code
            with TurnProbe(server, user, password) as probe:
                found["v6 relay"] = probe.allocate(family=6).code
            with TurnProbe(server, user, password, transport="tcp") as probe:
                found["tcp relay"] = probe.allocate(transport=TCP).code  # RFC 6062
            with TurnProbe(server, user, password, transport="tcp") as probe:
                found["udp relay over tcp"] = probe.allocate().code
            return found

        found = await asyncio.to_thread(attack)
        assert found["v4 not refused"] == {}
        assert set(found["own addresses"].values()) == {0}  # type: ignore[union-attr]
        assert found["public"] == 0
        assert found["v6 peer"] == 443 and found["v6 relay"] in (440, 437)
        assert found["tcp relay"] == 442 and found["udp relay over tcp"] == 0

        # the per-user quota, with another join's credentials: 4 per seat (2 seats here)
        async with httpx.AsyncClient() as http:
            second = (await http.post(f"{stack.room_url('attack')}/join", json={})).json()
        turn2 = next(s for s in second["ice_servers"] if s.get("username"))
        quota = limits_for(2).user_quota

        def exhaust() -> list[int]:
            codes: list[int] = []
            held: list[TurnProbe] = []
            try:
                for _ in range(quota + 1):
                    probe = TurnProbe(server, turn2["username"], turn2["credential"])
                    held.append(probe.__enter__())
                    codes.append(probe.allocate().code)
            finally:
                for probe in held:
                    probe.__exit__()
            return codes

        codes = await asyncio.to_thread(exhaust)
        assert codes == [0] * quota + [486]

        # meanwhile the relayed participant's media kept flowing both ways
        before = (probes[0].frames(relayed.participant_id), probes[1].frames(direct.participant_id))
        await probes[0].wait_for(
            lambda: probes[0].frames(relayed.participant_id) > before[0] + 30, 10
        )
        await probes[1].wait_for(
            lambda: probes[1].frames(direct.participant_id) > before[1] + 30, 10
        )
        conf = stack.turn.config_path
        assert conf.stat().st_mode & 0o777 == 0o600 and conf.parent.stat().st_mode & 0o777 == 0o700
    finally:
        for p in probes:
            await p.close()
        for r in (direct, relayed):
            await r.leave()


def test_dev_turn_on_all_interfaces_does_not_relay_to_loopback(tmp_path: Path) -> None:
    """``dev --host 0.0.0.0``: others can reach coturn, so loopback is not allowed."""
    server = TurnServer(tmp_path, host="0.0.0.0")
    server.start()
    try:
        ice = server.ice_servers("p-1", ttl=600)[1]
        assert ice.username and ice.credential
        with TurnProbe(("127.0.0.1", server.port), ice.username, ice.credential) as probe:
            assert probe.allocate().code == 0
            assert probe.permit("127.0.0.1").code == FORBIDDEN
            assert probe.permit("127.0.0.53").code == FORBIDDEN
            own = [a for a in dev_allowed_peers("0.0.0.0") if ":" not in a]
            assert all(probe.permit(a).code == 0 for a in own)
    finally:
        server.stop()


# ---------------------------------------------------------------------- production


def _stub_bin(tmp_path: Path, external: str | None) -> Path:
    """A ``detect-external-ip`` that prints ``external`` (or fails) and the venv's python3."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    stub = bin_dir / "detect-external-ip"
    body = f"echo {external}" if external is not None else "exit 1"
    stub.write_text(f"#!/bin/sh\n{body}\n")
    stub.chmod(0o755)
    (bin_dir / "python3").symlink_to(sys.executable)
    return bin_dir


def _entrypoint_env(tmp_path: Path, bin_dir: Path, port: int) -> dict[str, str]:
    base = 50000 + secrets.randbelow(60) * 200
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "TURN_SECRET": secrets.token_urlsafe(24),
        "TURN_PORT": str(port),
        "TURN_MIN_PORT": str(base),
        "TURN_MAX_PORT": str(base + 199),
        "TURN_CONFIG_DIR": str(tmp_path / "conf"),
    }


@pytest.fixture
def production_turn(tmp_path: Path) -> Iterator[tuple[int, str, Path]]:
    """coturn started by ``deploy/coturn-entrypoint.sh``: (port, secret, config dir)."""
    assert shutil.which("turnserver"), "coturn (turnserver) must be installed"
    port = free_turn_port()
    env = _entrypoint_env(tmp_path, _stub_bin(tmp_path, "203.0.113.7"), port)
    log = open(tmp_path / "turn.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_stun(port, proc, tmp_path / "turn.log")
        yield port, env["TURN_SECRET"], tmp_path / "conf"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_for_stun(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + secrets.token_bytes(12)
    deadline = time.monotonic() + 30  # the entrypoint renders the config first (Python)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text(errors="replace")[-2000:]
            s.sendto(request, ("127.0.0.1", port))
            try:
                if s.recv(2048)[:2] == b"\x01\x01":
                    return
            except TimeoutError:
                continue
    raise AssertionError(f"coturn did not answer: {log.read_text(errors='replace')[-2000:]}")


def test_production_turn_refuses_every_private_range_of_both_families(
    production_turn: tuple[int, str, Path],
) -> None:
    port, secret, conf_dir = production_turn
    from arbiter_server.turn import turn_credentials

    user, password = turn_credentials(secret, "p-attacker", ttl=600)
    # production allows nothing private: this host's own addresses and loopback included
    with TurnProbe(("127.0.0.1", port), user, password) as probe:
        assert probe.allocate().code == 0
        peers = samples(4, set())
        peers.update({f"own {a}": a for a in own_addresses() if ":" not in a})
        assert refusals(probe, peers) == {}
        assert probe.permit(PUBLIC_V4).code == 0
    with TurnProbe(("::1", port), user, password) as probe:
        assert probe.allocate(family=6).code == 0
        peers = samples(6, set())
        peers.update({f"own {a}": a for a in own_addresses() if ":" in a})
        assert refusals(probe, peers) == {}
        assert probe.permit(PUBLIC_V6).code == 0
    with TurnProbe(("127.0.0.1", port), user, password, transport="tcp") as probe:
        assert probe.allocate(transport=TCP).code == 442  # no RFC 6062 relay
    with TurnProbe(("127.0.0.1", port), user, password, transport="tcp") as probe:
        assert probe.allocate().code == 0  # clients still reach coturn over TCP
    conf = conf_dir / "turnserver.conf"
    assert conf.stat().st_mode & 0o777 == 0o600
    assert secret in conf.read_text()


@pytest.mark.parametrize("external", [None, ""], ids=["detection fails", "prints nothing"])
def test_production_entrypoint_refuses_to_start_without_a_public_address(
    tmp_path: Path, external: str | None
) -> None:
    env = _entrypoint_env(tmp_path, _stub_bin(tmp_path, external), free_turn_port())
    done = subprocess.run(
        ["sh", str(ENTRYPOINT)], env=env, capture_output=True, timeout=20, check=False
    )
    assert done.returncode == 1
    assert b"cannot find this task's public address" in done.stderr
    assert not (tmp_path / "conf" / "turnserver.conf").exists()
