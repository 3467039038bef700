"""Layer: one RTP stream a published track arrives in (the only one, or one simulcast layer).

A producer connection hands every RTP packet of a layer to :meth:`Layer.receive` (no
queue, no task): the layer reads the header (sequence number, timestamp, marker, key frame
start, VP8 picture id), keeps the packet in its history for retransmissions, notes losses
(NACKs them upstream, and replaces what never comes), and offers the packet to the
consumer streams (:class:`Sink`, see :mod:`.downtrack`) that send this layer or wait to
switch to it; each rewrites the header for its own connection and sends it. Key frames are
asked for per layer with coalesced PLIs: one request is answered by the next key frame
that starts after the latest asker, requests are at least :data:`KEYFRAME_SPACING` apart,
and an unanswered one is sent again after :data:`KEYFRAME_INTERVAL`.

A consumer stream that starts less than :data:`CATCH_UP_WINDOW` after a key frame does
not wait for (or ask for) another: :meth:`Layer.catch_up` gives it that key frame and the
frames since, from the history, in one burst; its receiver decodes them at once and plays
the live frames after them (Chromium shows them on time, ``tests/web/test_catch_up.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from .counters import LayerStats
from .packet import Packet, caught_up, vp8_ids
from .rtp import (
    RTP_HEADER,
    ReportBlock,
    build_nack,
    build_pli,
    h264_keyframe,
    one_byte_extension,
    payload_start,
    vp8_keyframe,
)

__all__ = [
    "CATCH_UP_WINDOW",
    "KEYFRAME_INTERVAL",
    "KEYFRAME_RETRY_SOON",
    "KEYFRAME_SPACING",
    "LAYER_TIMEOUT",
    "VOICE_LEVEL",
    "Layer",
    "LayerStats",
    "Packet",
    "Sink",
    "Track",
    "Upstream",
]

logger = logging.getLogger(__name__)


class Track(Protocol):
    """What a layer needs of the published track it belongs to."""

    kind: str
    mime_type: str
    clock_rate: int
    payload_type: int
    label: str

    def sinks_changed(self) -> None:
        """Some consumer stream started or stopped taking one of the track's layers."""
        ...


class Sink(Protocol):
    """What a layer needs of a consumer stream it feeds."""

    def write(self, packet: Packet[Layer]) -> None:
        """Send ``packet`` if it belongs to the stream."""
        ...

    def fill(self, layer: Layer, seq: int, ts: int) -> None:
        """Stand in for ``layer``'s packet ``seq``, which will never come."""
        ...


KEYFRAME_INTERVAL = 0.5
"Seconds a key frame request may stay unanswered before it is sent again."

KEYFRAME_SPACING = 0.3
"""Minimum seconds between two key frame requests (PLI) to one layer (libwebrtc ignores a
request that comes sooner than 300 ms after the one it answered)."""

KEYFRAME_RETRY_SOON = 0.1
"""Seconds after which a request sent right at :data:`KEYFRAME_SPACING` after an answered
one is sent again if no key frame came: libwebrtc counts its 300 ms from when the previous
request arrived, so a few milliseconds of network jitter make it drop this one."""

CATCH_UP_WINDOW = 0.3
"""Seconds after a key frame during which a new consumer stream starts from it (see the
module) instead of asking the publisher for another: at most :data:`KEYFRAME_SPACING` of
frames sent in one burst, and every joiner of a burst served without a new key frame."""

VIDEO_HISTORY = 512
"Video packets kept per layer for retransmissions (about 2 s at 2 Mbit/s)."

NACK_ATTEMPTS = 3
"How often a packet lost on the way from the producer is asked for again."

NACK_RETRY = 0.05
"Seconds between two NACKs for the same lost packet."

MAX_MISSING = 256
"More missing packets than this at once: give up on them and ask for a key frame."

LAYER_TIMEOUT = 1.5
"Seconds without packets after which a layer counts as stopped (the publisher paused it)."

