"""A cheap bot for full rooms: it publishes a small pre-encoded VP8 clip (no encoder; as
the benchmarks' lean publishers) and, optionally, an audio track, and receives nothing
(its token has no ``subscribe``), speaking docs/signaling.md with ``arbiter_protocol``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from websockets.asyncio.client import ClientConnection, connect

from arbiter_client import ToneAudioTrack
from arbiter_protocol import (
    MAX_MESSAGE_BYTES,
    Handshake,
    Identified,
    Identify,
    SessionDescription,
    SfuReady,
    TrackInfo,
    encode_message,
    parse_message,
)
from benchmarks.media import Clip, ClipTrack, bind_publisher_sender, encode_clip

__all__ = ["LeanBot", "small_clip"]


def small_clip() -> Clip:
    """30 frames of 160x120 VP8 at 10 fps, about 60 kbit/s (encoded once, in a few ms)."""
    return encode_clip(frames=30, width=160, height=120, fps=10, bitrate=60_000)


class LeanBot:
    """One participant publishing ``clip`` (and a silent tone, with ``audio``)."""

    def __init__(self, room_url: str, name: str, clip: Clip, *, audio: bool = False) -> None:
        self.room_url = room_url
        self.name = name
        self.video = ClipTrack(clip, stream_id=abs(hash(name)) % 1000)
        self.audio: MediaStreamTrack | None = ToneAudioTrack(volume=0.0) if audio else None
        self.participant_id = ""
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._audio_sender: RTCRtpSender | None = None

    async def join(self) -> None:
        """Join and publish; returns once the producer connection is up."""
        async with httpx.AsyncClient() as http:
            reply = await http.post(
                f"{self.room_url}/join", json={"name": self.name, "grants": ["publish", "data"]}
            )
        reply.raise_for_status()
        info: dict[str, Any] = reply.json()
        self.participant_id = info["participant_id"]
        self._ws = await connect(info["signaling_url"], max_size=MAX_MESSAGE_BYTES)
        await self._ws.send(encode_message(Identify(token=info["token"])))
        while True:
            message = parse_message(await self._ws.recv())
            if (isinstance(message, Identified) and message.sfu_ready) or isinstance(
                message, SfuReady
            ):
                break
        self._reader = asyncio.create_task(self._read())
        tracks = []
        if self.audio is not None:
            transceiver = self.pc.addTransceiver(self.audio, direction="sendonly")
            self._audio_sender = transceiver.sender
            tracks.append(
                (transceiver, TrackInfo(id="microphone", kind="audio", source="microphone"))
            )
        video = self.pc.addTransceiver(self.video, direction="sendonly")
        caps = RTCRtpSender.getCapabilities("video")
        video.setCodecPreferences([c for c in caps.codecs if c.mimeType.lower() == "video/vp8"])
        bind_publisher_sender(video.sender, self.video)
        tracks.append((video, TrackInfo(id="camera", kind="video", source="camera")))
        self.pc.createDataChannel("arbiter")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        named = [TrackInfo(id=i.id, kind=i.kind, source=i.source, mid=t.mid) for t, i in tracks]
        await self._ws.send(
            encode_message(
                Handshake(
                    connection="producer",
                    sdp=SessionDescription(type="offer", sdp=self.pc.localDescription.sdp),
                    tracks=named,
                )
            )
        )
        answer = await asyncio.wait_for(self._answer, 20)
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    def speak(self, on: bool) -> None:
        """Turn the tone on (loud enough to be an active speaker) or off (silence)."""
        assert self._audio_sender is not None, "a bot made without audio"
        self._audio_sender.replaceTrack(ToneAudioTrack(volume=0.3 if on else 0.0))

    async def _read(self) -> None:
        assert self._ws is not None
        with contextlib.suppress(Exception):
            async for raw in self._ws:
                message = parse_message(raw)
                if isinstance(message, Handshake) and message.connection == "producer":
                    if message.sdp is not None and not self._answer.done():
                        self._answer.set_result(message.sdp.sdp)

    async def close(self) -> None:
        """Leave: close the socket (the room hears it at once) and the connection."""
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.send('{"action":"leave","v":1}')
            await self._ws.close()
        await self.pc.close()
