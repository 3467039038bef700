"""The SFUs under test, each driven by the same lean aiortc peers.

A target starts its server process(es), adds publishers (a :class:`~.media.ClipTrack`
each) and subscribers (one :class:`~.media.StreamCounter` per received video stream), and
stops everything it started. ``pids()`` are the processes whose CPU and memory count as
"the SFU".
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp
import aioice.ice
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)

from .lean_rx import lean_receive
from .media import (
    BarCodeProbe,
    ClipTrack,
    PublisherLog,
    StreamCounter,
    bind_publisher_sender,
    now_ns,
)
from .procs import Children, wait_port_file

logger = logging.getLogger("benchmarks")

ROOT = Path(__file__).resolve().parent.parent


_ORIGINAL_HOST_ADDRESSES = aioice.ice.get_host_addresses


def media_address() -> str:
    """The host IPv4 address all media uses (see :func:`pin_media_address`)."""
    addresses = _ORIGINAL_HOST_ADDRESSES(True, False)
    if not addresses:
        raise RuntimeError("no non-loopback IPv4 address for ICE host candidates")
    return str(addresses[0])


def pin_media_address(ip: str) -> None:
    """Make this process's aiortc peers gather one host candidate, on ``ip``.

    Neither aioice (aiortc, hence the Arbiter SFU) nor libnice (Janus) ever gathers
    127.0.0.1, and Linux drops packets between 127.0.0.1 and another address, so media
    uses one of the host's own addresses: the kernel still delivers it over ``lo``.
    """
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [ip]


def _config() -> RTCConfiguration:
    return RTCConfiguration(iceServers=[])


def _consumer_config() -> RTCConfiguration:
    """max-bundle: aiortc's default policy loses the second same-kind section of an offer."""
    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


def publisher_pc(track: ClipTrack) -> RTCPeerConnection:
    pc = RTCPeerConnection(_config())
    transceiver = pc.addTransceiver(track, direction="sendonly")
    caps = RTCRtpSender.getCapabilities("video")
    transceiver.setCodecPreferences([c for c in caps.codecs if c.mimeType.lower() == "video/vp8"])
    bind_publisher_sender(transceiver.sender, track)
    return pc


def install_counters(
    pc: RTCPeerConnection,
    label: str,
    joined_at: int,
    logs_by_mid: dict[str, PublisherLog | None],
    probe_for: PublisherLog | None = None,
    only: set[str] | None = None,
) -> list[StreamCounter]:
    """One counter per video receiver of ``pc`` (after setRemoteDescription); ``only``:
    just the receivers of these media sections."""
    counters = []
    for transceiver in pc.getTransceivers():
        if transceiver.kind != "video":
            continue
        if only is not None and transceiver.mid not in only:
            continue
        log = logs_by_mid.get(transceiver.mid or "")
        probe = None
        holder: list[StreamCounter] = []
        if probe_for is not None and log is probe_for:
            probe = BarCodeProbe(log, holder)
        counter = StreamCounter(f"{label}/{transceiver.mid}", probe=probe)
        holder.append(counter)
        counter.joined_at = joined_at
        counter.publisher_log = log  # type: ignore[attr-defined]
        counter.probe = probe  # type: ignore[attr-defined]
        counter.install(transceiver.receiver)
        counters.append(counter)
    return counters


def mark_connected(pc: RTCPeerConnection, counters: list[StreamCounter]) -> None:
    """Note on ``counters`` when ``pc`` connects (ICE and DTLS up): first key frames are
    measured from there."""

    def on_state() -> None:
        if pc.connectionState == "connected":
            at = now_ns()
            for counter in counters:
                if counter.connected_at is None:
                    counter.connected_at = at

    pc.on("connectionstatechange", on_state)


