"""Micro-benchmark of the SFU's per-packet path, independent of the rest of the machine.

    .venv/bin/python -m benchmarks.hot_path                 # 1, 20 and 100 consumers
    .venv/bin/python -m benchmarks.hot_path 20 3000         # N consumers, packets
    valgrind --tool=callgrind .venv/bin/python -m benchmarks.hot_path 20 100 --no-drain
    valgrind --tool=callgrind .venv/bin/python -m benchmarks.hot_path 20 600 --no-drain

One VP8 layer (``arbiter_server.sfu.layer.Layer``) feeds N consumer streams
(``DownTrack``), each with its own libsrtp session (AES-256-GCM, what aiortc negotiates
with browsers) sending through a real UDP socket on loopback. It prints the process CPU
time per forwarded packet: header rewrite, SRTP protect and ``sendto`` included, and (by
default) reading the datagrams back from the receiving socket, so the kernel's side of
loopback is in the figure too. With ``--no-drain`` the datagrams go to a closed port and
nothing is read back (for callgrind, which counts user-space instructions: the process
then runs only the SFU's code). The difference of two callgrind runs (600 and 100
packets) divided by 500 x N gives the instructions per forwarded packet, a figure that
does not depend on what else the machine runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # python benchmarks/hot_path.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from pylibsrtp import Policy, Session

from arbiter_server.sfu.aiortc_hooks import SendParameters, _fast_protect
from arbiter_server.sfu.downtrack import DownTrack
from arbiter_server.sfu.forwarder import TrackForwarder
from arbiter_server.sfu.layer import Upstream
from arbiter_server.sfu.rtp import ABS_SEND_TIME_URI, RTP_HEADER


class _Upstream(Upstream):
    def send_rtcp(self, packet: bytes) -> None:
        pass

    @property
    def rtcp_ssrc(self) -> int:
        return 1


class _Transport:
    """What ``aiortc_hooks.SrtpTransport`` does per packet: protect, then ``sendto``."""

    def __init__(self, sock: socket.socket, address: Any) -> None:
        policy = Policy(
            key=os.urandom(44),
            ssrc_type=Policy.SSRC_ANY_OUTBOUND,
            srtp_profile=Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
        )
        policy.allow_repeat_tx = True
        policy.window_size = 1024
        self._protect = _fast_protect(Session(policy))
        self._sendto = sock.sendto
        self._address = address

    def send_rtp(self, packet: bytes) -> bool:
        try:
            self._sendto(self._protect(packet), self._address)
        except OSError:
            return False
        return True


def _packet(seq: int, key: bool, start: bool, marker: bool, body: bytes) -> bytes:
    descriptor = bytes([0x80 | (0x10 if start else 0), 0x80]) + struct.pack(
        "!H", 0x8000 | (seq // 2 & 0x7FFF)
    )
    header = RTP_HEADER.pack(
        0x80, (0x80 if marker else 0) | 96, seq & 0xFFFF, (seq // 2) * 3000 & 0xFFFFFFFF, 99
    )
    return header + descriptor + (bytes([0 if key else 1]) if start else b"") + body


def run(consumers: int, packets: int, drain: bool) -> float:
    """CPU seconds per forwarded packet."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.setblocking(False)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.setblocking(False)
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.bind(("127.0.0.1", 0))
    nowhere = closed.getsockname()
    closed.close()
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    forwarder = TrackForwarder("p", "camera", kind="video", source="camera", codec=vp8)
    (layer,) = forwarder.new_layers([None], _Upstream())
    layer.ssrc = 99
    parameters = SendParameters("0", 97, 90000, "video/vp8", 98, {ABS_SEND_TIME_URI: 3})
    for i in range(consumers):
        downtrack = DownTrack("video", 1000 + i, 2000 + i)
        downtrack.attach(forwarder)
        downtrack.activate(
            parameters,
            _Transport(tx, rx.getsockname() if drain else nowhere),  # type: ignore[arg-type]
        )
    body = os.urandom(1060)

    def read_back() -> None:
        if drain:
            try:
                while True:
                    rx.recv(4096)
            except BlockingIOError:
                pass

    layer.receive(_packet(0, True, True, False, body), time.monotonic())
    layer.receive(_packet(1, True, False, True, body), time.monotonic())
    read_back()
    frames = [
        _packet(seq, False, seq % 2 == 0, seq % 2 == 1, body) for seq in range(2, 2 + packets)
    ]
    started = time.process_time()
    for i, data in enumerate(frames):
        layer.receive(data, time.monotonic())
        if i % 20 == 0:
            read_back()
    read_back()
    used = time.process_time() - started
    layer.close()
    for s in (rx, tx):
        s.close()
    return used / (packets * consumers)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("consumers", type=int, nargs="?", default=None)
    parser.add_argument("packets", type=int, nargs="?", default=3000)
    parser.add_argument("--no-drain", action="store_true", help="send to a closed port")
    args = parser.parse_args()
    runs = (
        [(args.consumers, args.packets)]
        if args.consumers
        else [(1, 20000), (20, 3000), (100, 1000)]
    )

    async def go() -> None:  # the layer's timers want a running loop
        for consumers, packets in runs:
            per = run(consumers, packets, not args.no_drain)
            print(f"{consumers} consumers: {per * 1e6:.2f} us CPU per forwarded packet")

    asyncio.run(go())
    return 0


if __name__ == "__main__":
    sys.exit(main())
