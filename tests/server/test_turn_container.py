"""The coturn image's container scripts, run here as processes against a real coturn.

There is no Docker engine here: the scripts the image copies (``deploy/``) run directly,
with the environment the task definition gives them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arbiter_server.infra.buildcontext import copy_sources
from arbiter_server.infra.planner.containers import TURN_HEALTH_CHECK
from arbiter_server.turn import TurnServer

pytestmark = pytest.mark.timeout(60)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
HEALTH = DEPLOY / "coturn-healthcheck.sh"


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[TurnServer]:
    turn = TurnServer(tmp_path)
    turn.start()
    try:
        yield turn
    finally:
        turn.stop()


def _health(turn: TurnServer, wait: str | None = None) -> tuple[int, str, float]:
    env = {**os.environ, "TURN_PORT": str(turn.port), "TURN_HEALTH_ADDRESS": turn.host}
    if wait is not None:
        env["TURN_HEALTH_TIMEOUT"] = wait
    start = time.monotonic()
    done = subprocess.run(["sh", str(HEALTH)], env=env, capture_output=True, text=True, timeout=30)
    return done.returncode, done.stderr, time.monotonic() - start


def test_the_health_check_is_the_script_the_image_copies() -> None:
    assert "deploy/coturn-healthcheck.sh" in copy_sources(DEPLOY / "coturn.Dockerfile")
    dockerfile = (DEPLOY / "coturn.Dockerfile").read_text()
    assert "COPY deploy/coturn-healthcheck.sh /usr/local/bin/arbiter-turn-health" in dockerfile
    assert TURN_HEALTH_CHECK["command"] == ["CMD", "/usr/local/bin/arbiter-turn-health"]
    assert os.access(HEALTH, os.X_OK)


def test_the_health_check_passes_while_coturn_answers_stun_and_fails_when_it_does_not(
    coturn: TurnServer,
) -> None:
    code, err, _ = _health(coturn)
    assert (code, err) == (0, "")
    assert coturn.pid is not None
    os.kill(coturn.pid, signal.SIGSTOP)  # the process is there, but TURN answers nothing
    try:
        code, err, seconds = _health(coturn, wait="2")
    finally:
        os.kill(coturn.pid, signal.SIGCONT)
    assert code == 1
    assert f"no STUN answer from {coturn.host}:{coturn.port} within 2 s" in err
    assert 2 <= seconds < TURN_HEALTH_CHECK["timeout"]  # the default 5 s fits ECS's 10 s
    assert _health(coturn)[0] == 0
