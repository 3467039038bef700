"""The one module that knows aiortc 1.16's internals: packets in and out around its RTP stack.

aiortc keeps doing ICE, DTLS, SRTP keying, SDP and data channels for the SFU; the media
path goes around its RTP objects (see ``docs`` of :mod:`arbiter_server.sfu`):

* :func:`tap` replaces a DTLS transport's ``_handle_rtp_data`` / ``_handle_rtcp_data``
  (called for every unprotected SRTP/SRTCP packet) with the SFU's own handlers, so RTP
  bytes reach the forwarder before aiortc would parse them, route them by SSRC or payload
  type and feed its jitter buffer and decoder.
* :func:`hold_receiver` keeps an ``RTCRtpReceiver`` from starting its decoder thread and
  RTCP task; :func:`hold_sender` keeps an ``RTCRtpSender`` from starting its encoder and
  RTP/RTCP tasks and reports the negotiated send parameters instead. The objects stay for
  what aiortc needs them for: the SDP (media sections, SSRCs, codecs).
* :class:`SrtpTransport` protects RTP/RTCP with the transport's outbound SRTP session
  (calling libsrtp through pylibsrtp's binding directly) and hands the datagram to the
  nominated ICE candidate pair's UDP socket, synchronously (no per-packet coroutine
  chain, no asyncio transport in between).
* :func:`bitrate_estimator` is aiortc's receive-side estimator (the REMB a producer gets).
* :func:`enable_rid_extensions` adds the rtp-stream-id and repaired-rtp-stream-id header
  extensions to aiortc's negotiated list (in place), so an answer keeps them.

It is pinned to aiortc 1.16 (name-mangled attributes and per-instance replacement of
methods that aiortc calls through ``self``), aioice 0.13 and pylibsrtp 1.0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiortc.codecs
import pylibsrtp
from aiortc import RTCDtlsTransport, RTCRtpReceiver, RTCRtpSender
from aiortc.rate import RemoteBitrateEstimator
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpSendParameters,
)
from pylibsrtp import SRTP_MAX_TRAILER_LEN

from .rtp import REPAIRED_RID_URI, RID_URI

# libsrtp's cffi binding, which pylibsrtp's package re-exports (used by the fast paths)
ffi: Any = pylibsrtp.ffi  # type: ignore[attr-defined]
lib: Any = pylibsrtp.lib  # type: ignore[attr-defined]

__all__ = [
    "BitrateEstimator",
    "SendParameters",
    "SrtpTransport",
    "bitrate_estimator",
    "fast_unprotect",
    "enable_rid_extensions",
    "hold_receiver",
    "hold_sender",
    "negotiated_extensions",
    "sender_ssrcs",
    "set_msid",
    "tap",
]

logger = logging.getLogger(__name__)

RtpHandler = Callable[[bytes, int], None]
"Gets each unprotected RTP packet and its arrival time (ms, aiortc's clock)."
RtcpHandler = Callable[[bytes], None]
"Gets each unprotected RTCP compound packet."


class BitrateEstimator(Protocol):
    """aiortc's receive-side (abs-send-time, REMB) bandwidth estimator."""

    def add(
        self, arrival_time_ms: int, abs_send_time: int, payload_size: int, ssrc: int
    ) -> tuple[int, list[int]] | None:
        """Account one packet; returns ``(bitrate, ssrcs)`` when a REMB is due."""
        ...


def bitrate_estimator() -> BitrateEstimator:
    """A new ``aiortc.rate.RemoteBitrateEstimator`` (libwebrtc's abs-send-time estimator)."""
    estimator: BitrateEstimator = RemoteBitrateEstimator()
    return estimator


def tap(dtls: RTCDtlsTransport, on_rtp: RtpHandler | None, on_rtcp: RtcpHandler) -> None:
    """Send what ``dtls`` decrypts to ``on_rtp`` / ``on_rtcp`` instead of aiortc's router.

    ``on_rtp`` ``None`` drops RTP (a connection the SFU only sends on). Call after
    ``setRemoteDescription`` (BUNDLE picks the transport there), before media flows.
    """

    async def handle_rtp(data: bytes, arrival_time_ms: int) -> None:
        if on_rtp is not None:
            on_rtp(data, arrival_time_ms)

    async def handle_rtcp(data: bytes) -> None:
        on_rtcp(data)

    dtls._handle_rtp_data = handle_rtp  # type: ignore[method-assign]
    dtls._handle_rtcp_data = handle_rtcp  # type: ignore[method-assign]


