"""Fixtures for the client tests: a fake Room API + signaling + SFU on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .fake_sfu import FakeServer


@pytest.fixture
async def fake() -> AsyncIterator[FakeServer]:
    server = FakeServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
