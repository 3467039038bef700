"""Packet: one received RTP packet as the consumer streams read it, and the packets a new
stream catches up with (see :meth:`.layer.Layer.catch_up`)."""

from __future__ import annotations

import time
from typing import Generic, Protocol, TypeVar

from .rtp import RTP_HEADER, abs_send_time, extension_block, payload_start, vp8_descriptor

__all__ = ["Packet", "PacketSource", "caught_up", "vp8_ids"]


class _Kind(Protocol):
    @property
    def kind(self) -> str: ...


class PacketSource(Protocol):
    """What a packet needs of the layer it came in on (:class:`.layer.Layer`)."""

    @property
    def forwarder(self) -> _Kind:
        """The track the layer belongs to (its ``kind``: ``audio`` or ``video``)."""
        ...


L = TypeVar("L", bound=PacketSource)


def vp8_ids(data: bytes, offset: int) -> tuple[int, int]:
    """``(PictureID, TL0PICIDX)`` of a VP8 packet whose payload starts at ``offset`` (-1
    where absent); IndexError if the descriptor is cut short."""
    _, pid_at, width, tl0_at = vp8_descriptor(data, offset)
    picture_id = tl0 = -1
    if width == 2:
        picture_id = ((data[pid_at] & 0x7F) << 8) | data[pid_at + 1]
    elif width == 1:
        picture_id = data[pid_at] & 0x7F
    if tl0_at:
        tl0 = data[tl0_at]
    return picture_id, tl0


class Packet(Generic[L]):
    """One received RTP packet as the consumers need it (made once, read by each)."""

    __slots__ = (
        "_payload",
        "_tails",
        "arrival",
        "audio_level",
        "b0",
        "b1",
        "data",
        "key",
        "layer",
        "offset",
        "picture_id",
        "seq",
        "tl0",
        "ts",
    )

    def __init__(
        self,
        layer: L,
        data: bytes,
        b0: int,
        b1: int,
        seq: int,
        ts: int,
        offset: int,
        arrival: float,
        key: bool,
    ) -> None:
        self.layer = layer
        self.data = data
        self.b0 = b0
        self.b1 = b1
        self.seq = seq
        self.ts = ts
        self.offset = offset
        self.arrival = arrival
        self.key = key
        self.picture_id = -1
        self.tl0 = -1
        self.audio_level: bytes | None = None
        self._payload: bytes | None = None
        self._tails: dict[int, tuple[int, bytes]] = {}

    @property
    def payload(self) -> bytes:
        """The payload (and RTP padding, if any), without the header."""
        payload = self._payload
        if payload is None:
            payload = self._payload = self.data[self.offset :]
        return payload

    def tail(self, extension_id: int) -> tuple[int, bytes]:
        """``(first header byte, extension block + payload)`` for consumers whose
        abs-send-time (video) or audio-level (audio) extension has ``extension_id``
        (0: none). Built once per packet and id."""
        cached = self._tails.get(extension_id)
        if cached is not None:
            return cached
        first = 0x80 | (self.b0 & 0x20)
        ext = b""
        if extension_id:
            if self.layer.forwarder.kind == "video":
                ext = extension_block([(extension_id, abs_send_time(time.time()))])
            elif self.audio_level is not None:
                ext = extension_block([(extension_id, self.audio_level)])
        if ext:
            first |= 0x10
        made = (first, ext + self.payload)
        self._tails[extension_id] = made
        return made


def caught_up(layer: L, datas: list[bytes], now: float, *, vp8: bool) -> list[Packet[L]] | None:
    """``datas`` (a key frame's packets and every one since, in order) as packets of
    ``layer`` that arrive ``now``, padding-only ones left out; None if one cannot be read."""
    packets: list[Packet[L]] = []
    for data in datas:
        b0, b1, seq, ts, _ = RTP_HEADER.unpack_from(data)
        try:
            offset = payload_start(data)[0]
            picture_id, tl0 = vp8_ids(data, offset) if vp8 else (-1, -1)
        except (ValueError, IndexError):
            return None
        if len(data) - (data[-1] if b0 & 0x20 else 0) <= offset:
            continue  # padding only: never forwarded
        packet = Packet(layer, data, b0, b1, seq, ts, offset, now, not packets)
        packet.picture_id = picture_id
        packet.tl0 = tl0
        packets.append(packet)
    return packets or None