def hold_receiver(receiver: RTCRtpReceiver) -> None:
    """Keep ``receiver`` idle: no decoder thread, no RTCP task, no registration.

    Its media reaches the SFU through :func:`tap` (or, on a consumer connection, none
    comes); aiortc still calls ``receive()`` when the connection is up, which then does
    nothing. The state it would receive with goes: a video receiver's bandwidth estimator
    alone holds about 95 KB (a 1000-bucket rate counter), its jitter buffer 512 slots.
    """

    async def receive(parameters: Any) -> None:
        return None

    receiver.receive = receive  # type: ignore[method-assign]
    state = receiver.__dict__
    state["_RTCRtpReceiver__remote_bitrate_estimator"] = None
    state["_RTCRtpReceiver__nack_generator"] = None
    state["_RTCRtpReceiver__jitter_buffer"] = None


@dataclass(frozen=True)
class SendParameters:
    """What a consumer's media section negotiated, as the SFU needs it to send."""

    mid: str
    "The media section."
    payload_type: int
    "Payload type of the media codec."
    clock_rate: int
    "Its RTP clock rate."
    mime_type: str
    "Its MIME type, lower case."
    rtx_payload_type: int | None
    "Payload type of its RTX codec, if negotiated."
    extensions: dict[str, int] = field(default_factory=dict)
    "Negotiated header extension ids by URI."
    cname: str = ""
    "The connection's RTCP CNAME."


def hold_sender(sender: RTCRtpSender, on_send: Callable[[SendParameters], None]) -> None:
    """Keep ``sender`` idle and call ``on_send`` with what it would have sent with.

    aiortc calls ``send()`` once the connection's DTLS is up (again after each
    renegotiation): then the SFU may send on this media section.
    """

    async def send(parameters: RTCRtpSendParameters) -> None:
        codecs: list[RTCRtpCodecParameters] = list(parameters.codecs)
        if not codecs:
            return
        media = codecs[0]
        if media.payloadType is None:
            return
        rtx = next(
            (
                c.payloadType
                for c in codecs
                if c.mimeType.lower().endswith("/rtx")
                and c.parameters.get("apt") == media.payloadType
            ),
            None,
        )
        on_send(
            SendParameters(
                mid=parameters.muxId,
                payload_type=media.payloadType,
                clock_rate=media.clockRate,
                mime_type=media.mimeType.lower(),
                rtx_payload_type=rtx,
                extensions=negotiated_extensions(parameters.headerExtensions),
                cname=parameters.rtcp.cname or "",
            )
        )

    sender.send = send  # type: ignore[method-assign]


def negotiated_extensions(
    extensions: list[RTCRtpHeaderExtensionParameters],
) -> dict[str, int]:
    """Header extension ids by URI."""
    return {e.uri: e.id for e in extensions}


def sender_ssrcs(sender: RTCRtpSender) -> tuple[int, int]:
    """The ``(media, rtx)`` SSRCs ``sender`` announces in the SDP."""
    return sender._ssrc, sender._rtx_ssrc


def set_msid(sender: RTCRtpSender, stream_id: str, track_id: str) -> None:
    """What ``a=msid`` of ``sender``'s media section says (before ``createOffer``)."""
    sender._stream_id = stream_id
    sender._track_id = track_id


def enable_rid_extensions() -> None:
    """Negotiate rtp-stream-id and repaired-rtp-stream-id on video (idempotent).

    aiortc answers only with header extensions listed in ``aiortc.codecs.HEADER_EXTENSIONS``
    (read by ``RTCPeerConnection`` through the same list object); browsers send simulcast
    layers with these, so the SFU can learn which SSRC is which layer.
    """
    video: list[RTCRtpHeaderExtensionParameters] = aiortc.codecs.HEADER_EXTENSIONS["video"]
    known = {e.uri for e in video}
    # BUNDLE: an id means one extension across every media section, audio included
    taken = {e.id for kind in aiortc.codecs.HEADER_EXTENSIONS.values() for e in kind}
    for uri in (RID_URI, REPAIRED_RID_URI):
        if uri not in known:
            ident = next(i for i in range(1, 15) if i not in taken)
            taken.add(ident)
            video.append(RTCRtpHeaderExtensionParameters(id=ident, uri=uri))