VOICE_LEVEL = 40
"""An audio packet whose RFC 6464 level is this loud or louder (-40 dBov) counts as voiced
(speech is about -15 to -35 dBov, background noise below -50)."""


class Upstream:
    """What a layer needs from the producer connection it comes from."""

    def send_rtcp(self, packet: bytes) -> None:
        """Send an RTCP packet to the producer."""
        raise NotImplementedError

    @property
    def rtcp_ssrc(self) -> int:
        """The SSRC the SFU uses as sender of its RTCP on this connection."""
        raise NotImplementedError


class Layer:
    """One RTP stream of a published track (see the module docstring).

    **Parameters:** the forwarder it belongs to, its index (0 is the lowest quality), its
    rid (simulcast) and where it comes from (for RTCP upstream).
    """

    def __init__(self, forwarder: Track, index: int, rid: str | None, upstream: Upstream) -> None:
        self.forwarder = forwarder
        self.index = index
        self.rid = rid
        self.upstream = upstream
        self.ssrc: int | None = None
        "Media SSRC, once learned."
        self.rtx_ssrc: int | None = None
        "RTX SSRC, once learned."
        self.sinks: tuple[Sink, ...] = ()
        "Consumer media sections fed by this layer (current or switching to it)."
        self.audio_level_id = 0
        "Header extension id of the producer's audio level (audio, 0: none)."
        self.abs_send_time_id = 0
        "Header extension id of the producer's abs-send-time (0: none)."
        self.closed = False
        video = forwarder.kind == "video"
        self._vp8 = forwarder.mime_type == "video/vp8"
        self._h264 = forwarder.mime_type == "video/h264"
        size = VIDEO_HISTORY if video else 0
        self._history: list[bytes | None] = [None] * size
        self._mask = size - 1
        # reception statistics (RFC 3550 A.1, A.3, A.8)
        self._started = False
        self._base_seq = 0
        self._max_seq = 0
        self._cycles = 0
        self._received = 0
        self._expected_prior = 0
        self._received_prior = 0
        self._jitter = 0.0
        self._transit: float | None = None
        self._last_sr: int = 0
        self._last_sr_at = 0.0
        self._clock = forwarder.clock_rate
        # losses upstream: seq -> [next NACK time, NACKs left, timestamp of the next packet]
        self._missing: dict[int, list[float]] = {}
        self._nacks = 0
        self._lost_for_good = 0
        # bitrate
        self._bytes = 0
        self._bytes_mark = 0
        self._rate_at = time.monotonic()
        self.bitrate = 0
        "Receive rate in bit/s, updated by :meth:`tick`."
        self.last_packet_at = 0.0
        "When the last packet came (monotonic seconds), 0 if none yet."
        # key frames
        self.keyframes = 0
        "Key frames started on this layer."
        self._key_seq = -1
        self._key_at = 0.0
        self._last_ts = -1
        self._keyframe_requests = 0
        self._wanted_after = -1
        self._pli_handle: asyncio.TimerHandle | None = None
        self._last_pli = float("-inf")
        self._answered = True
        self.packets = 0
        "RTP packets received."
        # audio activity since the last take_activity(): voiced packets, loudest level
        self._voiced = 0
        self._loudest = 127
        self._packets_mark = 0

    def __repr__(self) -> str:
        return f"Layer({self.forwarder.label}#{self.index} rid={self.rid} ssrc={self.ssrc})"

    # -- the hot path --------------------------------------------------------------------

    def receive(self, data: bytes, arrival: float, repaired: bool = False) -> None:
        """Handle one RTP packet of this layer (from the producer's transport)."""
        if len(data) < 12:
            return
        b0, b1, seq, ts, _ssrc = RTP_HEADER.unpack_from(data)
        try:
            offset, ext_start, ext_end = payload_start(data)
        except ValueError:
            return
        end = len(data) - (data[-1] if b0 & 0x20 else 0)
        self.packets += 1
        self._bytes += len(data)
        self.last_packet_at = arrival
        new = self._track_sequence(seq, ts, arrival, repaired)
        history = self._history
        if history:
            history[seq & self._mask] = data
        if end <= offset:
            return  # padding only (bandwidth probing): nothing to forward
        if self._missing:
            self._send_nacks(arrival)
        if not new:
            return  # a duplicate
        forwarder = self.forwarder
        key = True
        picture_id = tl0 = -1
        if self._vp8:
            key = vp8_keyframe(data, offset)
            try:
                picture_id, tl0 = vp8_ids(data, offset)
            except IndexError:
                return
        elif self._h264:
            key = h264_keyframe(data, offset) and ts != self._last_ts
        if forwarder.kind == "video":
            if key and not repaired:
                self.keyframes += 1
                self._key_seq = seq
                self._key_at = arrival
                if not self._answered:  # the answer to the last PLI: no retry for it
                    self._answered = True
                    if self._pli_handle is not None:
                        self._pli_handle.cancel()
                        self._pli_handle = None
            self._last_ts = ts
        packet = Packet(self, data, b0, b1, seq, ts, offset, arrival, key)
        packet.picture_id = picture_id
        packet.tl0 = tl0
        if self.audio_level_id and ext_start:
            level = one_byte_extension(data, ext_start, ext_end, self.audio_level_id)
            packet.audio_level = level
            if level:  # RFC 6464: -dBov in the low 7 bits, 0 the loudest
                value = level[0] & 0x7F
                if value <= VOICE_LEVEL:
                    self._voiced += 1
                    if value < self._loudest:
                        self._loudest = value
        for sink in self.sinks:
            try:
                sink.write(packet)
            except Exception:  # one consumer's problem must not stop the others
                logger.exception("%r: forwarding to %r failed", self, sink)

    def receive_rtx(self, data: bytes, arrival: float) -> None:
        """Handle an RTX packet (RFC 4588): unwrap it and handle the original."""
        if len(data) < 14:
            return
        try:
            offset = payload_start(data)[0]
        except ValueError:
            return
        end = len(data) - (data[-1] if data[0] & 0x20 else 0)
        if end - offset < 2:
            return  # padding only
        ssrc = self.ssrc
        if ssrc is None:
            return
        b0, b1, _seq, ts, _ = RTP_HEADER.unpack_from(data)
        osn = int.from_bytes(data[offset : offset + 2], "big")
        pt = self.forwarder.payload_type
        header = RTP_HEADER.pack(b0, (b1 & 0x80) | pt, osn, ts, ssrc)
        self.receive(header + data[12:offset] + data[offset + 2 :], arrival, repaired=True)

    def _track_sequence(self, seq: int, ts: int, arrival: float, repaired: bool) -> bool:
        """Update reception statistics and losses; True if ``seq`` is new."""
        if not self._started:
            self._started = True
            self._base_seq = self._max_seq = seq
            self._cycles = 0
            self._received = 1
            self._expected_prior = 0
            self._received_prior = 0
            return True
        delta = (seq - self._max_seq) & 0xFFFF
        if delta == 0:
            return False
        if delta < 0x8000:  # newer
            if delta > 1:
                self._note_missing(self._max_seq, delta, ts, arrival)
            if seq < self._max_seq:
                self._cycles += 0x10000
            self._max_seq = seq
            self._received += 1
            if not repaired:
                self._update_jitter(ts, arrival)
            return True
        # older: a late or repaired packet; new if it was missing
        found = self._missing.pop(seq, None) is not None
        if found:
            self._received += 1
        return found

    def _update_jitter(self, ts: int, arrival: float) -> None:
        transit = arrival * self._clock - ts
        previous = self._transit
        self._transit = transit
        if previous is not None:
            d = abs(transit - previous)
            if d < self._clock * 10:  # ignore timestamp jumps (a restarted stream)
                self._jitter += (d - self._jitter) / 16

    def _note_missing(self, last: int, delta: int, ts: int, arrival: float) -> None:
        missing = self._missing
        if delta - 1 > MAX_MISSING or not self._history:
            missing.clear()
            if self.forwarder.kind == "video":
                self.request_keyframe()
            return
        for i in range(1, delta):
            missing[(last + i) & 0xFFFF] = [arrival, NACK_ATTEMPTS, ts]
        while len(missing) > MAX_MISSING:
            missing.pop(next(iter(missing)))
        self._send_nacks(arrival)

    def _send_nacks(self, now: float) -> None:
        """NACK what is due again; give up on what was asked for often enough."""
        ssrc = self.ssrc
        if not self._missing or ssrc is None:
            return
        due = []
        lost: list[tuple[int, int]] = []
        for seq, state in list(self._missing.items()):
            if state[0] > now:
                continue
            if state[1] > 0:
                due.append(seq)
                state[0] = now + NACK_RETRY
                state[1] -= 1
            else:
                del self._missing[seq]
                lost.append((seq, int(state[2])))
        if due:
            self._nacks += len(due)
            self.upstream.send_rtcp(build_nack(self.upstream.rtcp_ssrc, ssrc, due))
        if lost:
            self._give_up(lost)

    def _give_up(self, lost: list[tuple[int, int]]) -> None:
        """Packets that will not come: the frames they were in cannot be decoded.

        Ask for a key frame, and give each consumer a padding-only packet in place of each
        lost one, so its receiver stops waiting for that sequence number (its jitter
        buffer would hold every later frame) and starts again at the key frame.
        """
        logger.debug("%r: %d packet(s) lost for good", self, len(lost))
        self._lost_for_good += len(lost)
        if self.forwarder.kind == "video":
            self.request_keyframe()
        for sink in self.sinks:
            for seq, ts in lost:
                sink.fill(self, seq, ts)

    # -- history ------------------------------------------------------------------------

    def packet(self, seq: int) -> bytes | None:
        """The packet with sequence number ``seq`` if it is still in the history."""
        history = self._history
        if not history:
            return None
        data = history[seq & self._mask]
        if data is None or int.from_bytes(data[2:4], "big") != seq:
            return None
        return data

    def catch_up(self, window: float = CATCH_UP_WINDOW) -> list[Packet[Layer]] | None:
        """The packets from the latest key frame to the newest (see the module), if that
        key frame started less than ``window`` seconds ago and every packet since is in
        the history; None otherwise (then a new stream asks for a key frame)."""
        start = self._key_seq
        if start < 0 or not self._history or self.closed:
            return None
        now = time.monotonic()
        if now - self._key_at >= window:
            return None
        count = ((self._max_seq - start) & 0xFFFF) + 1
        if count > len(self._history):
            return None
        datas: list[bytes] = []
        for i in range(count):
            data = self.packet((start + i) & 0xFFFF)
            if data is None:
                return None  # lost (or not repaired yet): ask for a key frame instead
            datas.append(data)
        return caught_up(self, datas, now, vp8=self._vp8)

    # -- sinks --------------------------------------------------------------------------

    def add_sink(self, sink: Sink) -> None:
        """Feed ``sink`` from this layer."""
        if sink not in self.sinks:
            self.sinks = (*self.sinks, sink)
            self.forwarder.sinks_changed()

    def remove_sink(self, sink: Sink) -> None:
        """Stop feeding ``sink``."""
        if sink in self.sinks:
            self.sinks = tuple(s for s in self.sinks if s is not sink)
            self.forwarder.sinks_changed()

    @property
    def active(self) -> bool:
        """True if packets came recently (the publisher sends this layer)."""
        return self.last_packet_at > 0 and time.monotonic() - self.last_packet_at < LAYER_TIMEOUT

    # -- key frames ---------------------------------------------------------------------

    def request_keyframe(self) -> None:
        """Ask the producer for a key frame on this layer (coalesced, see the module)."""
        if self.closed or self.forwarder.kind != "video":
            return
        self._wanted_after = self.keyframes
        if self._pli_handle is not None:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        spacing = KEYFRAME_SPACING if self._answered else KEYFRAME_INTERVAL
        delay = max(0.0, self._last_pli + spacing - now)
        self._pli_handle = loop.call_later(delay, self._send_pli)

    def _send_pli(self) -> None:
        self._pli_handle = None
        if self.closed or self.keyframes > self._wanted_after:
            return  # a key frame came after the latest request: every asker has it
        ssrc = self.ssrc
        if ssrc is None:
            # no packet yet: ask once the first one is here (checked again later)
            self._pli_handle = asyncio.get_running_loop().call_later(0.1, self._send_pli)
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        # right at the spacing after an answered request: the publisher may drop it
        at_limit = self._answered and now - self._last_pli < KEYFRAME_SPACING + 0.05
        self._last_pli = now
        self._answered = False
        self._keyframe_requests += 1
        logger.debug("%r: PLI", self)
        self.upstream.send_rtcp(build_pli(self.upstream.rtcp_ssrc, ssrc))
        # ask again if no key frame comes in time
        retry = KEYFRAME_RETRY_SOON if at_limit else KEYFRAME_INTERVAL
        self._pli_handle = loop.call_later(retry, self._retry_pli)

    def _retry_pli(self) -> None:
        self._pli_handle = None
        if not self.closed and self.keyframes <= self._wanted_after:
            self._send_pli()

    # -- RTCP ---------------------------------------------------------------------------

    def on_sender_report(self, ntp: int, now: float) -> None:
        """The producer sent an SR for this layer."""
        self._last_sr = (ntp >> 16) & 0xFFFFFFFF
        self._last_sr_at = now

    def tick(self, now: float) -> None:
        """Periodic work (about once a second): bitrate, NACK retries."""
        elapsed = now - self._rate_at
        if elapsed >= 0.5:
            received = self._bytes - self._bytes_mark
            if received or self.active:  # a paused layer keeps its last rate as an estimate
                self.bitrate = int(received * 8 / elapsed)
            self._bytes_mark = self._bytes
            self._rate_at = now
        if self._missing:
            self._send_nacks(now)

    def report_block(self, now: float) -> ReportBlock | None:
        """This layer's reception report (RFC 3550 6.4.1), None before any packet."""
        if not self._started or self.ssrc is None:
            return None
        extended = self._cycles + self._max_seq
        expected = extended - self._base_seq + 1
        lost = expected - self._received
        expected_interval = expected - self._expected_prior
        received_interval = self._received - self._received_prior
        self._expected_prior = expected
        self._received_prior = self._received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = (lost_interval << 8) // expected_interval
        dlsr = 0
        if self._last_sr_at:
            dlsr = int((now - self._last_sr_at) * 65536)
        return ReportBlock(
            ssrc=self.ssrc,
            fraction_lost=min(fraction, 255),
            packets_lost=max(min(lost, 0x7FFFFF), -0x800000),
            highest_sequence=extended,
            jitter=int(self._jitter),
            lsr=self._last_sr,
            dlsr=dlsr,
        )

    def take_activity(self) -> tuple[int, int, int]:
        """Audio since the last call: ``(packets, voiced packets, loudest level)``, the
        level as RFC 6464 says it (-dBov: 0 the loudest, 127 silence)."""
        activity = (self.packets - self._packets_mark, self._voiced, self._loudest)
        self._packets_mark = self.packets
        self._voiced = 0
        self._loudest = 127
        return activity

    def stats(self) -> LayerStats:
        """Current counters."""
        lost = 0
        if self._started:
            lost = self._cycles + self._max_seq - self._base_seq + 1 - self._received
        return LayerStats(
            rid=self.rid,
            ssrc=self.ssrc,
            packets=self.packets,
            keyframes=self.keyframes,
            keyframe_requests=self._keyframe_requests,
            bitrate=self.bitrate,
            lost=max(lost, 0),
            nacks=self._nacks,
            subscribers=len(self.sinks),
        )

    def close(self) -> None:
        """Stop: no more key frame requests, no more packets to the sinks."""
        self.closed = True
        if self._pli_handle is not None:
            self._pli_handle.cancel()
            self._pli_handle = None
        self.sinks = ()
        self._history = []
