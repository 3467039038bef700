"""Fixtures: local stacks on free loopback ports, cleaned up (SFU processes by PID)."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from arbiter_server.local import LocalStack, LocalStackConfig
from tests.utils import ManualLauncher


@pytest.fixture
async def manual_stack(tmp_path: Path) -> AsyncIterator[tuple[LocalStack, ManualLauncher]]:
    """A local gateway whose SFUs are played by the test (no SFU processes)."""
    launcher = ManualLauncher()
    stack = LocalStack(
        LocalStackConfig(
            data_dir=tmp_path, port=0, pool_size=0, launcher_factory=lambda s: launcher
        )
    )
    await stack.start()
    try:
        yield stack, launcher
    finally:
        await stack.stop()


@contextlib.asynccontextmanager
async def running_stack(config: LocalStackConfig) -> AsyncIterator[LocalStack]:
    """Start a local stack; stop it after, SFU processes by PID (nothing may outlive it)."""
    stack = LocalStack(config)
    await stack.start()
    pids: list[int] = []
    try:
        yield stack
    finally:
        launcher = stack.launcher
        if launcher is not None and hasattr(launcher, "pids"):
            pids = list(launcher.pids())
        await stack.stop()
        for pid in pids:  # belt and braces
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[LocalStack]:
    """A real local stack: gateway, SQLite file, SFU subprocesses."""
    async with running_stack(LocalStackConfig(data_dir=tmp_path, port=0, pool_size=0)) as s:
        yield s
