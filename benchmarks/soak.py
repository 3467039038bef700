"""Soak: N rooms x M participants on ``arbiter-server dev`` for T minutes, sampled every 10 s.

    .venv/bin/python -m benchmarks.soak --rooms 3 --participants 3 --minutes 30

``arbiter-server dev --no-bot --pool-size 0`` runs as a subprocess (its own gateway, SQLite
file, SFU per room and coturn), so its processes are measured apart from the load. Each room
gets M lean bots (:mod:`benchmarks.media`): each publishes a pre-encoded VP8 clip (aiortc
only packetizes it) and counts the video it receives at the RTP level without decoding.
Each room also gets one decoding probe, a real :class:`arbiter_client.Room` that publishes
nothing and decodes every video track to pixels. Neither bots nor probes encode, so the run
measures the server rather than the load generator's codecs.

Every interval it samples, per room, the SFU's CPU, RSS, threads, file descriptors (from
/proc), asyncio tasks and peer connections (from the SFU's stats file); the gateway's CPU,
RSS, threads and file descriptors; per client the frames received and those its publishers
sent meanwhile, RTP packets received and expected (sequence numbers), jitter (RFC 3550
smoothing of the one-way transit time: the bots' clips carry their send time; for the probe,
decoded frame timestamps against arrival) and RTT (RTCP of each bot's publisher; the probe's
``room.stats()``). It writes the samples and the summary as JSON and a PNG plot, prints a
table against the targets (see :mod:`benchmarks.soak_report`) and exits 0 only if every
target is met (1 if not, 2 if the run itself failed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if __package__ in (None, ""):  # python benchmarks/soak.py
    sys.path.insert(0, str(HERE.parent))
    __package__ = "benchmarks"

from .media import ClipTrack, StreamCounter, load_clip  # noqa: E402
from .procs import Children, cpu_seconds, loadavg, rss_bytes  # noqa: E402
from .soak_report import Sample, format_table, plot, summarize  # noqa: E402
from .targets import ArbiterTarget, media_address, pin_media_address  # noqa: E402

logger = logging.getLogger("benchmarks.soak")

SETTLE = 5.0
"Seconds between the last join and the baseline sample."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.soak",
        description="Soak the local stack: N rooms x M lean bots (+1 decoding probe per "
        "room) for T minutes; sample SFU/gateway CPU, memory and resources and every "
        "client's frames, loss, jitter and RTT; write JSON and a PNG; print the targets.",
    )
    parser.add_argument("--rooms", type=int, default=3, help="rooms (default 3)")
    parser.add_argument(
        "--participants", type=int, default=3, help="publishing bots per room (default 3)"
    )
    parser.add_argument("--minutes", type=float, default=30.0, help="run length (default 30)")
    parser.add_argument(
        "--interval", type=float, default=10.0, help="seconds between samples (default 10)"
    )
    parser.add_argument(
        "--size", default="320x240", help="clip size WIDTHxHEIGHT (default 320x240)"
    )
    parser.add_argument("--fps", type=int, default=15, help="clip frame rate (default 15)")
    parser.add_argument(
        "--kbps", type=int, default=300, help="clip bit rate in kbit/s (default 300)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="JSON file (default benchmarks/results/soak_<time>.json; the PNG goes beside it)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=int,
        default=None,
        help="passed to 'arbiter-server dev --idle-timeout' (default: dev's, 600 s as API "
        "Gateway); a short one checks that every client keeps its socket busy",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


@dataclass
class Stream:
    """One video stream a bot receives: its counter, its publisher, the jitter state."""

    counter: StreamCounter
    track: ClipTrack | None
    last: tuple[int, int, int, int] = (0, -1, 0, 0)
    "(packets, highest seq, frames, bytes) at the previous sample."
    sent: int = 0
    "The publisher's frames sent at the previous sample."
    jitter: float = 0.0
    "RFC 3550 smoothed |transit difference|, nanoseconds."
    transit: int | None = None


@dataclass
class ProbeTrack:
    """One video track the probe decodes."""

    producer_id: str
    frames: int = 0
    jitter: float = 0.0
    "Seconds."
    previous: tuple[float, float] | None = None
    "(arrival, media time) of the previous frame."


@dataclass
class RoomLoad:
    """One room: its bots (an :class:`~.targets.ArbiterTarget`) and its probe."""

    room_id: str
    target: ArbiterTarget
    tracks: list[ClipTrack] = field(default_factory=list)
    streams: dict[int, Stream] = field(default_factory=dict)
    probe: Any = None
    probe_tracks: dict[str, ProbeTrack] = field(default_factory=dict)
    probe_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    probe_sent: int = 0
    probe_frames: int = 0
    probe_lost: int = 0


class Soak:
    """Runs the stack and the load, samples, and stops everything it started."""

    def __init__(self, args: argparse.Namespace, children: Children, workdir: Path) -> None:
        self.args = args
        self.children = children
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.dev: subprocess.Popen[str] | None = None
        self.api = ""
        self.rooms: list[RoomLoad] = []
        self.samples: list[Sample] = []
        self._cpu: dict[int, float] = {}
        self._last_time = 0.0

    async def start_stack(self) -> None:
        """``arbiter-server dev`` on a free port; wait for its JSON facts."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "dev.log", "ab")  # noqa: SIM115
        self.dev = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "arbiter_server",
                "dev",
                "--no-bot",
                "--pool-size",
                "0",
                "--port",
                "0",
                "--json",
                "--log-level",
                "warning",
                "--room",
                "soak-0",
                "--data-dir",
                str(self.data_dir),
                # every room is an SFU started from this one address
                "--max-sfus-per-address",
                str(max(5, self.args.rooms)),
                # and every bot's join comes from it too (30 a minute by default)
                "--join-rate-limit",
                str(max(30, 4 * self.args.rooms * (self.args.participants + 1))),
                *(
                    ["--idle-timeout", str(self.args.idle_timeout)]
                    if self.args.idle_timeout
                    else []
                ),
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        log.close()
        self.children.procs.append(self.dev)  # type: ignore[arg-type]
        assert self.dev.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.dev.stdout.readline), 60)
        if not line:
            raise RuntimeError(f"arbiter-server dev did not start; see {self.workdir}/dev.log")
        self.api = json.loads(line)["api"]

    async def start_load(self) -> None:
        """Create the rooms, join the bots and the probes."""
        import aiohttp

        args = self.args
        width, height = (int(x) for x in args.size.lower().split("x"))
        clip = load_clip(
            HERE / ".cache",
            frames=min(150, 10 * args.fps),
            bitrate=args.kbps * 1000,
            width=width,
            height=height,
            fps=args.fps,
        )
        stream_ids = iter(range(1, 1_000_000))
        for n in range(args.rooms):
            room_id = f"soak-{n}"
            if n:  # dev made soak-0
                async with (
                    aiohttp.ClientSession() as http,
                    http.post(f"{self.api}/rooms", json={"room_id": room_id}) as resp,
                ):
                    resp.raise_for_status()
            target = ArbiterTarget(self.children, self.workdir)
            target.room_url = f"{self.api}/rooms/{room_id}"
            target._http = aiohttp.ClientSession()
            load = RoomLoad(room_id, target)
            self.rooms.append(load)
            for _ in range(args.participants):
                track = ClipTrack(clip, next(stream_ids))
                load.tracks.append(track)
                await target.add_publisher(track)
            await self._start_probe(load)
        await self._wait_streams()

    async def _start_probe(self, load: RoomLoad) -> None:
        from arbiter_client import Room, TrackSubscribed

        room = await Room.join(load.target.room_url, name="probe", publish=None, timeout=30)
        load.probe = room

        async def watch() -> None:
            async for event in room.events():
                if isinstance(event, TrackSubscribed) and event.kind == "video":
                    state = ProbeTrack(event.participant.id)
                    load.probe_tracks[event.participant.id] = state
                    load.probe_tasks.append(asyncio.create_task(_decode(event.track, state)))

        load.probe_tasks.append(asyncio.create_task(watch()))

    async def _wait_streams(self, timeout: float = 60.0) -> None:
        """Until every bot counts M-1 streams and every probe decodes M."""
        m = self.args.participants
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = all(
                len(load.target.counters) >= m * (m - 1)
                and all(c.frames > 0 for c in load.target.counters)
                and len(load.probe_tracks) >= m
                and all(t.frames > 0 for t in load.probe_tracks.values())
                for load in self.rooms
            )
            if ready:
                return
            await asyncio.sleep(0.2)
        raise RuntimeError("not every stream delivered frames within 60 s")

    def _streams(self, load: RoomLoad) -> dict[int, Stream]:
        """Every stream the room's bots receive, with the track that publishes it.

        A counter's label is ``receiver<producer_id/mid``; the producer's log is looked up
        now, as a stream may be offered before its publisher's join returned.
        """
        by_log = {id(track.log): track for track in load.tracks}
        for counter in load.target.counters:
            stream = load.streams.setdefault(id(counter), Stream(counter, None))
            if stream.track is None:
                producer_id = counter.label.split("<", 1)[1].rsplit("/", 1)[0]
                log = load.target.logs_by_participant.get(producer_id)
                stream.track = by_log.get(id(log)) if log is not None else None
                if stream.track is not None:
                    stream.sent = stream.track.log.sent
        return load.streams

    async def sample(self, t: float) -> Sample:
        """One sample; frame and packet counts cover the time since the previous one."""
        now = time.monotonic()
        wall = now - self._last_time if self._last_time else None
        self._last_time = now
        assert self.dev is not None
        rooms: dict[str, Any] = {}
        for load in self.rooms:
            clients: dict[str, dict[str, Any]] = {}
            for client in load.target._clients:
                clients[client.name] = await self._bot(load, client)
            clients["probe"] = await self._probe(load)
            for track in load.tracks:  # the soak needs only the totals: keep memory flat
                track.log.send_times.clear()
                track.log.index_times.clear()
            rooms[load.room_id] = {"sfu": self._sfu(load.room_id, wall), "clients": clients}
        return {"t": round(t, 2), "gateway": self._process(self.dev.pid, wall), "rooms": rooms}

    async def _bot(self, load: RoomLoad, client: Any) -> dict[str, Any]:
        streams = self._streams(load)
        frames = expected = packets = packets_expected = 0
        jitters: list[float] = []
        for counter in client.counters:
            stream = streams[id(counter)]
            snap = counter.snapshot()
            packets += snap[0] - stream.last[0]
            if stream.last[1] >= 0:
                packets_expected += snap[1] - stream.last[1]
            elif counter.base_seq is not None:
                packets_expected += snap[1] - counter.base_seq + 1
            frames += snap[2] - stream.last[2]
            stream.last = snap
            if stream.track is not None:
                expected += stream.track.log.sent - stream.sent
                stream.sent = stream.track.log.sent
            for _, transit in counter.latencies:
                if stream.transit is not None:
                    stream.jitter += (abs(transit - stream.transit) - stream.jitter) / 16
                stream.transit = transit
            counter.latencies.clear()
            counter.frame_times.clear()
            jitters.append(stream.jitter / 1e6)
        return {
            "frames": frames,
            "expected": expected,
            "packets": packets,
            "packets_expected": packets_expected,
            "jitter_ms": round(max(jitters), 3) if jitters else None,
            "rtt_ms": await _publisher_rtt(client.producer),
        }

    async def _probe(self, load: RoomLoad) -> dict[str, Any]:
        sent = sum(t.log.sent for t in load.tracks)
        frames = sum(t.frames for t in load.probe_tracks.values())
        expected, load.probe_sent = sent - load.probe_sent, sent
        got, load.probe_frames = frames - load.probe_frames, frames
        stats = await load.probe.stats()
        lost = stats.packets_lost
        jitters = [t.jitter * 1000 for t in load.probe_tracks.values()]
        out = {
            "frames": got,
            "expected": expected,
            "packets_lost": lost - load.probe_lost,
            "jitter_ms": round(max(jitters), 3) if jitters else None,
            "rtt_ms": round(stats.rtt_ms, 3) if stats.rtt_ms is not None else None,
        }
        load.probe_lost = lost
        return out

    def _process(self, pid: int, wall: float | None) -> dict[str, Any]:
        try:
            cpu = cpu_seconds(pid)
            out: dict[str, Any] = {
                "pid": pid,
                "rss": rss_bytes(pid),
                "threads": _threads(pid),
                "fds": len(os.listdir(f"/proc/{pid}/fd")),
            }
        except (FileNotFoundError, ProcessLookupError):
            return {"pid": pid}
        previous = self._cpu.get(pid)
        self._cpu[pid] = cpu
        out["cpu"] = round((cpu - previous) / wall, 4) if previous is not None and wall else None
        return out

    def _sfu(self, room_id: str, wall: float | None) -> dict[str, Any] | None:
        state_file = self.data_dir / "logs" / f"sfu-{room_id}.json"
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):
            return None
        out = self._process(int(state["pid"]), wall)
        out["tasks"] = state.get("tasks")
        out["peer_connections"] = state.get("peer_connections")
        return out

    async def stop(self) -> None:
        """Leave with every probe and bot, then stop ``dev`` (SIGTERM, by PID)."""
        for load in self.rooms:
            for task in load.probe_tasks:
                task.cancel()
            await asyncio.gather(*load.probe_tasks, return_exceptions=True)
            if load.probe is not None:
                try:
                    await asyncio.wait_for(load.probe.leave(), 10)
                except Exception as exc:  # the run is over; say so and go on
                    logger.warning("probe of %s did not leave cleanly: %r", load.room_id, exc)
            await load.target.stop()
        if self.dev is not None:
            self.children.stop(self.dev)  # type: ignore[arg-type]


