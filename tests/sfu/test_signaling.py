"""SignalingConnection and SfuService against a WebSocket signaling stand-in."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import pytest

from arbiter_protocol import Error, ParticipantInfo, ParticipantJoined
from arbiter_server.sfu import SfuConfig, SfuService, SignalingError, SignalingRefused

from .fake_signaling import FakeSignaling

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
async def signaling() -> AsyncIterator[FakeSignaling]:
    server = FakeSignaling()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def config(url: str, token: str = "sfu-secret", attempts: int = 3) -> SfuConfig:
    return SfuConfig(
        room_id="room1",
        signaling_url=url,
        token=token,
        connect_attempts=attempts,
        retry_delay=0.05,
        open_timeout=2.0,
    )


async def test_service_identifies_dispatches_and_reconnects(
    signaling: FakeSignaling, caplog: pytest.LogCaptureFixture
) -> None:
    signaling.participants = [ParticipantInfo(id="alice", name="Alice")]
    service = SfuService(config(signaling.url))
    task = asyncio.create_task(service.run())
    try:
        await asyncio.wait_for(signaling.connected.wait(), 5)
        assert signaling.identifies == ["sfu-secret"]
        await _until(lambda: service.room.participant_ids() == ["alice"])

        await signaling.to_sfu(ParticipantJoined(participant=ParticipantInfo(id="bob", name="B")))
        with caplog.at_level(logging.WARNING, logger="arbiter_server.sfu"):
            await signaling.to_sfu(Error(code="rate_limited", message="slow down", ref="x"))
            await _until(lambda: "bob" in service.room.participant_ids())
            await _until(lambda: "rate_limited" in caplog.text)

        # Signaling restarts: the SFU reconnects, resumes with the refresh credential it got
        # (the bootstrap code is spent) and forgets whoever is no longer in the room.
        signaling.participants = [ParticipantInfo(id="bob", name="B")]
        credential = signaling.credential
        await signaling.drop_sfu()
        await _until(lambda: len(signaling.identifies) == 2 and signaling.connected.is_set())
        assert signaling.hellos == ["identify", "resume"]
        assert signaling.identifies[1] == credential
        await _until(lambda: service.room.participant_ids() == ["bob"])
        assert not task.done()
    finally:
        task.cancel()
        await asyncio.wait({task})
        await service.close()


async def test_service_refreshes_its_credential_ahead_of_expiry(
    signaling: FakeSignaling,
) -> None:
    signaling.credential_ttl = 2  # the SFU refreshes every second
    service = SfuService(config(signaling.url))
    task = asyncio.create_task(service.run())
    try:
        await asyncio.wait_for(signaling.connected.wait(), 5)
        await _until(lambda: signaling.refreshes >= 3, timeout=10)
        # a resume after that uses the latest credential, not one it refreshed away
        credential = signaling.credential
        await signaling.drop_sfu()
        await _until(lambda: signaling.hellos[-1:] == ["resume"] and signaling.connected.is_set())
        assert signaling.identifies[-1] == credential
    finally:
        task.cancel()
        await asyncio.wait({task})
        await service.close()


async def test_service_gives_up_when_signaling_is_gone(signaling: FakeSignaling) -> None:
    service = SfuService(config(signaling.url, attempts=2))
    task = asyncio.create_task(service.run())
    try:
        await asyncio.wait_for(signaling.connected.wait(), 5)
        await signaling.stop()
        with pytest.raises(SignalingError, match="unreachable after 2 attempts"):
            await asyncio.wait_for(task, 5)
    finally:
        task.cancel()
        await asyncio.wait({task})
        await service.close()


async def test_service_fails_fast_when_unreachable_or_refused(signaling: FakeSignaling) -> None:
    service = SfuService(config(f"ws://127.0.0.1:{free_port()}/ws", attempts=2))
    with pytest.raises(SignalingError, match="unreachable"):
        await asyncio.wait_for(service.run(), 5)
    await service.close()

    service = SfuService(config(signaling.url, token="wrong"))
    with pytest.raises(SignalingRefused, match="unauthorized"):
        await asyncio.wait_for(service.run(), 5)
    assert signaling.identifies == ["wrong"]  # refused: no retry
    await service.close()
    await service.close()  # idempotent


async def _until(predicate: object, timeout: float = 5.0) -> None:
    assert callable(predicate)

    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)
