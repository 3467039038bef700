"""A lean receive path for the load generator's subscriber connections.

aiortc hands every inbound datagram through aioice (a STUN parse attempt that raises, an
``asyncio.Queue`` hop to the DTLS transport's task), then SRTP, ``RtpPacket.parse``, the
RTP router and the receiver: about as much CPU per packet as the SFUs under test spend
forwarding it. On two cores, with the SFU pinned to one and the generator to the other,
that generator would saturate before either SFU. Once a subscriber connection is up, this
module takes its SRTP datagrams (not SRTCP, DTLS or STUN) as they leave the socket,
decrypts them with the connection's own libsrtp session and gives the counter the
sequence number, marker bit and payload read with ``struct``; anything it does not know
(an SSRC the router has not learned, a counter with a decoding probe) goes the usual way.
The SFUs see the same subscribers either way: aiortc's receivers send no reports in the
benchmark (the counters replace their RTP handler), so no RTCP changes.

The sockets of connected subscribers also leave asyncio's selector: one ``epoll`` set of
them is registered with the event loop instead and drained whole when it is readable, so
a datagram costs a ``recvfrom`` and the handler, not an event-loop round of its own.

Pokes aiortc 1.16 / aioice 0.13 / asyncio internals: ``RTCDtlsTransport._rx_srtp``,
``_rtp_router.ssrc_table``, ``RTCIceTransport._connection._nominated``, the pair's
``StunProtocol`` and its datagram transport's socket.
"""

from __future__ import annotations

import asyncio
import logging
import select
import socket
from collections.abc import Callable
from typing import Any

from aiortc import RTCPeerConnection

from arbiter_server.sfu.aiortc_hooks import fast_unprotect

logger = logging.getLogger("benchmarks")


def lean_receive(pc: RTCPeerConnection) -> None:
    """Count ``pc``'s RTP on the lean path from the moment it connects."""

    def on_state() -> None:
        if pc.connectionState != "connected":
            return
        seen: set[int] = set()
        for transceiver in pc.getTransceivers():
            dtls = transceiver.receiver.transport
            if dtls is not None and id(dtls) not in seen:
                seen.add(id(dtls))
                _wrap(dtls)

    pc.on("connectionstatechange", on_state)


def _wrap(dtls: Any) -> None:
    try:
        protocol = dtls.transport._connection._nominated[1].protocol
        srtp = dtls._rx_srtp
        ssrc_table = dtls._rtp_router.ssrc_table
    except (AttributeError, KeyError):
        logger.warning("lean receive: no nominated pair or SRTP session; the usual path")
        return
    if srtp is None or getattr(protocol, "_lean", False):
        return
    usual = protocol.datagram_received
    unprotect = fast_unprotect(srtp)

    def datagram_received(data: bytes, addr: Any) -> None:
        b0 = data[0]
        if 127 < b0 < 192 and not 191 < data[1] < 209 and len(data) > 12:  # SRTP, not SRTCP
            receiver = ssrc_table.get(int.from_bytes(data[8:12], "big"))
            counter = getattr(receiver, "_lean_counter", None)
            if counter is not None:
                rtp = unprotect(data)
                if rtp is None:
                    return
                start = 12 + 4 * (b0 & 0x0F)
                if b0 & 0x10:  # header extension
                    start += 4 + 4 * int.from_bytes(rtp[start + 2 : start + 4], "big")
                end = len(rtp) - (rtp[-1] if b0 & 0x20 else 0)
                counter.count(int.from_bytes(rtp[2:4], "big"), rtp[1] & 0x80, rtp[start:end])
                return
        usual(data, addr)

    protocol.datagram_received = datagram_received
    protocol._lean = True
    transport = protocol.transport
    sock = getattr(transport, "_sock", None)
    if isinstance(sock, socket.socket) and hasattr(transport, "pause_reading"):
        transport.pause_reading()  # asyncio no longer reads it: the drainer does
        _drainer().add(sock, datagram_received)


class _Drainer:
    """An epoll set of sockets, drained whole whenever the event loop finds it readable."""

    PASSES = 8
    "Rounds over the readable sockets per event-loop turn."

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._epoll = select.epoll()
        self._handlers: dict[int, tuple[socket.socket, Callable[[bytes, Any], None]]] = {}
        loop.add_reader(self._epoll.fileno(), self._ready)

    def add(self, sock: socket.socket, handler: Callable[[bytes, Any], None]) -> None:
        fd = sock.fileno()
        self._handlers[fd] = (sock, handler)
        try:
            self._epoll.register(fd, select.EPOLLIN)
        except FileExistsError:  # a closed socket's number, reused
            self._epoll.modify(fd, select.EPOLLIN)

    def _ready(self) -> None:
        # one datagram per readable socket per pass (level-triggered: what is left is
        # seen on the next pass), so no read ends in BlockingIOError
        handlers = self._handlers
        for _ in range(self.PASSES):
            events = self._epoll.poll(0)
            if not events:
                return
            for fd, _ in events:
                entry = handlers.get(fd)
                if entry is None:
                    self._forget(fd)
                    continue
                try:
                    data, addr = entry[0].recvfrom(2048)
                except BlockingIOError:
                    continue
                except OSError:  # closed with its connection
                    self._forget(fd)
                    continue
                entry[1](data, addr)

    def _forget(self, fd: int) -> None:
        self._handlers.pop(fd, None)
        try:
            self._epoll.unregister(fd)
        except (OSError, ValueError):
            pass


_drainers: dict[asyncio.AbstractEventLoop, _Drainer] = {}


def _drainer() -> _Drainer:
    loop = asyncio.get_running_loop()
    drainer = _drainers.get(loop)
    if drainer is None:
        drainer = _drainers[loop] = _Drainer(loop)
    return drainer


def is_lean(pc: RTCPeerConnection) -> bool:
    """Whether ``pc``'s RTP takes the lean path (for tests)."""
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        try:
            if dtls.transport._connection._nominated[1].protocol._lean:
                return True
        except (AttributeError, KeyError):
            pass
    return False
