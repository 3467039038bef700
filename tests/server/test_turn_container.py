"""The coturn image's container scripts, run here as processes against a real coturn.

There is no Docker engine here: the scripts the image copies (``deploy/``) run directly,
with the environment the task definition gives them.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arbiter_server.infra.buildcontext import copy_sources
from arbiter_server.infra.planner.containers import TURN_HEALTH_CHECK
from arbiter_server.turn import TurnServer, free_turn_port

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


@pytest.mark.scenarios
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


def _entrypoint_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The task definition's environment, with only python3 added to PATH (no
    ``detect-external-ip``: the coturn image's tool does not exist here)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "python3").exists():
        (bin_dir / "python3").symlink_to(sys.executable)
    base = 50000 + secrets.randbelow(60) * 200
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "TURN_SECRET": secrets.token_urlsafe(24),
        "TURN_PORT": str(free_turn_port()),
        "TURN_MIN_PORT": str(base),
        "TURN_MAX_PORT": str(base + 199),
        "TURN_CONFIG_DIR": str(tmp_path / "conf"),
        **extra,
    }


@pytest.mark.scenarios
def test_the_entrypoint_starts_coturn_on_a_given_external_address_and_its_health_check_follows(
    tmp_path: Path,
) -> None:
    env = _entrypoint_env(tmp_path, TURN_EXTERNAL_IP="203.0.113.7")
    health_env = {**env, "TURN_HEALTH_ADDRESS": "127.0.0.1"}
    log = open(tmp_path / "turn.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        ["sh", str(DEPLOY / "coturn-entrypoint.sh")], env=env, stdout=log, stderr=log
    )

    def health(wait: str = "5") -> subprocess.CompletedProcess[str]:
        """The health check, waiting up to ``wait`` s for the answer: the default 5 s when
        it should pass (an answer ends it at once, however slow the machine is), 1 s when
        it should fail (a stopped coturn never answers)."""
        return subprocess.run(
            ["sh", str(HEALTH)],
            env={**health_env, "TURN_HEALTH_TIMEOUT": wait},
            capture_output=True,
            text=True,
            timeout=20,
        )

    def healthy(within: float) -> None:
        deadline = time.monotonic() + within
        while (check := health()).returncode != 0:
            assert proc.poll() is None, (tmp_path / "turn.log").read_text(errors="replace")
            assert time.monotonic() < deadline, f"coturn not healthy: {check.stderr}"

    try:
        healthy(within=30)  # it starts: rendering the config, then coturn binding its port
        # relays are announced on the given public address, mapped from the task's own
        config = (tmp_path / "conf" / "turnserver.conf").read_text()
        assert "external-ip=203.0.113.7/127.0.0.1" in config.splitlines()
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            stopped = health(wait="1")
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        assert stopped.returncode == 1 and "no STUN answer" in stopped.stderr
        assert health().returncode == 0  # answers again once running
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_the_entrypoint_refuses_to_start_when_no_external_address_is_given_or_found(
    tmp_path: Path,
) -> None:
    env = _entrypoint_env(tmp_path)
    env.pop("TURN_EXTERNAL_IP", None)
    done = subprocess.run(
        ["sh", str(DEPLOY / "coturn-entrypoint.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert done.returncode == 1
    assert "cannot find this task's public address" in done.stderr
    assert not (tmp_path / "conf" / "turnserver.conf").exists()
