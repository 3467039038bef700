"""The supervisor's children: they die with their parent (even by SIGKILL), are stopped
together within a bound, and a watchdog restarts one."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time

import psutil
import pytest

from arbiter_server.supervisor import Watchdog, spawn, stop_processes

pytestmark = pytest.mark.timeout(30)

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True)"
    "; time.sleep(60)",
]
# a parent that starts a child with spawn(), prints its pid and waits to be killed
PARENT = [
    sys.executable,
    "-c",
    "import sys, time; from arbiter_server.supervisor import spawn; "
    f"child = spawn({SLEEPER!r}); print(child.pid, flush=True); time.sleep(60)",
]


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


def test_a_child_dies_with_its_parent_killed_by_sigkill() -> None:
    parent = subprocess.Popen(PARENT, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert psutil.Process(child).ppid() == parent.pid
        parent.kill()
        parent.wait()
        assert _gone(child, 5), "the child outlived its killed parent"
    finally:
        if not _gone(child, 0):
            psutil.Process(child).kill()
        parent.stdout.close()


def test_stop_processes_stops_all_at_once_and_kills_stragglers() -> None:
    stubborn = spawn(STUBBORN, stdout=subprocess.PIPE)
    assert stubborn.stdout is not None and stubborn.stdout.readline() == b"ready\n"
    polite = [spawn(SLEEPER) for _ in range(3)]
    start = time.monotonic()
    stop_processes([stubborn, *polite], timeout=1.0)
    took = time.monotonic() - start
    assert all(p.returncode is not None for p in [stubborn, *polite])
    assert stubborn.returncode == -signal.SIGKILL and polite[0].returncode == -signal.SIGTERM
    assert took < 2.0, f"took {took:.1f} s for a 1 s bound"
    stubborn.stdout.close()


async def test_the_watchdog_restarts_a_child_that_died() -> None:
    procs = [spawn(SLEEPER)]

    def restart() -> None:
        procs.append(spawn(SLEEPER))

    watchdog = Watchdog("sleeper", lambda: procs[-1].poll() is None, restart, interval=0.05)
    watchdog.start()
    try:
        procs[0].kill()
        async with asyncio.timeout(5):
            while watchdog.restarts < 1:
                await asyncio.sleep(0.02)
        assert len(procs) == 2 and procs[1].poll() is None
    finally:
        await watchdog.stop()
        stop_processes(procs, 1.0)
    assert watchdog.restarts == 1
