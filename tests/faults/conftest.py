"""Fixtures of the fault tests: ``dev`` processes cleaned up by PID, the rooms a test
joined (left after it), and Chromium."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from arbiter_client import Room
from tests.faults.dev import Dev
from tests.web.conftest import browser  # noqa: F401 - the same Chromium fixture

__all__ = ["browser", "dev", "devs", "rooms"]


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    """``dev`` with one room ``talk``, no bot and no pool (not started: ``await dev.start()``);
    stopped after the test, with every process it left (frozen ones resumed first)."""
    (tmp_path / "data").mkdir()
    process = Dev(tmp_path / "data", "--no-bot", "--pool-size", "0", "--room", "talk")
    try:
        yield process
    finally:
        process.cleanup()


@pytest.fixture
async def rooms() -> AsyncIterator[list[Room]]:
    """Rooms a test joined; all left after it."""
    joined: list[Room] = []
    try:
        yield joined
    finally:
        await asyncio.gather(*(r.leave() for r in joined))


@pytest.fixture
def devs() -> Iterator[list[Dev]]:
    """``dev`` processes a test starts; each is stopped and its children killed after."""
    started: list[Dev] = []
    try:
        yield started
    finally:
        for dev in started:
            dev.cleanup()
