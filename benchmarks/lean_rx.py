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

Pokes aiortc 1.16 / aioice 0.13 internals: ``RTCDtlsTransport._rx_srtp``,
``_rtp_router.ssrc_table``, ``RTCIceTransport._connection._nominated`` and the pair's
``StunProtocol``.
"""

from __future__ import annotations

import logging
from typing import Any

from aiortc import RTCPeerConnection
from pylibsrtp import Error as SrtpError

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
    unprotect = srtp.unprotect

    def datagram_received(data: bytes, addr: Any) -> None:
        b0 = data[0]
        if 127 < b0 < 192 and not 191 < data[1] < 209 and len(data) > 12:  # SRTP, not SRTCP
            receiver = ssrc_table.get(int.from_bytes(data[8:12], "big"))
            counter = getattr(receiver, "_lean_counter", None)
            if counter is not None:
                try:
                    rtp = unprotect(data)
                except SrtpError:
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
