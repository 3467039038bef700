"""Fixtures for the SFU tests: an in-memory signaling stand-in around a real Room."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiortc.codecs
import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
import pytest

from arbiter_protocol import (
    Grant,
    Handshake,
    Message,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLeft,
)
from arbiter_server.sfu import Room

from .peers import Peer


class Harness:
    """Plays signaling between one SFU :class:`Room` and in-process :class:`Peer` clients.

    Messages from a peer get ``participant_id`` stamped, as the gateway does; messages
    from the SFU are routed to the peer they name.
    """

    def __init__(self, room_id: str = "room1") -> None:
        self.room = Room(room_id, self._from_sfu, ice_servers=[])
        self.peers: dict[str, Peer] = {}
        self.from_sfu: list[Message] = []
        self.to_sfu: list[Message] = []

    async def _from_sfu(self, message: Message) -> None:
        self.from_sfu.append(message)
        participant_id = getattr(message, "participant_id", None)
        peer = self.peers.get(participant_id or "")
        if peer is not None:
            peer.deliver(message)

    async def join(
        self,
        participant_id: str,
        *,
        publish: bool = True,
        grants: list[Grant] | None = None,
        **kwargs: Any,
    ) -> Peer:
        async def send(message: Message) -> None:
            if isinstance(message, Handshake):
                message = dataclasses.replace(message, participant_id=participant_id)
            self.to_sfu.append(message)
            await self.room.handle(message)

        peer = Peer(participant_id, send, **kwargs)
        self.peers[participant_id] = peer
        await self.room.handle(
            ParticipantJoined(
                participant=ParticipantInfo(id=participant_id, name=participant_id, grants=grants)
            )
        )
        if publish:
            await peer.publish()
        return peer

    async def leave(self, participant_id: str, reason: str = "left") -> None:
        peer = self.peers.pop(participant_id)
        await self.room.handle(ParticipantLeft(participant_id=participant_id, reason=reason))
        await peer.close()

    async def close(self) -> None:
        for peer in list(self.peers.values()):
            await peer.close()
        self.peers.clear()
        await self.room.close()


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    try:
        yield h
    finally:
        await h.close()


@dataclasses.dataclass
class CodecCounts:
    """Real (libvpx / libopus ...) decoders and encoders created, by MIME type."""

    decoders: Counter[str]
    encoders: Counter[str]


@pytest.fixture
def codec_counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[CodecCounts]:
    """Count every real decoder/encoder aiortc creates in this process (receivers and
    senders look them up through their modules' globals)."""
    counts = CodecCounts(Counter(), Counter())
    real_decoder, real_encoder = aiortc.codecs.get_decoder, aiortc.codecs.get_encoder

    def get_decoder(codec: Any) -> Any:
        counts.decoders[codec.mimeType.lower()] += 1
        return real_decoder(codec)

    def get_encoder(codec: Any) -> Any:
        counts.encoders[codec.mimeType.lower()] += 1
        return real_encoder(codec)

    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", get_decoder)
    monkeypatch.setattr(aiortc.rtcrtpsender, "get_encoder", get_encoder)
    yield counts
