"""Smoke test of the SFU benchmark harness (benchmarks/): fast, no SFU, no Janus.

The benchmark itself (``python -m benchmarks.sfu_bench``) is not part of the test run.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import av
import pytest

from benchmarks.lean_rx import is_lean
from benchmarks.media import TRAILER, TRAILER_MAGIC, ClipTrack, encode_clip, read_bar_code
from benchmarks.procs import Children, cpu_seconds
from benchmarks.sfu_bench import measure_window
from benchmarks.targets import DirectTarget, media_address, pin_media_address, write_janus_config

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(scope="module")
def clip():  # type: ignore[no-untyped-def]
    return encode_clip(frames=20, bitrate=600_000)


def test_clip_frames_with_trailer_still_decode_and_carry_the_bar_code(clip) -> None:  # type: ignore[no-untyped-def]
    assert clip.frames[0][0] & 1 == 0  # key frame first
    assert all(f[0] & 1 for f in clip.frames[1:])  # and only there
    decoder = av.CodecContext.create("libvpx", "r")
    for i, data in enumerate(clip.frames):
        frames = decoder.decode(av.Packet(data + TRAILER.pack(TRAILER_MAGIC, 7, i, 0)))
        assert len(frames) == 1
        assert read_bar_code(frames[0].to_ndarray(format="gray")) == i


async def test_direct_stream_is_counted_with_latency_and_no_loss(clip, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pin_media_address(media_address())
    children = Children()
    target = DirectTarget(children, tmp_path)
    try:
        await target.add_publisher(ClipTrack(clip, 1))
        counters = await target.add_subscriber()
        assert len(counters) == 1
        for _ in range(200):
            if counters[0].first_keyframe_at is not None:
                break
            await asyncio.sleep(0.05)
        m = await measure_window(target, 1.5)
        lean = is_lean(target.pcs[1])  # the subscriber's connection
    finally:
        await target.stop()
        children.stop_all()
    counter = counters[0]
    assert lean  # counted on the lean receive path, with the same results
    assert counter.keyframes >= 1 and counter.frames > 20
    assert m["streams"] == 1 and m["loss"] < 0.05
    assert m["latency_ms_median"] is not None and m["latency_ms_median"] < 50
    assert 300 < m["kbps_per_stream"] < 1500


def test_janus_config_is_loopback_http_and_videoroom_only(tmp_path: Path) -> None:
    write_janus_config(tmp_path, 18088, publishers=4, ip="192.0.2.1")
    main = (tmp_path / "janus.jcfg").read_text()
    assert 'ice_enforce_list = "192.0.2.1"' in main and "libjanus_streaming.so" in main
    http = (tmp_path / "janus.transport.http.jcfg").read_text()
    assert 'ip = "127.0.0.1"' in http and "port = 18088" in http
    room = (tmp_path / "janus.plugin.videoroom.jcfg").read_text()
    assert 'videocodec = "vp8"' in room


def test_children_are_stopped_by_pid(tmp_path: Path) -> None:
    children = Children()
    proc = children.start(
        [sys.executable, "-c", "import time; time.sleep(60)"], log=tmp_path / "x.log"
    )
    assert cpu_seconds(proc.pid) >= 0
    children.stop_all()
    assert proc.poll() is not None