async def _decode(track: Any, state: ProbeTrack) -> None:
    """Decode every frame of ``track`` to pixels; count frames and frame-level jitter."""
    loop = asyncio.get_running_loop()
    try:
        while True:
            frame = await track.recv()
            frame.to_ndarray(format="rgb24")
            arrival = loop.time()
            media = float(frame.pts * frame.time_base) if frame.pts is not None else None
            if media is not None and state.previous is not None:
                d = (arrival - state.previous[0]) - (media - state.previous[1])
                state.jitter += (abs(d) - state.jitter) / 16
            if media is not None:
                state.previous = (arrival, media)
            state.frames += 1
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the track ended (participant left, room closed)
        logger.debug("probe track of %s ended: %r", state.producer_id, exc)


async def _publisher_rtt(pc: Any) -> float | None:
    """Round-trip time to the SFU from the RTCP receiver reports of a bot's publisher."""
    if pc is None:
        return None
    from aiortc.stats import RTCRemoteInboundRtpStreamStats

    report = await pc.getStats()
    rtts = [
        s.roundTripTime * 1000
        for s in report.values()
        if isinstance(s, RTCRemoteInboundRtpStreamStats) and s.roundTripTime
    ]
    return round(min(rtts), 3) if rtts else None


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


async def run(args: argparse.Namespace, children: Children, workdir: Path) -> dict[str, Any]:
    """Start, load, sample for ``args.minutes``, stop; the samples and the summary."""
    pin_media_address(media_address())
    soak = Soak(args, children, workdir)
    try:
        await soak.start_stack()
        await soak.start_load()
        print(
            f"{args.rooms} rooms x {args.participants} bots + 1 probe each joined; "
            f"sampling every {args.interval:g} s for {args.minutes:g} min",
            flush=True,
        )
        await asyncio.sleep(SETTLE)
        loop = asyncio.get_running_loop()
        start = loop.time()
        duration = args.minutes * 60
        n = 0
        while True:
            t = loop.time() - start
            sample = await soak.sample(t)
            soak.samples.append(sample)
            _progress(sample)
            if t >= duration - 0.5:
                break
            n += 1
            await asyncio.sleep(max(0.0, start + n * args.interval - loop.time()))
    finally:
        await soak.stop()
    summary = summarize(soak.samples, duration)
    return {"samples": soak.samples, "summary": summary.as_dict(), "_summary": summary}


