"""A room next door whose media must keep flowing while an attack is answered."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from arbiter_client import Room
from arbiter_server.local import LocalStack
from tests.e2e.probe import MediaProbe


@contextlib.asynccontextmanager
async def room_next_door(stack: LocalStack, room_id: str = "next-door") -> AsyncIterator[None]:
    """Two participants exchanging media in ``room_id`` for the duration of the block.

    On exit it checks that each still receives the other's media (30 more decoded frames
    each way), that neither heard anyone leave or got data, and that both are connected.
    """
    url = await stack.create_room(room_id)
    a = await Room.join(url, name="a", video_size=(320, 240))
    b = await Room.join(url, name="b", video_size=(352, 288))
    pa, pb = MediaProbe(a), MediaProbe(b)
    try:
        await pa.wait_media({b.participant_id: (352, 288)}, 15)
        await pb.wait_media({a.participant_id: (320, 240)}, 15)
        yield
        before = (pa.frames(b.participant_id), pb.frames(a.participant_id))
        await pa.wait_for(lambda: pa.frames(b.participant_id) > before[0] + 30, 10)
        await pb.wait_for(lambda: pb.frames(a.participant_id) > before[1] + 30, 10)
        assert not pa.left and not pb.left and not pa.data and not pb.data
        assert a.state.name == "CONNECTED" and b.state.name == "CONNECTED"
    finally:
        for p in (pa, pb):
            await p.close()
        for r in (a, b):
            await r.leave()
