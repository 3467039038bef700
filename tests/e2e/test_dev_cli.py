"""Acceptance 5: ``arbiter-server dev`` as a subprocess; a client gets the demo bot's video;
SIGINT stops every child process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from arbiter_client import Room
from tests.e2e.probe import MediaProbe

pytestmark = pytest.mark.timeout(90)


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            parents[int(entry)] = ppid
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_dev_serves_a_demo_room_and_sigint_stops_everything(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "arbiter_server",
            "dev",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path),
            "--json",
            "--pool-size",
            "1",
            "--max-participants",
            "2",
            "--max-sfus-per-address",
            "1",
            "--join-rate-limit",
            "4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    children: set[int] = set()
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
        facts = json.loads(line)
        children = _children(proc.pid)
        assert facts["url"].endswith("/rooms/demo")
        async with Room.join(facts["url"], name="visitor", publish=None, timeout=20) as room:
            probe = MediaProbe(room)
            try:
                await probe.wait_for(
                    lambda: any(
                        p.name == "demo-bot" and p.id in probe.video_sizes
                        for p in room.participants.values()
                    ),
                    20,
                )
                bot = next(p for p in room.participants.values() if p.name == "demo-bot")
                assert probe.video_sizes[bot.id] == (640, 480)
                # --max-participants 2: the bot and the visitor hold both seats
                async with httpx.AsyncClient() as http:
                    third = await http.post(f"{facts['url']}/join", json={"name": "third"})
                    assert third.status_code == 409, third.text
                    assert third.json()["error"]["code"] == "room_full"
                    # --max-sfus-per-address 1: a second room from this address is refused
                    api = facts["url"].rsplit("/rooms/", 1)[0]
                    first = await http.post(f"{api}/rooms", json={"room_id": "mine"})
                    assert first.status_code in (200, 201), first.text
                    second = await http.post(f"{api}/rooms", json={"room_id": "another"})
                    assert second.status_code == 429, second.text
                    assert second.json()["error"]["code"] == "rate_limited"
                    # --join-rate-limit 4: the visitor's and third's joins (and the bot's)
                    # came from this address, so one of the next three is refused
                    codes = [
                        (await http.post(f"{facts['url']}/join", json={"name": "n"})).status_code
                        for _ in range(3)
                    ]
                    assert 429 in codes, codes
            finally:
                await probe.close()
        # the secrets dev writes are readable by their owner only
        for secret in (tmp_path / "turn" / "turnserver.conf", tmp_path / "arbiter.sqlite3"):
            assert secret.stat().st_mode & 0o777 == 0o600, secret
        children |= _children(proc.pid)
        # the demo room's SFU, the pooled room's SFU, the bot and coturn (when installed)
        assert len(children) >= 3, children
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(asyncio.to_thread(proc.wait), 30) == 0
        for pid in children:
            for _ in range(50):
                if not _alive(pid):
                    break
                await asyncio.sleep(0.1)
            assert not _alive(pid), f"child {pid} outlived arbiter-server dev"
    finally:
        children |= _children(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
