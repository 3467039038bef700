"""Fixtures of the fault tests: ``dev`` processes cleaned up by PID, and Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.dev import Dev
from tests.web.conftest import browser  # noqa: F401 - the same Chromium fixture

__all__ = ["browser", "devs"]


@pytest.fixture
def devs() -> Iterator[list[Dev]]:
    """``dev`` processes a test starts; each is stopped and its children killed after."""
    started: list[Dev] = []
    try:
        yield started
    finally:
        for dev in started:
            dev.cleanup()
