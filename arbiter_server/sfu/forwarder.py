"""Media forwarding without transcoding: the seam between peer connections and media.

A :class:`TrackForwarder` reads the encoded packets of one producer track (an aiortc
receiver whose "decoder" is a pass-through, see :mod:`.passthrough`) and fans them out to
one bounded :class:`ForwardedTrack` per consumer; each consumer's aiortc sender packetizes
them again without an encoder. Key frames are requested from the producer with RTCP PLI
when a consumer starts, when a consumer's queue overflows, and when a consumer's receiver
sends PLI/FIR. Requests are coalesced: while one is answered (until the key frame arrives,
at most ``keyframe_interval``) a new one waits for that key frame instead, and two requests
are at least ``KEYFRAME_SPACING`` apart.
A consumer track can be paused (:meth:`ForwardedTrack.set_paused`, for stream
pagination): its packets are dropped here and, when it resumes, a key frame is requested.
A whole forwarder can be muted (:meth:`TrackForwarder.set_muted`, a moderator's lock):
nothing it reads reaches any consumer until it is unmuted.

The rest of the SFU only uses this module's public names, so another forwarding strategy
(e.g. raw RTP rewriting) can replace it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import av
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters
from aiortc.sdp import SessionDescription as SdpDescription

from arbiter_rtc import TaskSet

from . import passthrough
from .passthrough import EncodedPacket

__all__ = [
    "AUDIO_QUEUE_SIZE",
    "ForwardedTrack",
    "ForwarderStats",
    "KEYFRAME_INTERVAL",
    "KEYFRAME_SPACING",
    "PRODUCER_MIME_TYPES",
    "TrackForwarder",
    "VIDEO_QUEUE_SIZE",
    "bind_sender",
    "consumer_codec_preferences",
    "negotiated_codec",
    "producer_codec_preferences",
    "remote_media_ssrcs",
    "single_codec",
]

logger = logging.getLogger(__name__)

PRODUCER_MIME_TYPES: dict[str, tuple[str, ...]] = {
    "audio": ("audio/opus",),
    "video": ("video/VP8", "video/H264"),
}
"""Codecs the SFU accepts from producers, by kind, in order of preference (VP8 before
H.264 when a producer offers both; H.264 in the packetization-mode=1 profiles aiortc has)."""

KEYFRAME_INTERVAL = 0.5
"Seconds a key frame request may stay unanswered before it is sent again."

KEYFRAME_SPACING = 0.2
"Minimum seconds between two key frame requests (PLI) to one producer track."

VIDEO_QUEUE_SIZE = 60
"Video packets (frames) buffered per consumer, about 2 s at 30 fps."

AUDIO_QUEUE_SIZE = 50
"Audio packets buffered per consumer, 1 s of 20 ms Opus frames."


def _capabilities(kind: str) -> list[RTCRtpCodecCapability]:
    capabilities = RTCRtpSender.getCapabilities(kind)
    return list(capabilities.codecs) if capabilities is not None else []


def _is_rtx(codec: RTCRtpCodecCapability | RTCRtpCodecParameters) -> bool:
    return codec.mimeType.lower().endswith("/rtx")


def producer_codec_preferences(kind: str) -> list[RTCRtpCodecCapability]:
    """Codec preferences for a producer transceiver: :data:`PRODUCER_MIME_TYPES` (+ RTX)."""
    wanted = [m.lower() for m in PRODUCER_MIME_TYPES.get(kind, ())]
    capabilities = _capabilities(kind)
    chosen = [c for m in wanted for c in capabilities if c.mimeType.lower() == m]
    if kind == "video":
        chosen += [c for c in capabilities if _is_rtx(c)]
    return chosen


def consumer_codec_preferences(codec: RTCRtpCodecParameters) -> list[RTCRtpCodecCapability]:
    """Codec preferences for a consumer transceiver: exactly the producer's codec (+ RTX).

    Forwarding packets unchanged is only valid if the consumer negotiates the very codec
    (and, for H.264, the same profile and packetization) that the producer sends.
    """
    kind = codec.mimeType.split("/")[0].lower()
    capabilities = _capabilities(kind)
    same = [
        c
        for c in capabilities
        if c.mimeType.lower() == codec.mimeType.lower()
        and c.clockRate == codec.clockRate
        and c.parameters == codec.parameters
    ]
    if not same:
        raise ValueError(f"no local capability matches {codec.mimeType} {codec.parameters}")
    preferences = same[:1]
    rtx = next((c for c in capabilities if _is_rtx(c)), None)
    if kind == "video" and rtx is not None:
        preferences.append(rtx)
    return preferences


def single_codec(codecs: list[RTCRtpCodecParameters]) -> list[RTCRtpCodecParameters]:
    """Keep only the first media codec of a negotiated list and its RTX codec.

    Answering with one codec per section means the producer cannot switch codecs
    mid-stream, so what its consumers negotiated stays valid.
    """
    first = negotiated_codec(codecs)
    if first is None:
        return codecs
    rtx = [c for c in codecs if _is_rtx(c) and c.parameters.get("apt") == first.payloadType]
    return [first, *rtx[:1]]


def negotiated_codec(codecs: list[RTCRtpCodecParameters]) -> RTCRtpCodecParameters | None:
    """The media codec (not RTX) a transceiver negotiated: the first of its codecs."""
    return next((c for c in codecs if not _is_rtx(c)), None)


def remote_media_ssrcs(sdp: str) -> dict[str, int]:
    """Map each media section's mid to the primary (non-RTX) SSRC announced in ``sdp``."""
    ssrcs: dict[str, int] = {}
    for media in SdpDescription.parse(sdp).media:
        mid = media.rtp.muxId
        if not mid:
            continue
        fid = next((g for g in media.ssrc_group if g.semantic == "FID"), None)
        if fid is not None and fid.items:
            ssrcs[mid] = int(fid.items[0])
        elif media.ssrc:
            ssrcs[mid] = media.ssrc[0].ssrc
    return ssrcs


