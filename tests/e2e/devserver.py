"""``arbiter-server dev`` as a subprocess for the end-to-end tests: start it, read its
``--json`` facts, stop it with SIGINT (SIGKILL only if it does not stop)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def dev_server(data_dir: Path, *args: str) -> Iterator[dict[str, Any]]:
    """Run ``arbiter-server dev --port 0 --json --data-dir DATA *args``; yields its facts."""
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "arbiter_server", "dev", "--port", "0", "--json"),
            *("--data-dir", str(data_dir), *args),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        facts: dict[str, Any] = json.loads(proc.stdout.readline())
        facts["pid"] = proc.pid
        yield facts
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, f"arbiter-server dev exited with {proc.returncode}"
