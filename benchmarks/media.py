"""Lean load-generator media: a pre-encoded VP8 clip, a paced publisher track, and an
RTP-level subscriber counter that never depacketizes, reassembles or decodes.

* :func:`encode_clip` encodes a short 640x480 clip once with libvpx (PyAV) at a fixed
  bitrate; frame 0 is the only key frame, so the clip loops cleanly. Each frame carries
  its clip index as an 8-bit bar code in the top rows of the picture (used only by the
  naive relay's latency probe, which has to decode because the relay re-encodes).
* :class:`ClipTrack` is an aiortc ``MediaStreamTrack`` that returns ``av.Packet``: aiortc's
  sender then only packetizes (``Vp8Encoder.pack``), it never encodes. Every packet gets a
  20-byte trailer appended to the VP8 frame (magic, stream id, sequence, send time); VP8
  decoders ignore trailing bytes after the last partition, and a pass-through SFU
  forwards them untouched, so the subscriber reads the send time from the marker packet.
  PLI/FIR received by the publisher restart the clip at its key frame (rate-limited).
* :class:`StreamCounter` replaces ``RTCRtpReceiver._handle_rtp_packet`` of a subscriber's
  receiver: it counts packets, sequence gaps, frames (marker bit), key frames, bytes and
  one-way latency, at the cost of a few attribute reads per packet.

Everything here lives in one process, so the send and receive times share one clock
(``time.perf_counter_ns``).
"""

from __future__ import annotations

import asyncio
import bisect
import fractions
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack

VIDEO_CLOCK = 90000
TRAILER = struct.Struct(">4sIIq")
TRAILER_MAGIC = b"ArbB"
BAR_BITS = 8
BAR_ROWS = 48


@dataclass
class Clip:
    """Pre-encoded VP8 frames (frame 0 is the only key frame)."""

    frames: list[bytes]
    width: int
    height: int
    fps: int
    bitrate: int

    @property
    def mean_kbps(self) -> float:
        total = sum(len(f) for f in self.frames)
        return total * 8 * self.fps / len(self.frames) / 1000


