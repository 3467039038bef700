"""A client that vanishes without leaving (its process frozen with SIGSTOP or killed): the
others hear it left within the media-loss report plus the reconnect grace, and the SFU
frees its connections (its stats back to what they were before it came).

A killed client's socket closes at once: the room hears it left after the reconnect
grace (15 s) and the next maintenance pass (every 5 s locally). A frozen client's socket
stays open: the SFU finds its connections dead (consent checks, 4 s), waits 3 s for a new
producer and reports its media lost, which closes its socket; then the same grace. The
bound checked is that sum, plus 3 s for a loaded machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from arbiter_client import Room
from arbiter_rtc import PATH_TIMEOUT
from arbiter_server.settings import Settings
from arbiter_server.sfu.room import MEDIA_GRACE
from tests.faults.dev import Dev, wait_until
from tests.faults.media import PairClock

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

GRACE = Settings(public_url="", signaling_url="").reconnect_grace
MAINTENANCE = 5.0
"``dev``'s maintenance interval."
BOUND = PATH_TIMEOUT + MEDIA_GRACE + GRACE + MAINTENANCE + 3.0

GHOST = """
import asyncio, sys
from arbiter_client import Room

async def main():
    room = await Room.join(sys.argv[1], name="ghost", video_size=(160, 120), fps=10)
    print(room.participant_id, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.fixture
def ghost(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    try:
        yield started
    finally:
        for proc in started:
            proc.kill()
            proc.wait()


def _stats(dev: Dev) -> dict[str, Any]:
    try:
        found: dict[str, Any] = json.loads((dev.data_dir / "logs" / "sfu-talk.json").read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in found.items() if k not in ("pid", "tasks", "room_id")}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSTOP], ids=["killed", "frozen"])
async def test_a_vanished_client_is_announced_gone_and_its_connections_freed(
    dev: Dev, rooms: list[Room], ghost: list[subprocess.Popen[str]], tmp_path: Path, sig: int
) -> None:
    await dev.start()
    url = dev.facts["url"]
    for name in ("ann", "bob"):
        rooms.append(await Room.join(url, name=name, video_size=(160, 120), fps=10))
    clock = PairClock(rooms)
    try:
        await clock.flowing(20)
    finally:
        await clock.close()
    await wait_until(lambda: _stats(dev).get("forwarded_tracks") == 4, 10, "two publishers")
    baseline = _stats(dev)
    script = tmp_path / "ghost.py"
    script.write_text(GHOST)
    proc = subprocess.Popen([sys.executable, str(script), url], stdout=subprocess.PIPE, text=True)
    ghost.append(proc)
    assert proc.stdout is not None
    ghost_id = (await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)).strip()
    await wait_until(lambda: _stats(dev).get("forwarded_tracks") == 12, 20, "the ghost's tracks")
    left: dict[int, float] = {}
    for i, room in enumerate(rooms):
        room.on(
            "participant_left",
            lambda e, i=i: (
                left.setdefault(i, time.monotonic()) if e.participant.id == ghost_id else None
            ),
        )

    vanished = time.monotonic()
    os.kill(proc.pid, sig)
    await wait_until(lambda: len(left) == 2, BOUND + 5, "both others hear the ghost left")
    took = max(left.values()) - vanished
    await wait_until(lambda: _stats(dev) == baseline, 5, f"SFU stats back to {baseline}")
    freed = time.monotonic() - vanished
    name = signal.Signals(sig).name
    print(
        f"\nclient {name}: others told it left after {took:.2f} s, SFU freed it after {freed:.2f} s"
    )
    assert took < BOUND, (took, BOUND)
    assert ghost_id not in rooms[0].participants and ghost_id not in rooms[1].participants