def _progress(sample: Sample) -> None:
    if sample["t"] == 0:
        print("t=    0.0s  baseline", flush=True)
        return
    parts = []
    for room, data in sample["rooms"].items():
        frames = sum(c.get("frames", 0) for c in data["clients"].values())
        expected = sum(c.get("expected", 0) for c in data["clients"].values())
        sfu = data.get("sfu") or {}
        loss = f"{100 * (1 - frames / expected):.2f}%" if expected else "-"
        cpu = f"{100 * sfu['cpu']:.0f}%" if sfu.get("cpu") is not None else "-"
        rss = f"{sfu['rss'] / 1e6:.0f}MB" if sfu.get("rss") else "-"
        parts.append(f"{room} loss {loss} cpu {cpu} rss {rss}")
    gw = sample["gateway"]
    gw_rss = f"{gw['rss'] / 1e6:.0f}MB" if gw.get("rss") else "-"
    print(f"t={sample['t']:7.1f}s  " + "; ".join(parts) + f"; gateway {gw_rss}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point; 0 if every target was met, 1 if not, 2 if the run failed."""
    args = _parser().parse_args(argv)
    if args.rooms < 1 or args.participants < 2 or args.minutes <= 0 or args.interval <= 0:
        print("need --rooms >= 1, --participants >= 2, positive --minutes and --interval")
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    for noisy in ("aioice", "aiortc", "arbiter_client"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    output = args.output or HERE / "results" / f"soak_{stamp}.json"
    workdir = HERE / ".cache" / "soak" / stamp
    workdir.mkdir(parents=True, exist_ok=True)
    children = Children()

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    started = time.time()
    meta = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks.soak", *sys.argv[1:]]),
        "config": {k: v for k, v in vars(args).items() if k != "output"},
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "kernel": platform.release(),
            "loadavg_start": loadavg(),
        },
        "logs": str(workdir),
    }
    print(f"load at start: {meta['machine']['loadavg_start']}; logs in {workdir}", flush=True)
    try:
        result = asyncio.run(run(args, children, workdir))
    except KeyboardInterrupt:
        print("interrupted: stopping every process the soak started", file=sys.stderr)
        return 2
    except Exception as exc:
        print(f"soak failed: {exc!r}", file=sys.stderr)
        return 2
    finally:
        children.stop_all()
    summary = result.pop("_summary")
    meta["machine"]["loadavg_end"] = loadavg()  # type: ignore[index]
    meta["elapsed_s"] = round(time.time() - started, 1)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({**meta, **result}, indent=1, default=str))
    png = output.with_suffix(".png")
    plot(
        result["samples"],
        png,
        f"{args.rooms} rooms x {args.participants} bots + probe, {args.minutes:g} min "
        f"({meta['started']})",
    )
    print()
    print(format_table(summary))
    print(f"\nload at end: {meta['machine']['loadavg_end']}; wrote {output} and {png}")
    return 0 if summary.passed else 1


if __name__ == "__main__":
    sys.exit(main())
