"""The SFU container's health check: ``python -m arbiter_server.heartbeat FILE``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arbiter_server.heartbeat", str(path), "--max-age", "10"],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_fresh_heartbeat_is_healthy_and_a_stale_or_missing_one_is_not(tmp_path: Path) -> None:
    state = tmp_path / "sfu.json"
    assert _check(state).returncode == 1  # not written yet
    state.write_text('{"pid": 1}')
    assert _check(state).returncode == 0
    old = time.time() - 11
    os.utime(state, (old, old))
    stale = _check(state)
    assert stale.returncode == 1 and "unhealthy" in stale.stdout
