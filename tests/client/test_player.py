"""Room audio played on a real ALSA device (the "null" PCM: real ALSA, no speaker needed)."""

from __future__ import annotations

import asyncio

import pytest

from arbiter_client import AudioPlayer, DeviceNotFound, Room
from arbiter_server.local import LocalStack

pytestmark = pytest.mark.timeout(60)


async def _until(predicate: object, timeout: float) -> None:
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def test_the_room_is_heard_on_an_alsa_device(stack: LocalStack) -> None:
    url = await stack.create_room("ears")
    speaker = await Room.join(url, name="speaker", video=False)  # a 440 Hz tone
    listener = await Room.join(url, name="listener", publish=None)
    try:
        player = await listener.play_audio(device="null")
        assert isinstance(player, AudioPlayer) and player.device == "null"
        await _until(lambda: player.seconds_played > 1.0 and player.peak > 0.05, 15)
        # a muted speaker is left out of the mix
        await speaker.set_microphone_enabled(False)
        participant = listener.participants[speaker.participant_id]
        await _until(lambda: participant.audio_muted, 5)
        await player.stop()
        # stopped for good: the mixing task and the device's writer thread are gone
        assert player._tasks.closed and len(player._tasks) == 0 and player._thread is None
        await player.stop()  # idempotent

        with pytest.raises(DeviceNotFound, match="no-such-device"):
            await listener.play_audio(device="no-such-device")
    finally:
        for room in (speaker, listener):
            await room.leave()
