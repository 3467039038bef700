"""The errors docs/python-sdk.md promises for stream pagination are the errors a client gets
from the real SFU: ``ValueError`` for what is not an id or is your own, and an
``ErrorReceived`` (``participant_not_found``) for an id nobody in the room has."""

from __future__ import annotations

import asyncio

import pytest

from arbiter_client import ErrorReceived, Room
from arbiter_server.local import LocalStack

pytestmark = pytest.mark.timeout(60)


async def test_set_subscription_errors_are_the_documented_ones(stack: LocalStack) -> None:
    url = await stack.create_room("errors")
    async with Room.join(url, name="bot", publish=None) as room:
        with pytest.raises(ValueError, match="not a participant id"):
            await room.set_subscription("not an id!", video=False)
        with pytest.raises(ValueError, match="own"):
            await room.set_subscription(room.participant_id, video=False)
        errors: asyncio.Queue[ErrorReceived] = asyncio.Queue()
        room.on("error_received", errors.put_nowait)
        await room.set_subscription("p_42", video=False)
        error = await asyncio.wait_for(errors.get(), 10)
        assert error.code == "participant_not_found"
        assert "p_42" in error.message