@dataclass(frozen=True)
class ForwarderStats:
    """Counters of one :class:`TrackForwarder`."""

    kind: str
    "``audio`` or ``video``."
    packets: int
    "Encoded frames read from the producer."
    keyframes: int
    "Of which key frames."
    keyframe_requests: int
    "PLIs sent to the producer."
    subscribers: int
    "Consumer tracks subscribed (paused or not)."
    paused: int = 0
    "Of which paused by their subscriber."
    muted_dropped: int = 0
    "Encoded frames read but forwarded to nobody because a moderator muted the track."


class TrackForwarder:
    """Forwards one producer track's encoded frames to any number of consumer tracks.

    **Parameters:**

    * **receiver** - the producer connection's receiver; call the constructor right after
      ``setRemoteDescription`` (before the connection starts the receiver).
    * **codec** - the codec the producer negotiated for this track.
    * **media_ssrc** - the producer's SSRC for PLI, if the SDP announced it.
    * **label** - identifies the forwarder in logs and task names.
    """

    def __init__(
        self,
        receiver: RTCRtpReceiver,
        codec: RTCRtpCodecParameters,
        *,
        media_ssrc: int | None = None,
        label: str = "",
        keyframe_interval: float = KEYFRAME_INTERVAL,
    ) -> None:
        if codec.mimeType.lower() not in passthrough.PASSTHROUGH_MIME_TYPES:
            raise ValueError(f"cannot forward {codec.mimeType} without transcoding")
        passthrough.prepare_receiver(receiver)
        self.kind: str = receiver.track.kind
        self.codec = codec
        self.label = label or f"{self.kind}-{id(self):x}"
        self._receiver = receiver
        self._media_ssrc = media_ssrc
        self._keyframe_interval = keyframe_interval
        self._sinks: list[ForwardedTrack] = []
        self._tasks = TaskSet(f"forwarder[{self.label}]")
        self._keyframe_pending = False
        self._keyframe_answered = True
        self._keyframes_wanted_after = 0
        self._last_keyframe_request = float("-inf")
        self._packets = 0
        self._keyframes = 0
        self._keyframe_requests = 0
        self._started = False
        self._closed = False
        self._muted = False
        self._muted_dropped = 0

    @property
    def muted(self) -> bool:
        """True while a moderator holds this track muted: no consumer gets its media."""
        return self._muted

    def set_muted(self, muted: bool) -> None:
        """Stop (or resume) feeding every consumer; video resumes at a new key frame."""
        if muted == self._muted:
            return
        self._muted = muted
        if self.kind == "video":
            for sink in self._sinks:  # a picture resumes at a key frame, never mid-stream
                sink._waiting_keyframe = True
        if not muted:
            self.request_keyframe()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def stats(self) -> ForwarderStats:
        """Current counters."""
        return ForwarderStats(
            kind=self.kind,
            packets=self._packets,
            keyframes=self._keyframes,
            keyframe_requests=self._keyframe_requests,
            subscribers=len(self._sinks),
            paused=sum(sink.paused for sink in self._sinks),
            muted_dropped=self._muted_dropped,
        )

    def start(self) -> None:
        """Start reading the producer track (once)."""
        if self._started or self._closed:
            return
        self._started = True
        self._tasks.spawn(self._run(), "read")

    def subscribe(self, *, paused: bool = False) -> ForwardedTrack:
        """A new consumer track fed from now on (unless ``paused``); video starts at the
        next key frame."""
        if self._closed:
            raise RuntimeError(f"forwarder {self.label} is closed")
        size = VIDEO_QUEUE_SIZE if self.kind == "video" else AUDIO_QUEUE_SIZE
        track = ForwardedTrack(self, maxsize=size)
        track.paused = paused
        self._sinks.append(track)
        # the key frame is asked for when the consumer's sender starts (ForwardedTrack.recv),
        # so that it comes when the connection is up rather than while DTLS is under way
        return track

    def unsubscribe(self, track: ForwardedTrack) -> None:
        """Stop feeding ``track`` and end it."""
        if track in self._sinks:
            self._sinks.remove(track)
        track.stop()

    def request_keyframe(self) -> None:
        """Ask the producer for a key frame (RTCP PLI), coalesced and rate-limited."""
        if self._closed or self.kind != "video":
            return
        # what the latest asker needs: a key frame newer than the ones seen so far
        self._keyframes_wanted_after = self._keyframes
        if self._keyframe_pending:
            return
        self._keyframe_pending = True
        loop = asyncio.get_running_loop()
        wait = KEYFRAME_SPACING if self._keyframe_answered else self._keyframe_interval
        delay = max(0.0, self._last_keyframe_request + wait - loop.time())
        self._tasks.spawn(self._send_pli(delay), "pli")

    async def _send_pli(self, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        self._keyframe_pending = False
        if self._keyframes > self._keyframes_wanted_after:
            return  # a key frame came after the latest request: every asker has it
        ssrc = self._media_ssrc
        if ssrc is None:
            sources = self._receiver.getSynchronizationSources()
            ssrc = sources[0].source if sources else None
        if ssrc is None:
            logger.debug("forwarder %s: no SSRC known yet, PLI skipped", self.label)
            return
        self._last_keyframe_request = asyncio.get_running_loop().time()
        self._keyframe_answered = False
        self._keyframe_requests += 1
        logger.debug("forwarder %s: PLI to ssrc %s", self.label, ssrc)
        await self._receiver._send_rtcp_pli(ssrc)

    async def _run(self) -> None:
        track = self._receiver.track
        warned = False
        try:
            while True:
                packet = await track.recv()
                if not isinstance(packet, av.Packet):
                    if not warned:
                        logger.error(
                            "forwarder %s: got a decoded %s; pass-through hooks missing",
                            self.label,
                            type(packet).__name__,
                        )
                        warned = True
                    continue
                self._packets += 1
                keyframe = bool(packet.is_keyframe)
                if keyframe:
                    self._keyframes += 1
                    self._keyframe_answered = True
                if self._muted:
                    self._muted_dropped += 1
                    continue
                for sink in tuple(self._sinks):
                    sink._push(packet, keyframe)
        except MediaStreamError:
            logger.debug("forwarder %s: producer track ended", self.label)
        finally:
            for sink in tuple(self._sinks):
                sink.stop()

    async def close(self) -> None:
        """Stop reading, end every consumer track and cancel pending requests. Idempotent."""
        self._closed = True
        await self._tasks.close()
        for sink in self._sinks:
            sink.stop()
        self._sinks.clear()


class ForwardedTrack(MediaStreamTrack):
    """A consumer's copy of a producer track: encoded packets in a bounded queue.

    When the queue is full, audio drops its oldest packet; video drops everything queued
    and waits for the next key frame (a partial video stream would not decode), asking
    the producer for one. A new video track also waits for a key frame.

    A paused track (:meth:`set_paused`) drops every packet; when resumed, video waits for
    the next key frame, which it asks the producer for.
    """

    def __init__(self, source: TrackForwarder, *, maxsize: int) -> None:
        super().__init__()
        self.kind = source.kind
        self.source = source
        self._queue: asyncio.Queue[EncodedPacket | None] = asyncio.Queue(maxsize)
        self._waiting_keyframe = self.kind == "video"
        self._receiving = False
        self.paused = False
        "True while the subscriber asked not to receive this track."
        self.dropped = 0
        "Packets dropped because the queue was full or no key frame came yet."
        self.paused_dropped = 0
        "Packets not forwarded because the track was paused."

    def set_paused(self, paused: bool) -> None:
        """Pause (drop everything from now on, and what is queued) or resume the track.

        Resuming video waits for a key frame and asks the producer for one at once, so
        the picture comes back within about a round trip plus one frame.
        """
        if paused == self.paused or self.readyState != "live":
            return
        self.paused = paused
        if paused:
            self.paused_dropped += self._drain()
            if self.kind == "video":
                self._waiting_keyframe = True
        elif self.kind == "video":
            self._waiting_keyframe = True
            self.source.request_keyframe()

    def _push(self, packet: EncodedPacket, keyframe: bool) -> None:
        if self.readyState != "live":
            return
        if self.paused:
            self.paused_dropped += 1
            return
        if self._waiting_keyframe:
            if not keyframe:
                self.dropped += 1
                return
            self._waiting_keyframe = False
        if self._queue.full():
            if self.kind == "video" and not keyframe:
                self.dropped += self._drain()
                self.dropped += 1
                self._waiting_keyframe = True
                self.source.request_keyframe()
                return
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(packet)

    def _drain(self) -> int:
        count = 0
        while not self._queue.empty():
            self._queue.get_nowait()
            count += 1
        return count

    def request_keyframe(self) -> None:
        """The consumer lost picture data (PLI/FIR): ask the producer for a key frame."""
        self.source.request_keyframe()

    async def recv(self) -> EncodedPacket:
        """The next encoded packet; raises ``MediaStreamError`` once the track ended."""
        if self.readyState != "live":
            raise MediaStreamError
        if not self._receiving:
            # The consumer's sender just started: make sure a key frame is on its way.
            self._receiving = True
            if self._waiting_keyframe and not self.paused:
                self.source.request_keyframe()
        packet = await self._queue.get()
        if packet is None:
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        """End the track and wake a pending :meth:`recv`. Idempotent."""
        if self.readyState == "live":
            super().stop()
            self._drain()
            self._queue.put_nowait(None)


def bind_sender(sender: RTCRtpSender, track: ForwardedTrack) -> None:
    """Make a consumer's ``sender`` forward ``track`` without an encoder.

    Call before the connection starts the sender (before ``setRemoteDescription``).
    PLI/FIR from the consumer become key frame requests to the producer.
    """
    passthrough.prepare_sender(sender, track.request_keyframe)
