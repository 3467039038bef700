"""Test clients for the SFU: real aiortc peers that publish and subscribe over loopback UDP.

A :class:`Peer` publishes a test-pattern video track (its own size and luma, so received
frames can be attributed to their producer) and an audio track on a producer connection
with the ``arbiter`` data channel, and answers the SFU's offers on its one consumer
connection, decoding what it receives and attributing each frame to the participant whose
track the offer said that media section carries. It talks to the SFU through ``send``;
whatever routes the SFU's messages back calls :meth:`Peer.deliver`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from av import AudioFrame, VideoFrame

from arbiter_protocol import (
    DataMessage,
    Error,
    Handshake,
    IceCandidate,
    Message,
    SessionDescription,
    TrackInfo,
    TrackState,
    encode_message,
    parse_message,
)

logger = logging.getLogger(__name__)

SendToSfu = Callable[[Message], Awaitable[None]]


def split_candidates(sdp: str) -> tuple[str, list[IceCandidate]]:
    """Remove the candidates from ``sdp``, as a trickling browser would send it.

    Returns the SDP and the first media section's candidates (the BUNDLE transport), then
    an end-of-candidates marker.
    """
    lines, candidates = [], []
    mline = -1
    mid: str | None = None
    for line in sdp.splitlines():
        if line.startswith("m="):
            mline += 1
        elif line.startswith("a=mid:"):
            mid = line[len("a=mid:") :]
        if line.startswith(("a=candidate:", "a=end-of-candidates")):
            if mline == 0 and line.startswith("a=candidate:"):
                candidates.append(IceCandidate(candidate=line[2:], sdpMid=mid, sdpMLineIndex=0))
            continue
        lines.append(line)
    first_mid = candidates[0].sdpMid if candidates else "0"
    candidates.append(IceCandidate(candidate="", sdpMid=first_mid, sdpMLineIndex=0))
    return "\r\n".join(lines) + "\r\n", candidates


class PatternVideoTrack(VideoStreamTrack):
    """30 fps frames of one size with a flat luma and a moving bar (so VP8 has work)."""

    def __init__(self, width: int, height: int, luma: int) -> None:
        super().__init__()
        self.width, self.height, self.luma = width, height, luma
        self._count = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        planes = np.full((self.height * 3 // 2, self.width), 128, dtype=np.uint8)
        planes[: self.height] = self.luma
        x = (self._count * 4) % self.width
        planes[: self.height // 8, x : x + 8] = 255 - self.luma
        self._count += 1
        frame = VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.pts, frame.time_base = pts, time_base
        return frame


@dataclass
class Received:
    """What a peer received from one producer."""

    video_frames: int = 0
    audio_frames: int = 0
    sizes: set[tuple[int, int]] = field(default_factory=set)
    lumas: list[float] = field(default_factory=list)
    first_video_at: float | None = None
    video_times: list[float] = field(default_factory=list)
    "When each decoded video frame arrived (loop time)."
    last_size: tuple[int, int] | None = None
    "Size of the latest decoded video frame."
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class Peer:
    """One test participant. See the module docstring."""

    def __init__(
        self,
        participant_id: str,
        send: SendToSfu,
        *,
        size: tuple[int, int] = (320, 240),
        luma: int = 128,
        audio: bool = True,
        video: bool = True,
        trickle: bool = False,
        video_codecs: tuple[str, ...] | None = None,
        tracks: list[TrackInfo] | None = None,
    ) -> None:
        self.id = participant_id
        self.send = send
        self.size = size
        self.luma = luma
        self.with_audio = audio
        self.with_video = video
        self.trickle = trickle
        self.video_codecs = video_codecs
        "MIME types the producer offers for video, in order (``None``: aiortc's default)."
        self.tracks = tracks
        "What the producer offer says of its tracks (``None``: nothing, the SFU names them)."
        self.producer: RTCPeerConnection | None = None
        self.channel: RTCDataChannel | None = None
        self.channel_open = asyncio.Event()
        self.consumer: RTCPeerConnection | None = None
        "The one consumer connection (the SFU offers it again as tracks change)."
        self.offers: list[Handshake] = []
        "Consumer offers received, in order."
        self.mid_owner: dict[str, TrackInfo] = {}
        "What each consumer media section carries, as the latest offer said."
        self.consumer_connected: dict[str, asyncio.Event] = {}
        "Per publisher: set once a section carrying its track is negotiated and connected."
        self.consumer_connected_at: dict[str, float] = {}
        "When that happened (loop time)."
        self._connected = asyncio.Event()
        self.received: dict[str, Received] = {}
        self.data: list[DataMessage] = []
        self.errors: list[Error] = []
        self.track_states: list[TrackState] = []
        self.data_event = asyncio.Event()
        self._inbox: asyncio.Queue[Message] = asyncio.Queue(maxsize=1000)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._spawn(self._run_inbox())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def got(self, producer_id: str) -> Received:
        return self.received.setdefault(producer_id, Received())

    # -- producer --------------------------------------------------------------------

    async def publish(self) -> None:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.producer = pc
        if self.with_audio:
            pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
        if self.with_video:
            video = pc.addTransceiver(
                PatternVideoTrack(*self.size, self.luma), direction="sendonly"
            )
            if self.video_codecs is not None:
                capabilities = RTCRtpSender.getCapabilities("video").codecs
                video.setCodecPreferences(
                    [
                        c
                        for mime in (*self.video_codecs, "video/rtx")
                        for c in capabilities
                        if c.mimeType.lower() == mime.lower()
                    ]
                )
        channel = pc.createDataChannel("arbiter")
        self.channel = channel
        channel.on("open", self.channel_open.set)
        channel.on("message", self._on_channel_message)
        offer = await pc.createOffer()
        await pc.setLocalDescription(offer)
        await self._send_description("producer", "offer", pc.localDescription.sdp, self.tracks)

    async def _send_description(
        self,
        connection: Literal["producer", "consumer"],
        kind: Literal["offer", "answer"],
        sdp: str,
        tracks: list[TrackInfo] | None = None,
    ) -> None:
        """Send an SDP; with ``trickle``, without candidates, which follow one by one."""
        candidates: list[IceCandidate] = []
        if self.trickle:
            sdp, candidates = split_candidates(sdp)
        await self.send(
            Handshake(
                connection=connection, sdp=SessionDescription(type=kind, sdp=sdp), tracks=tracks
            )
        )
        for candidate in candidates:
            await self.send(Handshake(connection=connection, candidate=candidate))

    def send_data(self, raw: str) -> None:
        assert self.channel is not None
        self.channel.send(raw)

    def send_message(self, message: Message) -> None:
        self.send_data(encode_message(message))

    def _on_channel_message(self, raw: str | bytes) -> None:
        message = parse_message(raw)
        if isinstance(message, DataMessage):
            self.data.append(message)
        elif isinstance(message, Error):
            self.errors.append(message)
        elif isinstance(message, TrackState):
            self.track_states.append(message)
        self.data_event.set()

    async def wait_data(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async def wait() -> None:
            while not predicate():
                self.data_event.clear()
                await self.data_event.wait()

        await asyncio.wait_for(wait(), timeout)

    # -- messages from the SFU ---------------------------------------------------------

    def deliver(self, message: Message) -> None:
        self._inbox.put_nowait(message)

    async def _run_inbox(self) -> None:
        while True:
            message = await self._inbox.get()
            try:
                await self._handle(message)
            except Exception:
                logger.exception("peer %s: handling %s failed", self.id, message.action)

    async def _handle(self, message: Message) -> None:
        if not isinstance(message, Handshake) or message.sdp is None:
            return
        if message.connection == "producer":
            assert self.producer is not None
            await self.producer.setRemoteDescription(
                RTCSessionDescription(sdp=message.sdp.sdp, type=message.sdp.type)
            )
            return
        assert message.sdp.type == "offer"
        self.offers.append(message)
        loop = asyncio.get_running_loop()
        pc = self.consumer
        if pc is None:
            # max-bundle: aiortc 1.16's default (balanced) policy leaves the second media
            # section of a kind offered at once on a transport that BUNDLE then drops
            pc = self.consumer = RTCPeerConnection(
                RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
            )

            def on_state() -> None:
                if pc.connectionState == "connected" and not self._connected.is_set():
                    self._connected.set()
                    for owner in {info.participant_id for info in self.mid_owner.values()}:
                        if owner is not None:
                            self._mark_connected(owner, loop.time())

            pc.on("connectionstatechange", on_state)
            pc.on("track", lambda track: self._spawn(self._read(pc, track)))
        previous = {(t.participant_id, t.id) for t in self.mid_owner.values()}
        self.mid_owner = {t.mid: t for t in message.tracks or [] if t.mid is not None}
        await pc.setRemoteDescription(RTCSessionDescription(sdp=message.sdp.sdp, type="offer"))
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        await self._send_description("consumer", "answer", pc.localDescription.sdp)
        if self._connected.is_set():
            for info in self.mid_owner.values():
                if (info.participant_id, info.id) not in previous and info.participant_id:
                    self._mark_connected(info.participant_id, loop.time())

    def _mark_connected(self, participant_id: str, at: float) -> None:
        event = self.consumer_connected.setdefault(participant_id, asyncio.Event())
        if not event.is_set():
            self.consumer_connected_at[participant_id] = at
            event.set()

    async def _read(self, pc: RTCPeerConnection, track: MediaStreamTrack) -> None:
        mid = next((t.mid for t in pc.getTransceivers() if t.receiver.track is track), None)
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await track.recv()
                info = self.mid_owner.get(mid or "")
                if info is None or info.participant_id is None:
                    continue  # a section that carries nothing now
                got = self.got(info.participant_id)
                if isinstance(frame, VideoFrame):
                    if got.first_video_at is None:
                        got.first_video_at = loop.time()
                    got.video_frames += 1
                    got.video_times.append(loop.time())
                    got.sizes.add((frame.width, frame.height))
                    got.last_size = (frame.width, frame.height)
                    if len(got.lumas) < 10:
                        luma = frame.to_ndarray(format="yuv420p")[: frame.height]
                        got.lumas.append(float(np.median(luma)))
                elif isinstance(frame, AudioFrame):
                    got.audio_frames += 1
                got.changed.set()
        except MediaStreamError:
            pass

    async def wait_media(
        self, producer_id: str, video: int = 10, audio: int = 10, timeout: float = 10.0
    ) -> Received:
        got = self.got(producer_id)

        async def wait() -> None:
            while got.video_frames < video or got.audio_frames < audio:
                got.changed.clear()
                await got.changed.wait()

        try:
            await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"{self.id} got {got.video_frames} video / {got.audio_frames} audio frames "
                f"from {producer_id} in {timeout} s"
            ) from None
        return got

    async def wait_until(
        self, producer_id: str, predicate: Callable[[Received], bool], timeout: float = 5.0
    ) -> Received:
        """Wait until ``predicate(self.got(producer_id))`` holds after a new frame."""
        got = self.got(producer_id)

        async def wait() -> None:
            while not predicate(got):
                got.changed.clear()
                await got.changed.wait()

        await asyncio.wait_for(wait(), timeout)
        return got

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        for pc in [self.producer, self.consumer]:
            if pc is not None:
                await pc.close()
