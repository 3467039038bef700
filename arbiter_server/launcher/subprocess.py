"""Local launcher: one ``python -m arbiter_server.sfu`` child process per room."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

from ..heartbeat import HEARTBEAT_TIMEOUT, heartbeat_age, heartbeat_pid
from ..supervisor import spawn, stop_processes
from .base import DEFAULT_DATA_RATE, Launcher, LaunchError, sfu_command

__all__ = ["SubprocessLauncher"]

logger = logging.getLogger(__name__)


class SubprocessLauncher(Launcher):
    """Runs each room's SFU as a child process; handles are process ids.

    The SFUs die with this process, however it ends (:func:`~arbiter_server.supervisor.spawn`).
    An SFU whose heartbeat (its state file, :mod:`~arbiter_server.heartbeat`) is older than
    ``heartbeat_timeout`` seconds is hung (e.g. frozen by SIGSTOP): :meth:`is_alive` says
    it is dead, and :meth:`stop` kills it at once.
    """

    def __init__(
        self,
        signaling_url: str,
        log_dir: str | Path,
        ice_servers: list[dict[str, object]] | None = None,
        log_level: str = "info",
        stop_timeout: float = 5.0,
        data_rate: tuple[int, float] = DEFAULT_DATA_RATE,
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
    ) -> None:
        self.heartbeat_timeout = heartbeat_timeout
        self.signaling_url = signaling_url
        self.data_rate = data_rate
        self.log_dir = Path(log_dir)
        self.ice_servers = ice_servers or []
        self.log_level = log_level
        self.stop_timeout = stop_timeout
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._rooms: dict[str, str] = {}
        self._lock = threading.Lock()
        self._closed = False

    def start(self, room_id: str, sfu_token: str) -> str:
        if self._closed:
            raise LaunchError(f"not starting an SFU for room {room_id}: the server is stopping")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["ARBITER_SFU_TOKEN"] = sfu_token
        env["ARBITER_ICE_SERVERS"] = json.dumps(self.ice_servers)
        env["ARBITER_SFU_STATE_FILE"] = str(self.state_path(room_id))
        args = sfu_command(
            sys.executable, room_id, self.signaling_url, self.log_level, self.data_rate
        )
        log_path = self.log_dir / f"sfu-{room_id}.log"
        try:
            with open(log_path, "ab") as log:
                proc = spawn(
                    args,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
        except OSError as exc:
            raise LaunchError(f"could not start the SFU for room {room_id}: {exc}") from exc
        handle = str(proc.pid)
        with self._lock:
            self._procs[handle] = proc
            self._rooms[handle] = room_id
            closed = self._closed
        if closed:  # stop_all() ran while this one started
            self.stop(handle)
            raise LaunchError(f"not starting an SFU for room {room_id}: the server is stopping")
        logger.info("started SFU for room %s (pid %s, log %s)", room_id, handle, log_path)
        return handle

    def state_path(self, room_id: str) -> Path:
        """Where the room's SFU keeps its JSON stats snapshot (participants, connections)."""
        return self.log_dir / f"sfu-{room_id}.json"

    def stop(self, handle: str) -> None:
        hung = self.hung(handle)
        with self._lock:
            proc = self._procs.pop(handle, None)
            self._rooms.pop(handle, None)
        if proc is None:
            return
        if proc.poll() is None and hung:
            proc.kill()  # it would not act on SIGTERM
            proc.wait()
        elif proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        logger.info("stopped SFU pid %s (exit %s)", handle, proc.returncode)

    def is_alive(self, handle: str) -> bool:
        with self._lock:
            proc = self._procs.get(handle)
        return proc is not None and proc.poll() is None and not self.hung(handle)

    def hung(self, handle: str) -> bool:
        """Whether the SFU runs but its heartbeat is older than ``heartbeat_timeout``.

        Until the SFU wrote its own first heartbeat (the file may hold the previous SFU's
        of the room) it is starting, not hung: ``sfu_start_timeout`` covers that.
        """
        with self._lock:
            proc = self._procs.get(handle)
            room_id = self._rooms.get(handle)
        if proc is None or room_id is None or proc.poll() is not None:
            return False
        path = self.state_path(room_id)
        age = heartbeat_age(path)
        if age is None or age <= self.heartbeat_timeout or heartbeat_pid(path) != proc.pid:
            return False
        logger.warning("SFU pid %s: no heartbeat for %.1f s", handle, age)
        return True

    def pids(self) -> list[int]:
        """Process ids of the SFUs still tracked."""
        with self._lock:
            return [p.pid for p in self._procs.values()]

    def stop_all(self) -> None:
        """Stop every SFU at once (SIGTERM, SIGKILL after ``stop_timeout``); start no more."""
        with self._lock:
            self._closed = True
            procs = dict(self._procs)
            self._procs.clear()
        stop_processes(procs.values(), self.stop_timeout)
        for handle, proc in procs.items():
            logger.info("stopped SFU pid %s (exit %s)", handle, proc.returncode)
