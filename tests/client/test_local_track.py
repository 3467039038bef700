"""A published track outlives the peer connections that send it."""

from __future__ import annotations

import av
import pytest

from arbiter_client._media import LocalTrack

pytestmark = pytest.mark.timeout(10)


async def test_a_sender_stopping_the_track_does_not_end_it_only_close_does() -> None:
    track = LocalTrack("video", None)
    track.stop()  # what aiortc's sender does when the SFU closes its connection
    assert track.readyState == "live"
    frame = await track.recv()  # the next connection still gets frames (black: no source)
    assert isinstance(frame, av.VideoFrame)
    track.close()
    assert track.readyState == "ended"