class SrtpTransport:
    """Protects and sends RTP/RTCP on one connected DTLS transport, synchronously.

    ``send_rtp`` / ``send_rtcp`` return False (and send nothing) while the transport is
    not connected or after it closed. The nominated candidate pair is looked up again when
    aioice nominates another one. RTP goes straight to libsrtp (pylibsrtp's session,
    without its per-call wrapper) and to the pair's UDP socket: a datagram the kernel has no
    room for is dropped, as the network would.
    """

    def __init__(self, dtls: RTCDtlsTransport) -> None:
        self._dtls = dtls
        self._pair: Any = None
        self._sendto: Callable[[bytes, Any], Any] | None = None
        self._addr: Any = None
        self._session: Any = None
        self._protect: Callable[[bytes], bytes] | None = None
        self._protect_rtcp: Callable[[bytes], bytes] | None = None
        self.packets_sent = 0
        "RTP and RTCP packets sent."
        self.bytes_sent = 0
        "Bytes of SRTP/SRTCP sent."
        self.dropped = 0
        "Packets the socket had no room for."

    @property
    def connected(self) -> bool:
        """True while the DTLS transport is connected (SRTP keys are known)."""
        return self._dtls.state == "connected" and self._dtls._tx_srtp is not None

    def refresh(self) -> bool:
        """Look up the SRTP session and the nominated candidate pair; True if usable."""
        dtls = self._dtls
        if dtls.state != "connected" or dtls._tx_srtp is None:
            self._sendto = None
            return False
        connection = dtls.transport._connection
        pair = connection._nominated.get(1)
        if pair is None:
            self._sendto = None
            return False
        transport = pair.protocol.transport
        sock = getattr(transport, "_sock", None) if transport is not None else None
        if transport is None or transport.is_closing() or sock is None:
            self._sendto = None
            return False
        if pair is not self._pair or self._sendto is None:
            self._pair = pair
            self._sendto = sock.sendto
            self._addr = pair.remote_addr
        session = dtls._tx_srtp
        if session is not self._session:
            self._session = session
            self._protect = _fast_protect(session)
            self._protect_rtcp = session.protect_rtcp
        return True

    def send_rtp(self, packet: bytes) -> bool:
        """Protect and send one RTP packet (the hot path: inlined, not shared with RTCP)."""
        sendto = self._sendto
        if sendto is None:
            if not self.refresh():
                return False
            sendto = self._sendto
            assert sendto is not None
        protect = self._protect
        assert protect is not None
        try:
            data = protect(packet)
            sendto(data, self._addr)
        except BlockingIOError:
            self.dropped += 1
            return False
        except Exception as exc:  # pylibsrtp.Error, ValueError (too long), a closed socket
            logger.debug("sending RTP failed: %s", exc)
            self._sendto = None
            return False
        self.packets_sent += 1
        self.bytes_sent += len(data)
        return True

    def send_rtcp(self, packet: bytes) -> bool:
        """Protect and send one RTCP compound packet."""
        if not self.refresh():
            return False
        protect = self._protect_rtcp
        sendto = self._sendto
        assert protect is not None and sendto is not None
        try:
            data = protect(packet)
            sendto(data, self._addr)
        except BlockingIOError:
            self.dropped += 1
            return False
        except Exception as exc:
            logger.debug("sending RTCP failed: %s", exc)
            self._sendto = None
            return False
        self.packets_sent += 1
        self.bytes_sent += len(data)
        return True


def _fast_protect(session: Any) -> Callable[[bytes], bytes]:
    """``session.protect`` without pylibsrtp's per-call checks and allocation.

    Uses the session's own 1500-byte buffer, as ``protect`` does (calls never overlap:
    everything runs on the event loop's thread), and holds the session: libsrtp's context
    is freed with it.
    """
    srtp = session._srtp[0]
    cdata = session._cdata
    buffer = session._buffer
    length = ffi.new("int *")
    protect = lib.srtp_protect
    limit = len(buffer) - SRTP_MAX_TRAILER_LEN

    def fast(packet: bytes, _owner: Any = session) -> bytes:  # keeps the session alive
        size = len(packet)
        if size > limit:
            raise ValueError("packet is too long")
        buffer[0:size] = packet
        length[0] = size
        status = protect(srtp, cdata, length)
        if status:
            raise pylibsrtp.Error(f"srtp_protect failed ({status})")
        data: bytes = buffer[0 : length[0]]
        return data

    return fast


def fast_unprotect(session: Any) -> Callable[[bytes], bytes | None]:
    """``session.unprotect`` without pylibsrtp's per-call checks and allocation; ``None``
    for a packet that does not verify (the benchmark's load generator uses it)."""
    srtp = session._srtp[0]
    cdata = session._cdata
    buffer = session._buffer
    length = ffi.new("int *")
    unprotect = lib.srtp_unprotect
    limit = len(buffer)

    def fast(packet: bytes, _owner: Any = session) -> bytes | None:
        size = len(packet)
        if size > limit:
            return None
        buffer[0:size] = packet
        length[0] = size
        if unprotect(srtp, cdata, length):
            return None
        data: bytes = buffer[0 : length[0]]
        return data

    return fast
