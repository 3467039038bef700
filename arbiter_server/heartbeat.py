"""The SFU's heartbeat: its state file, touched while its event loop runs.

The SFU keeps its state file (``ARBITER_SFU_STATE_FILE``: its room's stats and its process
id) written at least every :data:`~arbiter_server.sfu.service.SfuConfig.state_interval`
seconds, so the file's age tells whether the process still works: a frozen (SIGSTOP) or
hung SFU keeps its socket open but stops touching the file. The local launcher reads the
age (:func:`heartbeat_age`); on AWS the SFU container's health check runs
``python -m arbiter_server.heartbeat FILE --max-age SECONDS``, which exits 1 when the
file is older, and ECS reports the task ``UNHEALTHY``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

__all__ = ["HEARTBEAT_TIMEOUT", "heartbeat_age", "heartbeat_pid", "main"]

HEARTBEAT_TIMEOUT = 4.0
"Seconds without a heartbeat after which an SFU counts as hung (locally)."


def heartbeat_age(path: Path) -> float | None:
    """Seconds since the SFU last touched ``path``; None if it has not written it yet."""
    try:
        return max(0.0, time.time() - path.stat().st_mtime)
    except FileNotFoundError:
        return None


def heartbeat_pid(path: Path) -> int | None:
    """The process id written in the state file (whose heartbeat it is), if readable."""
    try:
        pid = json.loads(path.read_text()).get("pid")
    except (OSError, ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) else None


def main(argv: list[str] | None = None) -> int:
    """Exit 0 if the heartbeat file is fresh, 1 if it is stale or missing."""
    parser = argparse.ArgumentParser(
        prog="python -m arbiter_server.heartbeat", description="SFU heartbeat check."
    )
    parser.add_argument("file", type=Path, help="the SFU's state file")
    parser.add_argument("--max-age", type=float, default=10.0, help="seconds (default 10)")
    args = parser.parse_args(argv)
    age = heartbeat_age(args.file)
    if age is None or age > args.max_age:
        print(f"unhealthy: heartbeat {'missing' if age is None else f'{age:.1f} s old'}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
