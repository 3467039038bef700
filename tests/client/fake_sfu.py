"""An in-test stand-in for the Room API, signaling and the SFU, on 127.0.0.1.

It serves ``POST /rooms/{room}/join`` and a WebSocket at ``/ws`` that plays both signaling
and the SFU with real aiortc peer connections: it answers the producer offer, keeps the
producer's ``arbiter`` data channel, and offers the consumer connection carrying a real
video track (and a tone) from a pretend participant ``alice``.

Rooms: ``demo`` works; ``missing`` is 404 ``room_not_found``; ``garbage`` answers 200 with
a body that is not a ``JoinResponse``; ``hang`` never answers. Behaviour of the WebSocket
side is set on :class:`FakeServer` before joining.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)

from arbiter_client import TestPatternVideoTrack, ToneAudioTrack
from arbiter_protocol import Error as ErrorMessage
from arbiter_protocol import (
    ErrorBody,
    Handshake,
    IceCandidate,
    Identified,
    Identify,
    JoinRequest,
    JoinResponse,
    Message,
    ParticipantInfo,
    Resume,
    SessionDescription,
    SfuReady,
    TrackInfo,
    decode_body,
    encode_body,
    encode_message,
    parse_message,
)

ALICE = ParticipantInfo(id="alice", name="Alice")
CONSUMER_SIZE = (320, 240)


@dataclass
class Session:
    """One client's WebSocket connection and the fake SFU's peer connections for it."""

    ws: web.WebSocketResponse
    participant_id: str | None = None
    received: list[Message] = field(default_factory=list)
    producer: RTCPeerConnection | None = None
    consumers: list[RTCPeerConnection] = field(default_factory=list)
    consumer_answered: asyncio.Event = field(default_factory=asyncio.Event)
    channel: RTCDataChannel | None = None
    channel_open: asyncio.Event = field(default_factory=asyncio.Event)
    channel_messages: asyncio.Queue[str | bytes] = field(default_factory=asyncio.Queue)
    producer_tracks: list[MediaStreamTrack] = field(default_factory=list)
    identify_seen: asyncio.Event = field(default_factory=asyncio.Event)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, message: Message) -> None:
        await self.ws.send_str(encode_message(message))


class FakeServer:
    """The fake Room API + signaling + SFU. ``url`` is the base (``http://127.0.0.1:PORT``)."""

    def __init__(self) -> None:
        self.sfu_ready = True
        "Whether ``identified`` says the SFU is ready (else ``sfu_ready`` follows it)."
        self.identify_error: str | None = None
        "Answer ``identify`` with an ``error`` of this code."
        self.hang_identify = False
        "Never answer ``identify``."
        self.present: list[ParticipantInfo] = [ALICE]
        "Who is in the room already."
        self.offer_consumer = True
        "Whether to offer a consumer for ``alice`` after the producer is answered."
        self.resume: str = "refuse"
        """How ``resume`` (with the refresh credential) is answered: ``refuse``
        (``unauthorized``), ``accept`` (the same participant), ``fail`` (``internal_error``)
        or ``hang``."""
        self.resumed: bool | None = None
        "Force ``identified.resumed``; by default true when the participant had a session."
        self.resume_sfu_ready: bool | None = None
        """``identified.sfu_ready`` of an accepted resume, with no ``sfu_ready`` after it
        (``False``: the SFU's own socket is away); by default as ``sfu_ready``."""
        self.refuse_offers = 0
        """Answer this many producer offers with ``sfu_unavailable`` (the SFU's socket went
        away under them), each followed by ``sfu_ready`` (it is back)."""
        self.trickle = False
        "Also send every SDP candidate as a trickled ``handshake`` (consumer: before the offer)."
        self.sessions: list[Session] = []
        self.new_session = asyncio.Event()
        self.join_requests: list[JoinRequest] = []
        self.resumes: list[Resume] = []
        "Every ``resume`` received, in order."
        self._ids = itertools.count(1)
        self._hang = asyncio.Event()
        self._tracks: list[MediaStreamTrack] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def room_url(self, room: str = "demo") -> str:
        return f"{self.url}/rooms/{room}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/rooms/{room}/join", self._join)
        app.router.add_get("/ws", self._ws)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._hang.set()
        for session in self.sessions:
            pcs = [*session.consumers, *([session.producer] if session.producer else [])]
            await asyncio.gather(*(pc.close() for pc in pcs), return_exceptions=True)
        for track in self._tracks:
            track.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---------------------------------------------------------------- HTTP

    async def _join(self, request: web.Request) -> web.Response:
        room = request.match_info["room"]
        raw = await request.read()
        if room == "hang":
            await self._hang.wait()
        if room == "missing":
            error = ErrorBody(code="room_not_found", message=f"room {room!r} does not exist")
            return web.Response(
                status=404, text=encode_body(error), content_type="application/json"
            )
        if room == "garbage":
            return web.Response(text='{"hello": 1}', content_type="application/json")
        request = decode_body(JoinRequest, raw)
        self.join_requests.append(request)
        pid = f"p{next(self._ids)}"
        response = JoinResponse(
            room_id=room,
            participant_id=pid,
            token=f"token-{pid}",
            signaling_url=f"ws://127.0.0.1:{self.port}/ws",
            ice_servers=[],
            expires_at=int(time.time()) + 600,
            refresh_token=f"refresh-{pid}",
            refresh_expires_at=int(time.time()) + 3600,
            session_expires_at=int(time.time()) + 43200,
        )
        return web.Response(text=encode_body(response), content_type="application/json")

    # ---------------------------------------------------------------- WebSocket

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = Session(ws)
        self.sessions.append(session)
        self.new_session.set()
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                message = parse_message(msg.data)
                session.received.append(message)
                await self._handle(session, message)
        finally:
            session.closed.set()
        return ws

    async def _handle(self, session: Session, message: Message) -> None:
        if isinstance(message, Resume):
            self.resumes.append(message)
            if self.resume == "hang":
                await self._hang.wait()
                return
            if self.resume != "accept":
                code = "unauthorized" if self.resume == "refuse" else "internal_error"
                await session.send(
                    ErrorMessage(code=code, message=f"resume: {self.resume}", ref="resume")
                )
                return
            pid = message.refresh_token.removeprefix("refresh-").split(".")[0]
            await self._identified(
                session, pid, f"refresh-{pid}.{len(self.resumes)}", self.resume_sfu_ready
            )
        elif isinstance(message, Identify):
            session.identify_seen.set()
            if self.hang_identify:
                return
            if self.identify_error is not None:
                await session.send(
                    ErrorMessage(code=self.identify_error, message="no", ref="identify")
                )
                return
            await self._identified(session, message.token.removeprefix("token-"), None)
        elif isinstance(message, Handshake) and message.sdp is not None:
            if message.connection == "producer" and self.refuse_offers > 0:
                self.refuse_offers -= 1
                await session.send(
                    ErrorMessage(
                        code="sfu_unavailable", message="the SFU went away", ref="handshake"
                    )
                )
                await session.send(SfuReady(room_id="demo"))
            elif message.connection == "producer":
                await self._answer_producer(session, message.sdp)
            else:
                assert session.consumers, "consumer answer without an offer"
                pc = session.consumers[-1]
                await pc.setRemoteDescription(
                    RTCSessionDescription(sdp=message.sdp.sdp, type=message.sdp.type)
                )
                session.consumer_answered.set()

    async def _identified(
        self, session: Session, pid: str, refresh: str | None, sfu_ready: bool | None = None
    ) -> None:
        """Answer an identify or an accepted resume (``sfu_ready``: see ``resume_sfu_ready``)."""
        session.participant_id = pid
        resumed = any(
            other.participant_id == session.participant_id
            for other in self.sessions
            if other is not session
        )
        if self.resumed is not None and resumed:
            resumed = self.resumed
        await session.send(
            Identified(
                room_id="demo",
                role="participant",
                sfu_ready=self.sfu_ready if sfu_ready is None else sfu_ready,
                participants=list(self.present),
                participant_id=session.participant_id,
                resumed=resumed,
                refresh_token=refresh,
                refresh_expires_at=int(time.time()) + 3600 if refresh else None,
            )
        )
        if not self.sfu_ready and sfu_ready is None:
            await session.send(SfuReady(room_id="demo"))

    async def _answer_producer(self, session: Session, offer: SessionDescription) -> None:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        session.producer = pc

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            session.channel = channel
            session.channel_open.set()
            channel.on("message", session.channel_messages.put_nowait)

        pc.on("track", session.producer_tracks.append)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await session.send(
            Handshake(
                connection="producer",
                participant_id=session.participant_id,
                sdp=SessionDescription(type="answer", sdp=pc.localDescription.sdp),
            )
        )
        if self.trickle:
            for candidate in [*sdp_candidates(pc.localDescription.sdp), IceCandidate("")]:
                await session.send(Handshake(connection="producer", candidate=candidate))
        if self.offer_consumer:
            await self.offer_consumer_to(session, ALICE.id)

    async def offer_consumer_to(self, session: Session, producer_id: str) -> None:
        """Offer ``session`` a consumer connection carrying ``producer_id``'s test pattern
        (its ``camera``) and tone (its ``microphone``)."""
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        session.consumers.append(pc)
        video = TestPatternVideoTrack(size=CONSUMER_SIZE, fps=30)
        audio = ToneAudioTrack()
        self._tracks += [video, audio]
        sections = [
            (pc.addTransceiver(video, direction="sendonly"), "camera", "camera"),
            (pc.addTransceiver(audio, direction="sendonly"), "microphone", "microphone"),
        ]
        await pc.setLocalDescription(await pc.createOffer())
        tracks = [
            TrackInfo(
                id=track_id,
                kind="video" if t.kind == "video" else "audio",
                source=source,  # type: ignore[arg-type]
                mid=t.mid,
                participant_id=producer_id,
            )
            for t, track_id, source in sections
        ]
        candidates = sdp_candidates(pc.localDescription.sdp) if self.trickle else []
        for candidate in candidates:  # before the offer: the client must keep them
            await session.send(Handshake(connection="consumer", candidate=candidate))
        await session.send(
            Handshake(
                connection="consumer",
                participant_id=session.participant_id,
                sdp=SessionDescription(type="offer", sdp=pc.localDescription.sdp),
                tracks=tracks,
            )
        )
        if candidates:
            await session.send(Handshake(connection="consumer", candidate=IceCandidate("")))


def sdp_candidates(sdp: str) -> list[IceCandidate]:
    """The ``a=candidate`` lines of ``sdp`` as trickled candidates, with their mid."""
    found, mid = [], None
    for line in sdp.splitlines():
        if line.startswith("a=mid:"):
            mid = line.removeprefix("a=mid:")
        elif line.startswith("a=candidate:"):
            found.append(IceCandidate(candidate=line.removeprefix("a="), sdpMid=mid))
    return found
