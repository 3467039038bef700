"""Child processes that never outlive this one: start them, restart them, stop them in time.

* :func:`spawn` starts a child that the kernel kills (``SIGKILL``) when this process dies,
  however it dies, ``SIGKILL`` included (Linux ``PR_SET_PDEATHSIG``, set in the child
  between ``fork`` and ``exec``, so it holds for programs that are not ours, e.g. coturn).
  A dying parent coordinates nothing, and a child asked to stop politely then may hang on
  it (an SFU whose signaling just vanished, a client leaving a server that is gone).
  The death signal follows the *thread* that forked the child, so every child is forked by
  one long-lived thread of this module, never by a worker thread that may end earlier.
  Where util-linux's ``setpriv`` is installed (Debian always has it) the child asks for the
  signal by running ``setpriv --pdeathsig KILL`` and a ``sh`` check of its parent before
  the program, so no Python code runs between ``fork`` and ``exec``: Python 3.13 clears
  the other threads' state in a forked child before a ``preexec_fn`` runs, and the
  destructors that runs can wait forever on a lock a thread of the parent held (seen with
  PyAV's codec threads). Without ``setpriv`` it falls back to a ``preexec_fn``.
* :func:`stop_processes` stops several children at once within one deadline: ``SIGTERM``
  to all, then ``SIGKILL`` to those still running when it passes.
* :class:`Watchdog` restarts a child whose process exited while nobody asked it to.

On systems without ``prctl`` (not Linux) :func:`spawn` is a plain ``subprocess.Popen``.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["Watchdog", "spawn", "stop_processes"]

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
DEATH_SIGNAL = signal.SIGKILL
"What a child receives when this process dies: it must not outlive it, whatever it does."


def _load_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


_prctl = _load_prctl()
_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


def _spawner_thread() -> ThreadPoolExecutor:
    """One thread that forks every child and lives as long as this process."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="arbiter-spawner")
        return _spawner


def _die_with(parent: int) -> None:
    """In the child, before ``exec``: ask for ``DEATH_SIGNAL`` when the parent dies.

    If the parent died between ``fork`` and here, the child was already handed to another
    parent and would never get the signal, so it stops itself.
    """
    _prctl(_PR_SET_PDEATHSIG, DEATH_SIGNAL, 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), DEATH_SIGNAL)


def spawn(args: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(args, **popen_kwargs)`` for a child that dies with this process.

    Raises ``OSError`` (as ``Popen`` does) when the program cannot be started.
    """
    if _prctl is None:
        return subprocess.Popen(list(args), **popen_kwargs)
    if "preexec_fn" in popen_kwargs:
        raise ValueError("spawn() sets preexec_fn itself")
    parent = os.getpid()
    setpriv = shutil.which("setpriv")
    if setpriv is not None:
        env = popen_kwargs.get("env")
        program = shutil.which(args[0], path=(env or os.environ).get("PATH"))
        if program is None:  # as Popen would say, rather than a shell's exit code 127
            raise FileNotFoundError(2, "No such file or directory", args[0])
        command = [setpriv, "--pdeathsig", "KILL", "--", "/bin/sh", "-c", _GUARD, str(parent)]

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen([*command, program, *args[1:]], **popen_kwargs)

    else:

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                list(args), preexec_fn=lambda: _die_with(parent), **popen_kwargs
            )

    return _spawner_thread().submit(start).result()


_GUARD = '[ "$PPID" = "$0" ] || kill -KILL $$; exec "$@"'
"Run by ``sh`` after ``setpriv`` set the death signal: the parent died already, or exec."


def stop_processes(procs: Iterable[subprocess.Popen[bytes]], timeout: float = 3.0) -> None:
    """Stop every process in ``procs`` within ``timeout`` seconds in all (blocking).

    All get ``SIGTERM`` at once (and ``SIGCONT``, so that a frozen one acts on it); those
    still running at the deadline get ``SIGKILL``. Processes that already exited are only
    reaped.
    """
    running = [p for p in procs if p.poll() is None]
    for proc in running:
        try:
            proc.terminate()
            proc.send_signal(signal.SIGCONT)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for proc in running:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.warning("pid %s did not stop within %.1f s; killing it", proc.pid, timeout)
            proc.kill()
            proc.wait()


class Watchdog:
    """Restarts a child process when it exits without being asked to.

    ``running()`` says whether the child is up; ``restart()`` (blocking, run in a worker
    thread) starts it again and raises ``OSError`` if it cannot. A failed restart is tried
    again after ``retry_delay`` seconds, doubling up to 10 s. :meth:`stop` ends the watch
    before the child is stopped on purpose.
    """

    def __init__(
        self,
        name: str,
        running: Callable[[], bool],
        restart: Callable[[], None],
        *,
        interval: float = 0.2,
        retry_delay: float = 0.5,
    ) -> None:
        self.name = name
        self.restarts = 0
        "How many times the child was restarted."
        self._running = running
        self._restart = restart
        self._interval = interval
        self._retry_delay = retry_delay
        self._task: asyncio.Task[None] | None = None
        self._restarting: asyncio.Future[None] | None = None

    def start(self) -> None:
        """Start watching (in the running event loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name=f"watchdog[{self.name}]")

    async def stop(self) -> None:
        """Stop watching (idempotent); a restart under way is let finish first."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._restarting is not None:  # so the caller stops the new child, not the old
            await asyncio.gather(self._restarting, return_exceptions=True)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._interval)
            if self._running():
                continue
            logger.warning("%s exited unexpectedly; restarting it", self.name)
            delay = self._retry_delay
            while True:
                self._restarting = loop.run_in_executor(None, self._restart)
                try:
                    # shielded: a cancelled watch must not leave a child half-started
                    await asyncio.shield(self._restarting)
                except OSError as exc:
                    logger.error("%s could not be restarted: %s", self.name, exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)
                    continue
                self.restarts += 1
                logger.info("%s restarted", self.name)
                break