async def wait_connected(pc: RTCPeerConnection, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while pc.connectionState != "connected":
        if (
            pc.connectionState in ("failed", "closed")
            or asyncio.get_running_loop().time() > deadline
        ):
            raise RuntimeError(f"publisher connection {pc.connectionState}")
        await asyncio.sleep(0.02)


class Target:
    name = "?"
    passthrough = True
    "The trailer survives (the SFU forwards the encoded frame unchanged)."

    def __init__(self, children: Children, workdir: Path) -> None:
        self.children = children
        self.workdir = workdir
        self.pcs: list[RTCPeerConnection] = []
        self.counters: list[StreamCounter] = []
        self.publishers: list[ClipTrack] = []
        self.participants = 0

    async def start(self) -> None: ...

    def pids(self) -> list[int]:
        return []

    async def add_publisher(self, track: ClipTrack) -> None: ...

    async def add_subscriber(self, probe: bool = False) -> list[StreamCounter]: ...

    async def stop(self) -> None:
        pcs, self.pcs = self.pcs, []
        await asyncio.gather(*(pc.close() for pc in pcs), return_exceptions=True)
        for track in self.publishers:
            track.stop()


# -- direct: no SFU (the generator's own latency, the baseline for "added" latency) --------


class DirectTarget(Target):
    name = "direct"

    def __init__(self, children: Children, workdir: Path) -> None:
        super().__init__(children, workdir)
        self._subs = itertools.count()
        self._sources: list[ClipTrack] = []

    async def add_publisher(self, track: ClipTrack) -> None:
        self._sources.append(track)

    async def add_subscriber(self, probe: bool = False) -> list[StreamCounter]:
        joined = now_ns()
        out = []
        n = next(self._subs)
        for i, track in enumerate(list(self._sources)):
            # The sender owns its track: one publisher connection and clip per subscription.
            own = ClipTrack(track.clip, 10_000 + n * 16 + i)
            self.publishers.append(own)
            pub = publisher_pc(own)
            sub = RTCPeerConnection(_config())
            lean_receive(sub)
            self.pcs += [pub, sub]
            await pub.setLocalDescription(await pub.createOffer())
            await sub.setRemoteDescription(pub.localDescription)
            counters = install_counters(
                sub, f"direct{n}", joined, {t.mid or "": own.log for t in sub.getTransceivers()}
            )
            await sub.setLocalDescription(await sub.createAnswer())
            await pub.setRemoteDescription(sub.localDescription)
            out += counters
        self.counters += out
        self.participants += 1
        return out


# -- Arbiter: the local stack (gateway in this process, SFU subprocess) -------------------


class ArbiterTarget(Target):
    name = "arbiter"
    sitecustomize_dir: Path | None = None
    "Experiments only: a directory with a sitecustomize.py put on the SFU's PYTHONPATH."

    def __init__(self, children: Children, workdir: Path) -> None:
        super().__init__(children, workdir)
        self.stack: Any = None
        self.room_url = ""
        self._n = itertools.count()
        self._clients: list[_ArbiterClient] = []
        self._http: aiohttp.ClientSession | None = None
        self.logs_by_participant: dict[str, PublisherLog] = {}

    async def start(self) -> None:
        from arbiter_server.local import LocalStack, LocalStackConfig

        self.stack = LocalStack(
            LocalStackConfig(
                data_dir=self.workdir / "arbiter", port=0, pool_size=0, log_level="warning"
            )
        )
        await self.stack.start()
        # A room holds 16 participants by default (ARBITER_MAX_PARTICIPANTS in deployments),
        # every signaling connection, the SFU's included, may send 120 messages per 10 s,
        # and one client address may POST /join 30 times a minute. The benchmark measures
        # one SFU process's forwarding capacity with up to a thousand joins in bursts from
        # one address, so it lifts all three (configuration, not code).
        settings = self.stack.services.settings
        settings.max_participants = 10_000
        settings.rate_limit = 1_000_000
        settings.join_rate_limit = 1_000_000
        saved = os.environ.get("PYTHONPATH")
        if self.sitecustomize_dir is not None:  # the SFU subprocess inherits os.environ
            os.environ["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(self.sitecustomize_dir), saved) if p
            )
        try:
            self.room_url = await self.stack.create_room("bench")
        finally:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved
        for pid in self.stack.launcher.pids():
            self.children.adopt(pid)
        self._http = aiohttp.ClientSession()
        # The SFU identifies asynchronously; joins wait for sfu_ready anyway.

    def pids(self) -> list[int]:
        return list(self.stack.launcher.pids()) if self.stack and self.stack.launcher else []

    async def _join(self, name: str, track: ClipTrack | None, probe: bool) -> _ArbiterClient:
        assert self._http is not None
        client = _ArbiterClient(self, name, track)
        self._clients.append(client)
        await client.join(self._http)
        self.participants += 1
        return client

    async def add_publisher(self, track: ClipTrack) -> None:
        self.publishers.append(track)
        client = await self._join(f"pub{track.log.stream_id}", track, False)
        self.logs_by_participant[client.participant_id] = track.log

    async def add_subscriber(self, probe: bool = False) -> list[StreamCounter]:
        client = await self._join(f"sub{next(self._n)}", None, probe)
        expected = len(self.publishers)
        deadline = asyncio.get_running_loop().time() + 15
        while len(client.counters) < expected and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        return client.counters

    async def stop(self) -> None:
        for client in self._clients:
            await client.close()
        await super().stop()
        if self._http is not None:
            await self._http.close()
        if self.stack is not None:
            await self.stack.stop()


class _ArbiterClient:
    """A lean participant speaking docs/signaling.md with ``arbiter_protocol``."""

    def __init__(self, target: ArbiterTarget, name: str, track: ClipTrack | None) -> None:
        self.target = target
        self.name = name
        self.track = track
        self.participant_id = ""
        self.counters: list[StreamCounter] = []
        self.ws: Any = None
        self.producer: RTCPeerConnection | None = None
        self.task: asyncio.Task[None] | None = None
        self.joined_at = 0
        self.connected_at: int | None = None
        "When its consumer connection connected (DTLS up), perf_counter ns."
        self._producer_answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._keepalive: Any = None
        self._keepalive_task: asyncio.Task[None] | None = None

    async def join(self, http: aiohttp.ClientSession) -> None:
        from websockets.asyncio.client import connect

        from arbiter_protocol import (
            MAX_MESSAGE_BYTES,
            Handshake,
            Identified,
            Identify,
            SessionDescription,
            SfuReady,
            encode_message,
            parse_message,
        )
        from arbiter_rtc.keepalive import SocketKeepalive

        self.joined_at = now_ns()
        async with http.post(f"{self.target.room_url}/join", json={"name": self.name}) as resp:
            resp.raise_for_status()
            info = await resp.json()
        self.participant_id = info["participant_id"]
        self.ws = await connect(info["signaling_url"], max_size=MAX_MESSAGE_BYTES)
        await self.ws.send(encode_message(Identify(token=info["token"])))
        idle_timeout: int | None = None
        while True:
            msg = parse_message(await self.ws.recv())
            if isinstance(msg, Identified):
                idle_timeout = msg.idle_timeout
                if msg.sfu_ready:
                    break
            elif isinstance(msg, SfuReady):
                break
        # A quiet socket is closed after the idle timeout (as API Gateway does): keep it busy
        # like every real client, or a run longer than 10 minutes loses its participants.
        self._keepalive = SocketKeepalive(idle_timeout, self._send, self._socket_dead)
        self._keepalive_task = asyncio.create_task(self._keepalive.run())
        self.task = asyncio.create_task(self._run())
        pc = self.producer = RTCPeerConnection(_config())
        self.target.pcs.append(pc)
        if self.track is not None:
            transceiver = pc.addTransceiver(self.track, direction="sendonly")
            caps = RTCRtpSender.getCapabilities("video")
            transceiver.setCodecPreferences(
                [c for c in caps.codecs if c.mimeType.lower() == "video/vp8"]
            )
            bind_publisher_sender(transceiver.sender, self.track)
        pc.createDataChannel("arbiter")
        await pc.setLocalDescription(await pc.createOffer())
        await self.ws.send(
            encode_message(
                Handshake(
                    connection="producer",
                    sdp=SessionDescription(type="offer", sdp=pc.localDescription.sdp),
                )
            )
        )
        answer = await asyncio.wait_for(self._producer_answer, 15)
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        if self.track is not None:
            await wait_connected(pc)
        self._Handshake = Handshake
        self._SessionDescription = SessionDescription
        self._encode = encode_message

    async def _send(self, message: Any) -> None:
        from arbiter_protocol import encode_message

        await self.ws.send(encode_message(message))

    def _socket_dead(self, reason: str) -> None:
        logger.error("arbiter client %s: signaling socket dead: %s", self.name, reason)

    async def _run(self) -> None:
        from arbiter_protocol import Handshake, SessionDescription, encode_message, parse_message

        consumer: RTCPeerConnection | None = None
        counted: set[str] = set()
        try:
            async for raw in self.ws:
                msg = parse_message(raw)
                if self._keepalive is not None:
                    self._keepalive.heard()
                if not isinstance(msg, Handshake) or msg.sdp is None:
                    continue
                if msg.connection == "producer":
                    if not self._producer_answer.done():
                        self._producer_answer.set_result(msg.sdp.sdp)
                    continue
                # the one consumer connection, offered again as tracks come and go
                if consumer is None:
                    consumer = RTCPeerConnection(_consumer_config())
                    lean_receive(consumer)
                    self.target.pcs.append(consumer)
                    consumer.on(
                        "connectionstatechange",
                        lambda pc=consumer: self._consumer_state(pc),
                    )
                await consumer.setRemoteDescription(RTCSessionDescription(msg.sdp.sdp, "offer"))
                owners = {t.mid: t.participant_id for t in msg.tracks or [] if t.mid}
                logs = {
                    mid: self.target.logs_by_participant.get(owner or "")
                    for mid, owner in owners.items()
                }
                new = [
                    t
                    for t in consumer.getTransceivers()
                    if t.mid not in counted and t.kind == "video" and t.mid in owners
                ]
                counters = []
                for t in new:  # label "<name><<producer id>/<mid>" (the soak reads it)
                    counters += install_counters(
                        consumer,
                        f"{self.name}<{owners[t.mid or '']}",
                        self.joined_at,
                        logs,
                        only={t.mid or ""},
                    )
                    counted.add(t.mid or "")
                for counter in counters:
                    counter.connected_at = self.connected_at
                await consumer.setLocalDescription(await consumer.createAnswer())
                answer = SessionDescription(type="answer", sdp=consumer.localDescription.sdp)
                await self.ws.send(encode_message(Handshake(connection="consumer", sdp=answer)))
                self.counters += counters
                self.target.counters += counters
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the connection closed at the end of the run
            logger.debug("arbiter client %s: %s", self.name, exc)

    def _consumer_state(self, pc: RTCPeerConnection) -> None:
        """Note when the consumer's DTLS is up: first key frames are measured from there."""
        if pc.connectionState == "connected" and self.connected_at is None:
            self.connected_at = now_ns()
            for counter in self.counters:
                if counter.connected_at is None:
                    counter.connected_at = self.connected_at

    async def close(self) -> None:
        for task in (self.task, self._keepalive_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self.ws is not None:
            await self.ws.close()


# -- Janus videoroom over its HTTP API ------------------------------------------------------

JANUS_ROOM = 4242


def write_janus_config(confdir: Path, port: int, publishers: int, ip: str) -> None:
    confdir.mkdir(parents=True, exist_ok=True)
    disabled_plugins = ",".join(
        f"libjanus_{p}.so"
        for p in (
            "audiobridge",
            "duktape",
            "echotest",
            "lua",
            "nosip",
            "recordplay",
            "sip",
            "streaming",
            "textroom",
            "videocall",
            "voicemail",
        )
    )
    disabled_transports = ",".join(
        f"libjanus_{t}.so" for t in ("websockets", "pfunix", "mqtt", "nanomsg", "rabbitmq")
    )
    disabled_events = ",".join(
        f"libjanus_{e}evh.so" for e in ("gelf", "mqtt", "nanomsg", "rabbitmq", "sample", "ws")
    )
    (confdir / "janus.jcfg").write_text(
        f"""general: {{
	configs_folder = "{confdir}"
	plugins_folder = "/usr/lib/x86_64-linux-gnu/janus/plugins"
	transports_folder = "/usr/lib/x86_64-linux-gnu/janus/transports"
	events_folder = "/usr/lib/x86_64-linux-gnu/janus/events"
	loggers_folder = "/usr/lib/x86_64-linux-gnu/janus/loggers"
	debug_level = 3
	log_to_stdout = true
	session_timeout = 120
	admin_secret = "bench-admin"
	server_name = "arbiter-bench"
}}
certificates: {{
}}
media: {{
	ipv6 = false
	rtp_port_range = "40000-49999"
	no_media_timer = 5
}}
nat: {{
	nice_debug = false
	ice_enforce_list = "{ip}"
	ignore_mdns = true
}}
plugins: {{
	disable = "{disabled_plugins}"
}}
transports: {{
	disable = "{disabled_transports}"
}}
loggers: {{
	disable = "libjanus_jsonlog.so"
}}
events: {{
	broadcast = false
	disable = "{disabled_events}"
}}
"""
    )
    (confdir / "janus.transport.http.jcfg").write_text(
        f"""general: {{
	json = "plain"
	base_path = "/janus"
	http = true
	port = {port}
	ip = "127.0.0.1"
	https = false
}}
admin: {{
	admin_http = false
	admin_https = false
}}
"""
    )
    (confdir / "janus.plugin.videoroom.jcfg").write_text(
        f"""general: {{
	string_ids = false
}}
room-{JANUS_ROOM}: {{
	description = "arbiter benchmark"
	publishers = {max(publishers, 1)}
	bitrate = 0
	fir_freq = 0
	videocodec = "vp8"
	audiocodec = "opus"
	record = false
	notify_joining = false
}}
"""
    )


class JanusTarget(Target):
    name = "janus"

    def __init__(self, children: Children, workdir: Path, port: int = 0) -> None:
        super().__init__(children, workdir)
        self.port = port
        self.proc: Any = None
        self.base = ""
        self._http: aiohttp.ClientSession | None = None
        self.session = 0
        self._tx = itertools.count(1)
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._poll: asyncio.Task[None] | None = None
        self.feeds: dict[int, PublisherLog] = {}

    async def start(self) -> None:
        import socket

        if not self.port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
        confdir = self.workdir / "janus"
        write_janus_config(confdir, self.port, publishers=16, ip=media_address())
        self.proc = self.children.start(
            ["janus", "-F", str(confdir), "-C", str(confdir / "janus.jcfg")],
            log=self.workdir / "janus.log",
        )
        self.base = f"http://127.0.0.1:{self.port}/janus"
        self._http = aiohttp.ClientSession()
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            try:
                async with self._http.get(f"{self.base}/info") as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if self.proc.poll() is not None or asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"janus did not start; see {self.workdir / 'janus.log'}")
            await asyncio.sleep(0.1)
        created = await self._post(self.base, {"janus": "create"})
        self.session = created["data"]["id"]
        self._poll = asyncio.create_task(self._long_poll())

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc is not None and self.proc.poll() is None else []

    async def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self._http is not None
        body = {**body, "transaction": f"t{next(self._tx)}"}
        async with self._http.post(url, json=body) as resp:
            reply: dict[str, Any] = await resp.json(content_type=None)
        if reply.get("janus") == "error":
            raise RuntimeError(f"janus: {reply}")
        return reply

    async def _message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send a plugin message and wait for its asynchronous event."""
        tx = f"t{next(self._tx)}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters[tx] = fut
        msg: dict[str, Any] = {"janus": "message", "body": body, "transaction": tx}
        if jsep is not None:
            msg["jsep"] = jsep
        assert self._http is not None
        async with self._http.post(f"{self.base}/{self.session}/{handle}", json=msg) as resp:
            reply = await resp.json(content_type=None)
        if reply.get("janus") == "success":  # synchronous answer
            self._waiters.pop(tx, None)
            return reply
        if reply.get("janus") == "error":
            self._waiters.pop(tx, None)
            raise RuntimeError(f"janus: {reply}")
        return await asyncio.wait_for(fut, 20)

    async def _long_poll(self) -> None:
        assert self._http is not None
        while True:
            try:
                async with self._http.get(f"{self.base}/{self.session}?maxev=20") as resp:
                    events = await resp.json(content_type=None)
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(0.2)
                continue
            if isinstance(events, dict):
                events = [events]
            for event in events:
                tx = event.get("transaction")
                fut = self._waiters.pop(tx, None) if tx else None
                if fut is not None and not fut.done():
                    fut.set_result(event)

    async def _trickle_done(self, handle: int) -> None:
        """aiortc puts all its candidates in the SDP: tell Janus there are no more."""
        await self._post(
            f"{self.base}/{self.session}/{handle}",
            {"janus": "trickle", "candidate": {"completed": True}},
        )

    async def _attach(self) -> int:
        reply = await self._post(
            f"{self.base}/{self.session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"}
        )
        return int(reply["data"]["id"])

    async def add_publisher(self, track: ClipTrack) -> None:
        self.publishers.append(track)
        handle = await self._attach()
        pc = publisher_pc(track)
        self.pcs.append(pc)
        await pc.setLocalDescription(await pc.createOffer())
        feed = 1000 + track.log.stream_id
        event = await self._message(
            handle,
            {
                "request": "joinandconfigure",
                "room": JANUS_ROOM,
                "ptype": "publisher",
                "id": feed,
                "display": f"pub{feed}",
                "audio": False,
                "video": True,
            },
            {"type": "offer", "sdp": pc.localDescription.sdp},
        )
        jsep = event.get("jsep")
        if not jsep:
            raise RuntimeError(f"janus publisher: no answer: {event}")
        logger.debug(
            "janus answer candidates: %s", [x for x in jsep["sdp"].splitlines() if "candidate" in x]
        )
        await self._trickle_done(handle)
        await pc.setRemoteDescription(RTCSessionDescription(jsep["sdp"], "answer"))
        await wait_connected(pc)
        self.feeds[feed] = track.log
        self.participants += 1

    async def add_subscriber(self, probe: bool = False) -> list[StreamCounter]:
        joined = now_ns()
        handle = await self._attach()
        for _ in range(50):  # a feed exists once its publisher's media is up
            event = await self._message(
                handle,
                {
                    "request": "join",
                    "room": JANUS_ROOM,
                    "ptype": "subscriber",
                    "streams": [{"feed": feed} for feed in self.feeds],
                },
            )
            if event["plugindata"]["data"].get("error_code") != 428:
                break
            await asyncio.sleep(0.1)
        jsep = event.get("jsep")
        if not jsep:
            raise RuntimeError(f"janus subscriber: no offer: {event}")
        streams = event["plugindata"]["data"].get("streams", [])
        logs = {str(s.get("mid")): self.feeds.get(int(s.get("feed_id", 0))) for s in streams}
        pc = RTCPeerConnection(_config())
        lean_receive(pc)
        self.pcs.append(pc)
        await pc.setRemoteDescription(RTCSessionDescription(jsep["sdp"], "offer"))
        counters = install_counters(pc, f"janus-sub{handle}", joined, logs)
        mark_connected(pc, counters)
        await pc.setLocalDescription(await pc.createAnswer())
        await self._message(
            handle,
            {"request": "start", "room": JANUS_ROOM},
            {"type": "answer", "sdp": pc.localDescription.sdp},
        )
        await self._trickle_done(handle)
        self.counters += counters
        self.participants += 1
        return counters

    async def stop(self) -> None:
        await super().stop()
        if self._poll is not None:
            self._poll.cancel()
            await asyncio.gather(self._poll, return_exceptions=True)
        if self._http is not None:
            if self.session:
                try:
                    await asyncio.wait_for(
                        self._post(f"{self.base}/{self.session}", {"janus": "destroy"}), 3
                    )
                except Exception:
                    pass
            await self._http.close()
        if self.proc is not None:
            self.children.stop(self.proc)


# -- naive: aiortc MediaRelay, decode once and encode per subscriber -----------------------


class NaiveTarget(Target):
    name = "naive"
    passthrough = False

    def __init__(self, children: Children, workdir: Path) -> None:
        super().__init__(children, workdir)
        self.proc: Any = None
        self.base = ""
        self._http: aiohttp.ClientSession | None = None
        self.logs: dict[int, PublisherLog] = {}

    async def start(self) -> None:
        port_file = self.workdir / "naive.port"
        port_file.unlink(missing_ok=True)
        self.proc = self.children.start(
            [
                sys.executable,
                "-m",
                "benchmarks.naive_relay",
                "--port-file",
                str(port_file),
                "--media-ip",
                media_address(),
            ],
            log=self.workdir / "naive.log",
            cwd=str(ROOT),
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        port = await asyncio.get_running_loop().run_in_executor(
            None, wait_port_file, port_file, 30.0
        )
        self.base = f"http://127.0.0.1:{port}"
        self._http = aiohttp.ClientSession()

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc is not None and self.proc.poll() is None else []

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self._http is not None
        async with self._http.post(self.base + path, json=body) as resp:
            resp.raise_for_status()
            out: dict[str, Any] = await resp.json()
            return out

    async def add_publisher(self, track: ClipTrack) -> None:
        self.publishers.append(track)
        pc = publisher_pc(track)
        self.pcs.append(pc)
        await pc.setLocalDescription(await pc.createOffer())
        reply = await self._post("/publish", {"sdp": pc.localDescription.sdp})
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        await wait_connected(pc)
        self.logs[reply["id"]] = track.log
        self.participants += 1

    async def add_subscriber(self, probe: bool = False) -> list[StreamCounter]:
        joined = now_ns()
        reply = await self._post("/subscribe", {})
        pc = RTCPeerConnection(_config())
        lean_receive(pc)
        self.pcs.append(pc)
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "offer"))
        logs = {mid: self.logs.get(pid) for mid, pid in reply["mids"].items()}
        probe_log = self.publishers[0].log if probe and self.publishers else None
        counters = install_counters(
            pc, f"naive-sub{reply['id']}", joined, logs, probe_for=probe_log
        )
        mark_connected(pc, counters)
        await pc.setLocalDescription(await pc.createAnswer())
        await self._post("/answer", {"id": reply["id"], "sdp": pc.localDescription.sdp})
        self.counters += counters
        self.participants += 1
        return counters

    async def stop(self) -> None:
        await super().stop()
        if self._http is not None:
            await self._http.close()
        if self.proc is not None:
            self.children.stop(self.proc)


class ArbiterMarkerBitTarget(ArbiterTarget):
    """EXPERIMENT: the Arbiter SFU with frames completed on the RTP marker bit."""

    name = "arbiter-marker"
    sitecustomize_dir = Path(__file__).resolve().parent / "experiments" / "marker_bit"


TARGETS = {
    "arbiter": ArbiterTarget,
    "arbiter-marker": ArbiterMarkerBitTarget,
    "janus": JanusTarget,
    "naive": NaiveTarget,
    "direct": DirectTarget,
}


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=False, default=str)
