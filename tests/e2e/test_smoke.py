"""``arbiter-server smoke`` against ``arbiter-server dev``: passes, and with TURN stopped
fails naming the TURN step; against closed room creation it needs the API key."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from arbiter_server.local import LocalStack, LocalStackConfig
from arbiter_server.smoke import SmokeTest
from tests.e2e.devserver import dev_server

# a whole session each: run by scripts/test and CI with -m scenarios
pytestmark = [pytest.mark.timeout(120), pytest.mark.scenarios]

STEPS = [
    "room API answers",
    "room is ready",
    "bot 'smoke-relay' joins relay-only, through TURN",
    "bot 'smoke-direct' joins",
    "video smoke-direct -> SFU -> TURN -> smoke-relay",
    "video smoke-relay -> TURN -> SFU -> smoke-direct",
]
LINE = re.compile(r"^(PASS|FAIL|SKIP) +(\d+\.\d\d) s  (.+?)(?:: (.*))?$")


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """``arbiter-server dev`` with coturn, no bot; its ``--json`` facts."""
    with dev_server(tmp_path_factory.mktemp("smoke-dev"), "--no-bot", "--pool-size", "0") as facts:
        assert facts["turn_pid"], "coturn did not start"
        yield facts


def _smoke(*args: str) -> tuple[int, list[tuple[str, float, str, str]], str]:
    result = subprocess.run(
        [sys.executable, "-m", "arbiter_server", "smoke", *args],
        capture_output=True,
        text=True,
        timeout=90,
    )
    steps = []
    for line in result.stdout.splitlines():
        m = LINE.match(line)
        if m:
            steps.append((m.group(1), float(m.group(2)), m.group(3), m.group(4) or ""))
    return result.returncode, steps, result.stdout


def test_smoke_passes_against_dev(dev: dict[str, object]) -> None:
    code, steps, out = _smoke(str(dev["api"]))
    assert code == 0, out
    assert [(mark, name) for mark, _, name, _ in steps] == [("PASS", s) for s in STEPS]
    assert all(seconds >= 0 for _, seconds, _, _ in steps)
    room = steps[1][3]
    assert room.startswith(f"{dev['api']}/rooms/") and "open it in a browser" in room
    assert steps[4][3] == "320x240 frame decoded" and steps[5][3] == "352x288 frame decoded"
    assert out.splitlines()[-1].startswith("smoke PASSED: 6 steps in ")


def test_smoke_with_turn_stopped_fails_naming_the_turn_step(dev: dict[str, object]) -> None:
    turn = int(str(dev["turn_pid"]))
    os.kill(turn, signal.SIGSTOP)  # coturn stopped: it answers nothing
    try:
        code, steps, out = _smoke(str(dev["url"]), "--timeout", "4")
    finally:
        os.kill(turn, signal.SIGCONT)
    assert code == 1, out
    assert [(mark, name) for mark, _, name, _ in steps] == [
        ("PASS", STEPS[0]),
        ("PASS", STEPS[1]),
        ("FAIL", STEPS[2]),
        *[("SKIP", s) for s in STEPS[3:]],
    ]
    assert "TURN" in steps[2][3]
    assert out.splitlines()[-1].startswith(f"smoke FAILED at '{STEPS[2]}': ")


async def test_smoke_creates_a_room_with_the_api_key_and_says_when_it_needs_one(
    tmp_path: Path,
) -> None:
    stack = LocalStack(
        LocalStackConfig(
            data_dir=tmp_path,
            port=0,
            pool_size=0,
            turn=True,
            open_room_creation=False,
            api_key="k-123",
        )
    )
    await stack.start()
    try:
        refused = await SmokeTest(stack.room_url("keyed"), timeout=20).run()
        assert [s.passed for s in refused.steps] == [True, False, None, None, None, None]
        assert "needs the deployment's API key: pass --api-key" in refused.steps[1].detail
        passed = await SmokeTest(stack.room_url("keyed"), api_key="k-123", timeout=20).run()
        assert passed.passed, [s.line() for s in passed.steps]
        assert passed.steps[1].detail.startswith(f"{stack.room_url('keyed')} (created;")
    finally:
        await asyncio.shield(stack.stop())
