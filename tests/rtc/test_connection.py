"""The PeerConnection base of the RTC layer, on real aiortc peers over loopback UDP."""

from __future__ import annotations

import asyncio
from typing import Any

import aioice.stun
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from arbiter_protocol import IceCandidate
from arbiter_rtc import PeerConnection, rtc_configuration

pytestmark = pytest.mark.timeout(20)

LINE = "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host"


class Probe(PeerConnection):
    """A peer connection with a data channel that records what the base did."""

    def __init__(self) -> None:
        self.failures: list[PeerConnection] = []
        self.states: list[str] = []
        self.released = 0
        super().__init__(rtc_configuration([]), self.failures.append)
        self.pc.createDataChannel("probe")

    def _state_changed(self, state: str) -> None:
        self.states.append(state)
        super()._state_changed(state)

    async def _release(self) -> None:
        self.released += 1


async def negotiate(probe: Probe, other: RTCPeerConnection) -> RTCSessionDescription:
    """Offer from ``probe``, answer from ``other``; returns the answer (not yet applied)."""
    await probe.pc.setLocalDescription(await probe.pc.createOffer())
    await other.setRemoteDescription(probe.pc.localDescription)
    await other.setLocalDescription(await other.createAnswer())
    answer: RTCSessionDescription = other.localDescription
    return answer


async def until(condition: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def test_connects_then_closes_once_however_often_close_is_called() -> None:
    probe, other = Probe(), RTCPeerConnection(rtc_configuration([]))
    try:
        await probe.pc.setRemoteDescription(await negotiate(probe, other))
        await until(lambda: probe.connection_state == "connected")
        await asyncio.gather(probe.close(), probe.close())
        await probe.close()
        assert probe.closed and probe.released == 1
        assert probe.states == ["connecting", "connected", "closed"]
        assert probe.failures == []
    finally:
        await other.close()


async def test_a_failed_connection_is_reported_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice's STUN retransmissions, shortened so that ICE gives up in well under a second
    monkeypatch.setattr(aioice.stun, "RETRY_MAX", 1)
    monkeypatch.setattr(aioice.stun, "RETRY_RTO", 0.05)
    probe, other = Probe(), RTCPeerConnection(rtc_configuration([]))
    answer = await negotiate(probe, other)
    await other.close()  # nobody answers the connectivity checks any more
    await probe.pc.setRemoteDescription(answer)
    await until(lambda: probe.connection_state == "failed")
    assert probe.failures == [probe]
    await probe.close()
    assert probe.failures == [probe] and probe.released == 1
    assert probe.states[-1] == "closed"


async def test_trickled_candidates_follow_one_rule() -> None:
    probe, other = Probe(), RTCPeerConnection(rtc_configuration([]))
    try:
        await probe.pc.setRemoteDescription(await negotiate(probe, other))
        with pytest.raises(ValueError, match="sdpMid"):
            await probe.add_candidate(IceCandidate(candidate=LINE))
        await probe.add_candidate(IceCandidate(candidate=LINE, sdpMid="0"))
        await probe.add_candidate(IceCandidate(candidate="", sdpMid="0"))  # end of candidates
    finally:
        await probe.close()
        await other.close()
