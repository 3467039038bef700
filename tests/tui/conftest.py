"""Fixtures for the terminal app's tests: two test-pattern bots in room ``r``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from arbiter_client import Room
from arbiter_server.local import LocalStack


@pytest.fixture
async def bots(stack: LocalStack) -> AsyncIterator[list[Room]]:
    """``bot-1`` and ``bot-2`` publishing 320x240 test patterns at 10 fps, and tones."""
    await stack.create_room("r")
    rooms: list[Room] = []
    try:
        for i in (1, 2):
            rooms.append(
                await Room.join(
                    stack.room_url("r"), name=f"bot-{i}", video_size=(320, 240), fps=10, timeout=20
                )
            )
        yield rooms
    finally:
        for room in rooms:
            await room.leave()
