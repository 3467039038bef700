"""``arbiter-server dev`` as a subprocess for fault tests: its facts, its children (psutil),
and a cleanup that stops by PID whatever is left."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil


def free_port() -> int:
    """A TCP port free on loopback now (for restarting ``dev`` on the same port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def wait_until(predicate: Any, timeout: float, what: str, step: float = 0.05) -> float:
    """Poll ``predicate()`` until true; return the seconds it took (AssertionError on timeout)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not predicate():
        if loop.time() - start > timeout:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        await asyncio.sleep(step)
    return loop.time() - start


class Dev:
    """One ``arbiter-server dev --json`` process; :meth:`cleanup` kills everything it left."""

    def __init__(self, data_dir: Path, *args: str, port: int = 0) -> None:
        self.data_dir = data_dir
        self.args = list(args)
        self.port = port
        self.proc: subprocess.Popen[str] | None = None
        self.facts: dict[str, Any] = {}
        self.seen: dict[int, psutil.Process] = {}
        "Every descendant seen so far (for the cleanup; psutil checks a PID is not reused)."

    async def start(self, timeout: float = 40.0) -> dict[str, Any]:
        """Start it and return the JSON facts it prints once ready."""
        log = open(self.data_dir.parent / f"{self.data_dir.name}-dev.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "arbiter_server",
                "dev",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--json",
                *self.args,
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        log.close()  # the child has its own copy
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), timeout)
        assert line, f"dev exited with {self.proc.poll()} before it was ready"
        self.facts = json.loads(line)
        self.port = int(self.facts["api"].rsplit(":", 1)[1])
        self.children()
        return self.facts

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def children(self) -> list[psutil.Process]:
        """Running descendants of ``dev`` now."""
        try:
            found = psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        self.seen.update((p.pid, p) for p in found)
        return [p for p in found if alive(p.pid)]

    def sfu_pids(self) -> list[int]:
        """PIDs of the running SFU children."""
        return [p.pid for p in self.children() if "arbiter_server.sfu" in " ".join(p.cmdline())]

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def wait_exit(self, timeout: float) -> int:
        """Wait for ``dev`` to exit; its exit code."""
        assert self.proc is not None
        return await asyncio.wait_for(asyncio.to_thread(self.proc.wait), timeout)

    def cleanup(self) -> None:
        """Stop ``dev`` and kill every descendant it left, by PID (resuming any a test
        froze with SIGSTOP first, so that they can stop in order)."""
        for child in self.seen.values():
            try:
                child.resume()  # psutil: only the very process seen, never a reused PID
            except psutil.NoSuchProcess:
                pass
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.children()
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for child in self.seen.values():
            try:
                if child.is_running():
                    child.kill()
            except psutil.NoSuchProcess:
                pass
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