def _picture(index: int, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """One I420 picture: moving gradient, moving boxes, light noise, bar code on top."""
    y = np.zeros((height, width), dtype=np.uint8)
    xs = np.arange(width, dtype=np.int32)
    ys = np.arange(height, dtype=np.int32)[:, None]
    y[:] = ((xs[None, :] * 2 + ys + index * 6) % 200 + 28).astype(np.uint8)
    for k in range(6):
        bx = int((index * (3 + k) * 4 + k * 97) % (width - 80))
        by = int(BAR_ROWS + (index * (2 + k) * 3 + k * 53) % (height - BAR_ROWS - 80))
        y[by : by + 80, bx : bx + 80] = 40 + 35 * k
    noise = rng.integers(-6, 7, size=(height, width), dtype=np.int16)
    y = np.clip(y.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    block = width // BAR_BITS
    for bit in range(BAR_BITS):
        y[:BAR_ROWS, bit * block : (bit + 1) * block] = 235 if (index >> bit) & 1 else 16
    u = np.full((height // 2, width // 2), 128, dtype=np.uint8)
    v = np.full((height // 2, width // 2), 128, dtype=np.uint8)
    u[:, :] = 96 + (index * 2) % 64
    return np.concatenate([y, u.reshape(-1, width), v.reshape(-1, width)])


def encode_clip(
    frames: int = 150, width: int = 640, height: int = 480, fps: int = 30, bitrate: int = 600_000
) -> Clip:
    """Encode ``frames`` pictures with libvpx (realtime, CBR, one key frame)."""
    if frames > (1 << BAR_BITS):
        raise ValueError(f"at most {1 << BAR_BITS} frames (bar code)")
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuv420p"
    codec.bit_rate = bitrate
    codec.framerate = fractions.Fraction(fps, 1)
    codec.time_base = fractions.Fraction(1, fps)
    codec.gop_size = 10_000
    codec.options = {
        "deadline": "good",
        "cpu-used": "5",
        "lag-in-frames": "0",
        "rc_end_usage": "cbr",
        "minrate": str(bitrate),
        "maxrate": str(bitrate),
        "buf-sz": "1000",
        "buf-initial-sz": "500",
        "buf-optimal-sz": "600",
        "undershoot-pct": "95",
        "qmin": "2",
        "qmax": "56",
    }
    rng = np.random.default_rng(1)
    out: list[bytes] = []
    # A first second of the clip warms up rate control; then the clip, from a key frame.
    warmup = min(fps, frames)
    for n, i in enumerate([*range(frames - warmup, frames), *range(frames)]):
        frame = av.VideoFrame.from_ndarray(_picture(i, width, height, rng), format="yuv420p")
        frame.pts = n
        frame.time_base = codec.time_base
        if n == warmup:
            frame.pict_type = av.video.frame.PictureType.I
        data = b"".join(bytes(p) for p in codec.encode(frame))
        if n >= warmup:
            out.append(data)
    codec.encode(None)  # flush
    if len(out) != frames or not out[0] or out[0][0] & 1:
        raise RuntimeError("clip encoding did not start with a key frame")
    return Clip(out, width, height, fps, bitrate)


def load_clip(
    cache_dir: Path,
    frames: int = 150,
    bitrate: int = 600_000,
    width: int = 640,
    height: int = 480,
    fps: int = 30,
) -> Clip:
    """:func:`encode_clip` once, cached in ``cache_dir`` (length-prefixed frames)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"clip-v2-{width}x{height}-{fps}fps-{bitrate}-{frames}.bin"
    if path.exists():
        raw = path.read_bytes()
        out, pos = [], 0
        while pos < len(raw):
            (size,) = struct.unpack_from(">I", raw, pos)
            out.append(raw[pos + 4 : pos + 4 + size])
            pos += 4 + size
        if len(out) == frames:
            return Clip(out, width, height, fps, bitrate)
    # libvpx undershoots on this content: scale its target until the clip's mean rate is
    # within 3 % of ``bitrate`` (the "good" deadline makes encoding deterministic).
    setting = bitrate
    for _ in range(5):
        clip = encode_clip(frames, width, height, fps, bitrate=setting)
        if abs(clip.mean_kbps * 1000 / bitrate - 1) <= 0.03:
            break
        setting = int(setting * bitrate / (clip.mean_kbps * 1000))
    clip.bitrate = bitrate
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(b"".join(struct.pack(">I", len(f)) + f for f in clip.frames))
    tmp.replace(path)
    return clip


def read_bar_code(luma: np.ndarray) -> int:
    """The clip index drawn by :func:`_picture` in a decoded luma plane."""
    width = luma.shape[1]
    block = width // BAR_BITS
    row = BAR_ROWS // 2
    value = 0
    for bit in range(BAR_BITS):
        if luma[row, bit * block + block // 2] > 128:
            value |= 1 << bit
    return value


def now_ns() -> int:
    return time.perf_counter_ns()


@dataclass
class PublisherLog:
    """What a publisher sent: frame send times (for expected counts) and clip index times."""

    stream_id: int
    send_times: list[int] = field(default_factory=list)
    index_times: dict[int, list[int]] = field(default_factory=dict)
    keyframes: int = 0
    keyframe_requests: int = 0
    sent: int = 0
    "Frames sent in all (``send_times`` may be trimmed by long runs)."

    def sent_between(self, t0: int, t1: int) -> int:
        return bisect.bisect_left(self.send_times, t1) - bisect.bisect_left(self.send_times, t0)

    def send_time_of_index(self, index: int, before: int) -> int | None:
        times = self.index_times.get(index)
        if not times:
            return None
        pos = bisect.bisect_right(times, before)
        return times[pos - 1] if pos else None


class ClipTrack(MediaStreamTrack):
    """Loops a :class:`Clip` as ``av.Packet`` at its frame rate, with a timing trailer."""

    kind = "video"

    def __init__(self, clip: Clip, stream_id: int, *, keyframe_interval: float = 0.25) -> None:
        super().__init__()
        self.clip = clip
        self.log = PublisherLog(stream_id)
        self._index = 0
        self._seq = 0
        self._start: float | None = None
        self._keyframe_wanted = False
        self._last_keyframe = 0.0
        self._keyframe_interval = keyframe_interval
        self._time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._step = VIDEO_CLOCK // clip.fps

    def request_keyframe(self) -> None:
        """Called for PLI/FIR from the remote end: restart the clip at its key frame."""
        self.log.keyframe_requests += 1
        self._keyframe_wanted = True

    async def recv(self) -> av.Packet:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        due = self._start + self._seq / self.clip.fps
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        mono = loop.time()
        if self._keyframe_wanted and mono - self._last_keyframe >= self._keyframe_interval:
            self._keyframe_wanted = False
            self._index = 0
        if self._index == 0:
            self._last_keyframe = mono
            self.log.keyframes += 1
        index = self._index
        sent = now_ns()
        data = self.clip.frames[index] + TRAILER.pack(
            TRAILER_MAGIC, self.log.stream_id, self._seq, sent
        )
        packet = av.Packet(data)
        packet.pts = self._seq * self._step
        packet.time_base = self._time_base
        self.log.send_times.append(sent)
        self.log.sent += 1
        self.log.index_times.setdefault(index, []).append(sent)
        self._seq += 1
        self._index = (index + 1) % len(self.clip.frames)
        return packet


def bind_publisher_sender(sender: Any, track: ClipTrack) -> None:
    """Route PLI/FIR received by ``sender`` to ``track`` (aiortc would force an encoder)."""
    sender._send_keyframe = track.request_keyframe


def _vp8_payload_offset(payload: bytes) -> int:
    """Length of the VP8 payload descriptor (RFC 7741 4.2)."""
    pos = 1
    if payload[0] & 0x80:
        ext = payload[1]
        pos = 2
        if ext & 0x80:
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:
            pos += 1
        if ext & 0x30:
            pos += 1
    return pos


class StreamCounter:
    """Counts one received video stream at the RTP level (installed on a receiver)."""

    def __init__(self, label: str, *, probe: Callable[[Any, int], None] | None = None) -> None:
        self.label = label
        self.created = now_ns()
        self.joined_at: int | None = None
        self.connected_at: int | None = None
        "When the subscriber's connection carrying this stream connected (DTLS up)."
        self.first_frame_at: int | None = None
        self.first_keyframe_at: int | None = None
        self.packets = 0
        self.bytes = 0
        self.frames = 0
        self.keyframes = 0
        self.base_seq: int | None = None
        self.highest = -1  # extended sequence number
        self._cycles = 0
        self._last_seq = -1
        self.latencies: list[tuple[int, int]] = []  # (receive time, latency ns)
        self.frame_times: list[int] = []
        self._probe = probe

    def install(self, receiver: Any) -> None:
        """Replace ``receiver``'s RTP handler (call before the connection starts); a lean
        receive path (``benchmarks/lean_rx.py``) finds the counter as ``_lean_counter``."""
        receiver._handle_rtp_packet = self._handle
        receiver._lean_counter = self if self._probe is None else None

    async def _handle(self, packet: Any, arrival_time_ms: int) -> None:
        self.count(packet.sequence_number, packet.marker, packet.payload, packet)

    def count(self, seq: int, marker: int, payload: bytes, packet: Any = None) -> None:
        """One RTP packet (``packet``: aiortc's, only for the bar-code probe)."""
        t = now_ns()
        if not payload:
            return
        if self.base_seq is None:
            self.base_seq = seq
            self._last_seq = seq
            self.highest = seq
        else:
            if seq < 0x1000 and self._last_seq > 0xF000:
                self._cycles += 1 << 16
            ext = self._cycles + seq
            if ext > self.highest:
                self.highest = ext
            self._last_seq = seq
        self.packets += 1
        self.bytes += len(payload)
        # start of partition 0 of a frame: S bit set, PID 0 -> read the key frame bit
        if payload[0] & 0x10 and payload[0] & 0x07 == 0:
            try:
                off = _vp8_payload_offset(payload)
                if off < len(payload) and payload[off] & 0x01 == 0:
                    self.keyframes += 1
                    if self.first_keyframe_at is None:
                        self.first_keyframe_at = t
            except IndexError:
                pass
        if self._probe is not None:
            self._probe(packet, t)
        if marker:
            self.frames += 1
            self.frame_times.append(t)
            if self.first_frame_at is None:
                self.first_frame_at = t
            if len(payload) >= TRAILER.size:
                magic, _stream, _seq, sent = TRAILER.unpack_from(
                    payload, len(payload) - TRAILER.size
                )
                if magic == TRAILER_MAGIC:
                    self.latencies.append((t, t - sent))

    @property
    def received_unique_estimate(self) -> int:
        return self.packets

    def snapshot(self) -> tuple[int, int, int, int]:
        """(packets, highest extended seq, frames, bytes)."""
        return self.packets, self.highest, self.frames, self.bytes

    def frames_between(self, t0: int, t1: int) -> int:
        return bisect.bisect_left(self.frame_times, t1) - bisect.bisect_left(self.frame_times, t0)


class BarCodeProbe:
    """Decodes one subscriber's stream to read the clip index (naive relay latency).

    The relay re-encodes, so the trailer is lost; the picture keeps the bar code. The
    arrival time of the frame's last packet is taken before decoding.
    """

    def __init__(self, log: PublisherLog, counter_ref: list[StreamCounter]) -> None:
        from aiortc.codecs.vpx import VpxPayloadDescriptor

        self._descriptor = VpxPayloadDescriptor
        self.log = log
        self._counter_ref = counter_ref
        self._decoder = av.CodecContext.create("libvpx", "r")
        self._chunks: list[bytes] = []
        self._timestamp: int | None = None
        self.latencies: list[tuple[int, int]] = []
        self.decode_errors = 0

    def __call__(self, packet: Any, t: int) -> None:
        if packet.timestamp != self._timestamp:
            self._chunks = []
            self._timestamp = packet.timestamp
        descr, data = self._descriptor.parse(packet.payload)
        self._chunks.append(data)
        if not packet.marker:
            return
        try:
            frames = self._decoder.decode(av.Packet(b"".join(self._chunks)))
        except Exception:
            self.decode_errors += 1
            return
        finally:
            self._chunks = []
        for frame in frames:
            luma = frame.to_ndarray(format="gray")
            index = read_bar_code(luma)
            sent = self.log.send_time_of_index(index, t)
            if sent is not None:
                self.latencies.append((t, t - sent))


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Least-squares line through ``points`` ``(x, y)``: (slope, intercept); None with fewer
    than two points or a single x."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    return slope, my - slope * mx
