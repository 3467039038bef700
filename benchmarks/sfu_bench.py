"""SFU benchmark: the Arbiter SFU vs Janus videoroom vs aiortc's decode/re-encode relay.

    .venv/bin/python -m benchmarks.sfu_bench --quick     # ~3 min
    .venv/bin/python -m benchmarks.sfu_bench             # full ramp, up to ~25 min

Publishers loop a pre-encoded 640x480 VP8 clip (~600 kbit/s, 30 fps) through aiortc
senders (packetize only); subscribers count RTP packets and frames without decoding (see
``benchmarks/media.py``). For each SFU the number of subscribers is ramped; at every step
the SFU process's CPU (utime+stime from /proc), the packet and frame loss, the one-way
latency (send time carried in the frame; for the naive relay a bar code in the picture)
and the SFU's RSS are measured over a fixed window. The ramp stops at > 1 % loss, when the
SFU process uses a full core, when the generator itself saturates, or at the step list's
end. Prints a table with the ratios Arbiter/Janus and Arbiter/naive and writes
``benchmarks/results/sfu_bench_<mode>_<time>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import signal
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if __package__ in (None, ""):  # python benchmarks/sfu_bench.py
    sys.path.insert(0, str(HERE.parent))
    __package__ = "benchmarks"

from arbiter_server.sfu.heap import HeapKeeper  # noqa: E402

from .media import ClipTrack, load_clip, now_ns, percentile  # noqa: E402
from .procs import Children, cpu_seconds, cpu_split, loadavg, rss_bytes  # noqa: E402
from .sfu_report import LOSS_LIMIT, combine, figures, print_table, show, summarize  # noqa: E402
from .targets import TARGETS, Target, media_address, pin_media_address  # noqa: E402

logger = logging.getLogger("benchmarks")

CPU_LIMIT = 0.95
"SFU (or generator) process CPU, in cores, at which the ramp stops."
FULL_RAMP = [2, 10, 25, 50, 100, 150, 200, 250, 300, 400, 500, 600, 800, 1000]
"Subscribers per step in full mode (streams = 2 x subscribers), past both SFUs' limits."
SFU_CPU = 0
"With pinning: the core the SFU under test runs on."
GENERATOR_CPU = 1
"With pinning: the core the benchmark (load generator, gateway) runs on."


def pin(pid: int, cpu: int) -> None:
    """Run every thread of ``pid`` on ``cpu`` only (threads it starts later inherit it)."""
    try:
        tasks = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return
    for tid in tasks:
        try:
            os.sched_setaffinity(tid, {cpu})
        except OSError:
            pass


@dataclass
class Plan:
    mode: str
    publishers: int
    window: float
    settle: float
    steps: dict[str, list[int]]
    "Subscriber counts to ramp through, per target."
    budget: dict[str, float]
    "Seconds a target's ramp may start new steps for."
    batch: int = 8
    targets: list[str] = field(default_factory=lambda: ["direct", "arbiter", "janus", "naive"])
    pinned: bool = False
    "SFU on one core, the generator on the other (``--pin``)."


def make_plan(quick: bool, publishers: int) -> Plan:
    if quick:
        return Plan(
            "quick",
            publishers,
            window=6.0,
            settle=3.0,
            steps={"direct": [2], "arbiter": [2, 10, 30], "janus": [2, 10, 30], "naive": [1, 2, 4]},
            budget={"direct": 20, "arbiter": 60, "janus": 50, "naive": 45},
        )
    return Plan(
        "full",
        publishers,
        window=10.0,
        settle=3.0,
        steps={
            "direct": [2],
            "arbiter": FULL_RAMP,
            "janus": FULL_RAMP,
            "naive": [1, 2, 3, 4, 5, 6, 8],
        },
        budget={"direct": 40, "arbiter": 600, "janus": 600, "naive": 160},
    )


def _machine_busy() -> tuple[int, int]:
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


async def measure_window(target: Target, window: float) -> dict[str, Any]:
    pids = target.pids()
    counters = list(target.counters)
    me = os.getpid()
    t0 = now_ns()
    cpu0 = {p: cpu_seconds(p) for p in pids}
    split0 = [cpu_split(p) for p in pids]
    gen0 = cpu_seconds(me)
    busy0 = _machine_busy()
    snaps0 = [c.snapshot() for c in counters]
    await asyncio.sleep(window)
    t1 = now_ns()
    snaps1 = [c.snapshot() for c in counters]
    cpu1 = {p: cpu_seconds(p) for p in pids}
    split1 = [cpu_split(p) for p in pids]
    sfu_user = sum(b[0] - a[0] for a, b in zip(split0, split1, strict=True))
    sfu_kernel = sum(b[1] - a[1] for a, b in zip(split0, split1, strict=True))
    gen1 = cpu_seconds(me)
    busy1 = _machine_busy()
    wall = (t1 - t0) / 1e9
    sfu_cpu = sum(cpu1[p] - cpu0[p] for p in pids if p in cpu1)
    streams = len(counters)

    # latency: trailer (pass-through SFUs) or bar-code probe (naive relay)
    lat: list[float] = []
    for c in counters:
        source = c.latencies if target.passthrough else (c.probe.latencies if c.probe else [])
        lat += [ns / 1e6 for t, ns in source if t0 <= t < t1]
    median = percentile(lat, 50)
    shift = int((median or 0.0) * 1e6)

    got = expected = frames = frames_expected = byts = 0
    per_stream_loss = []
    for c, (p0, h0, _f0, b0), (p1, h1, _f1, b1) in zip(counters, snaps0, snaps1, strict=True):
        exp = max(h1 - h0, 0)
        got += p1 - p0
        expected += exp
        byts += b1 - b0
        fr = c.frames_between(t0, t1)
        log = getattr(c, "publisher_log", None)
        fe = log.sent_between(t0 - shift, t1 - shift) if log is not None else fr
        frames += fr
        frames_expected += fe
        per_stream_loss.append(1 - fr / fe if fe else 0.0)
    packet_loss = 1 - got / expected if expected else 1.0
    frame_loss = 1 - frames / frames_expected if frames_expected else 1.0
    rss = 0
    for p in pids:
        try:
            rss += rss_bytes(p)
        except OSError:
            pass
    return {
        "streams": streams,
        "window_s": round(wall, 3),
        "sfu_cpu_cores": sfu_cpu / wall,
        "sfu_kernel_share": sfu_kernel / (sfu_user + sfu_kernel) if sfu_user + sfu_kernel else None,
        "cpu_s_per_stream_s": sfu_cpu / (streams * wall) if streams else None,
        "generator_cpu_cores": (gen1 - gen0) / wall,
        "machine_busy_pct": 100 * (busy1[0] - busy0[0]) / max(busy1[1] - busy0[1], 1),
        "packet_loss": max(packet_loss, 0.0),
        "frame_loss": max(frame_loss, 0.0),
        "loss": max(packet_loss, frame_loss, 0.0),
        "worst_stream_frame_loss": max(per_stream_loss) if per_stream_loss else None,
        "kbps_per_stream": byts * 8 / wall / 1000 / streams if streams else 0,
        "latency_ms_median": median,
        "latency_ms_p95": percentile(lat, 95),
        "latency_samples": len(lat),
        "sfu_rss_bytes": rss,
        "participants": target.participants,
        "loadavg": loadavg(),
    }


async def run_target(
    name: str, plan: Plan, clip: Any, children: Children, workdir: Path
) -> dict[str, Any]:
    target: Target = TARGETS[name](children, workdir / name)
    (workdir / name).mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "target": name,
        "steps": [],
        "joins_ms": [],
        "stopped_by": "end of steps",
    }
    started = time.monotonic()
    try:
        await target.start()
        await asyncio.sleep(1.0)
        pids = target.pids()
        if plan.pinned:
            for pid in pids:
                pin(pid, SFU_CPU)
        result["pids"] = pids
        result["idle_rss_bytes"] = sum(rss_bytes(p) for p in pids)
        for i in range(plan.publishers):
            await target.add_publisher(ClipTrack(clip, i + 1))
        subscribers = 0
        for step in plan.steps[name]:
            if time.monotonic() - started > plan.budget[name]:
                result["stopped_by"] = "time budget"
                break
            new = []
            join_started = time.monotonic()
            while subscribers < step:
                batch = min(plan.batch, step - subscribers)
                got = await asyncio.gather(
                    *(target.add_subscriber(probe=(subscribers + k == 0)) for k in range(batch)),
                    return_exceptions=True,
                )
                for g in got:
                    if isinstance(g, BaseException):
                        raise RuntimeError(f"{name}: subscriber join failed: {g!r}") from g
                    new += g
                subscribers += batch
            # wait for every new stream's first key frame (bounded)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and any(c.first_keyframe_at is None for c in new):
                await asyncio.sleep(0.05)
            joins = [
                (c.first_keyframe_at - c.joined_at) / 1e6
                for c in new
                if c.first_keyframe_at is not None and c.joined_at is not None
            ]
            keyframes = [
                max(0.0, (c.first_keyframe_at - c.connected_at) / 1e6)
                for c in new
                if c.first_keyframe_at is not None and c.connected_at is not None
            ]
            missing = sum(1 for c in new if c.first_keyframe_at is None)
            result["joins_ms"] += joins
            join_s = time.monotonic() - join_started
            if plan.pinned:
                for pid in target.pids():  # threads started since (Janus makes one per handle)
                    pin(pid, SFU_CPU)
            await asyncio.sleep(plan.settle)
            m = await measure_window(target, plan.window)
            m["subscribers"] = subscribers
            m["join_s"] = round(join_s, 2)
            m["join_to_first_keyframe_ms_median"] = statistics.median(joins) if joins else None
            m["joins_ms"] = joins
            m["keyframe_from_connected_ms"] = keyframes
            m["keyframe_from_connected_ms_median"] = percentile(keyframes, 50)
            m["keyframe_from_connected_ms_p95"] = percentile(keyframes, 95)
            m["streams_without_video"] = missing
            result["steps"].append(m)
            print(
                f"  {name:8s} subs={subscribers:3d} streams={m['streams']:3d} "
                f"sfu={m['sfu_cpu_cores']:.2f} cores gen={m['generator_cpu_cores']:.2f} "
                f"loss={100 * m['loss']:.2f}% "
                f"lat={show(m['latency_ms_median'])}/{show(m['latency_ms_p95'])} ms "
                f"kf={show(m['keyframe_from_connected_ms_median'], 0)}/"
                f"{show(m['keyframe_from_connected_ms_p95'], 0)} ms "
                f"{m['kbps_per_stream']:.0f} kbit/s/stream  load {m['loadavg'].split()[0]}",
                flush=True,
            )
            if m["loss"] > LOSS_LIMIT:
                result["stopped_by"] = f"loss {100 * m['loss']:.1f}% > 1%"
                break
            if m["sfu_cpu_cores"] >= CPU_LIMIT:
                result["stopped_by"] = "SFU CPU saturated"
                break
            if m["generator_cpu_cores"] >= CPU_LIMIT:
                result["stopped_by"] = "load generator saturated"
                break
    except Exception as exc:
        logger.exception("%s failed", name)
        result["error"] = repr(exc)
    finally:
        try:
            await asyncio.wait_for(target.stop(), 30)
        except Exception as exc:
            logger.warning("%s: stop: %r", name, exc)
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    return result


async def main_async(args: argparse.Namespace, children: Children) -> dict[str, Any]:
    plan = make_plan(args.quick, args.publishers)
    plan.pinned = args.pin
    if args.targets:
        plan.targets = ["direct", *[t for t in args.targets.split(",") if t != "direct"]]
    if args.experiment_marker_bit:
        plan.targets.append("arbiter-marker")
        plan.steps["arbiter-marker"] = plan.steps["arbiter"]
        plan.budget["arbiter-marker"] = plan.budget["arbiter"]
    ip = media_address()
    pin_media_address(ip)
    workdir = HERE / ".cache" / "runs" / time.strftime("%Y%m%d-%H%M%S")
    workdir.mkdir(parents=True, exist_ok=True)
    t = time.monotonic()
    clip = await asyncio.get_running_loop().run_in_executor(None, load_clip, HERE / ".cache")
    print(
        f"clip: {len(clip.frames)} frames 640x480 @30 fps, {clip.mean_kbps:.0f} kbit/s "
        f"(key frame {len(clip.frames[0])} B), ready in {time.monotonic() - t:.1f} s; "
        f"media on {ip}; load {loadavg()}",
        flush=True,
    )
    results: dict[str, Any] = {}
    # The generator holds up to a thousand connections: without this its collector's full
    # passes (up to 750 ms measured) stop it mid-window and count as the SFU's latency.
    # Each target's connections are collected once it is done, before the next starts.
    keeper = HeapKeeper(lambda: 0, cleanup_every=None)
    keeper_task = asyncio.create_task(keeper.run())
    try:
        for name in plan.targets:
            print(f"[{name}]", flush=True)
            results[name] = await run_target(name, plan, clip, children, workdir)
            keeper.cleanup()
    finally:
        keeper_task.cancel()
        await asyncio.gather(keeper_task, return_exceptions=True)
    direct = results.get("direct", {}).get("steps", [{}])
    direct_step = direct[0] if direct else {}
    direct_ms = direct_step.get("latency_ms_median")
    summaries = {n: summarize(r, direct_ms) for n, r in results.items() if n != "direct"}
    lines = print_table(summaries, direct_step, results)
    return {
        "figures": figures(summaries, results),
        "plan": plan.__dict__,
        "results": results,
        "summary": summaries,
        "table": lines,
        "media_address": ip,
        "workdir": str(workdir),
        "clip_kbps": clip.mean_kbps,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short ramp (~3 minutes)")
    parser.add_argument("--publishers", type=int, default=2, help="video publishers (default 2)")
    parser.add_argument(
        "--targets", default="", help="comma-separated subset of arbiter,janus,naive"
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="JSON path (default benchmarks/results/)"
    )
    parser.add_argument(
        "--experiment-marker-bit",
        action="store_true",
        help="also run the Arbiter SFU with a patched aiortc jitter buffer that completes a "
        "frame on its RTP marker bit (benchmarks/experiments/marker_bit; not Arbiter's code)",
    )
    parser.add_argument(
        "--summarize",
        type=Path,
        nargs="+",
        default=None,
        metavar="JSON",
        help="only print the table of an earlier run's JSON; with several runs, each target "
        "figure's median and spread over them",
    )
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=len(os.sched_getaffinity(0)) >= 2,
        help=f"SFU under test on CPU {SFU_CPU}, this process (generator, gateway) on CPU "
        f"{GENERATOR_CPU} (default: on with two or more CPUs)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("aioice").setLevel(logging.WARNING)
    logging.getLogger("aiortc").setLevel(logging.WARNING)
    if args.summarize is not None:
        runs = []
        for path in args.summarize:
            data = json.loads(path.read_text())
            results = data["results"]
            direct_step = (results.get("direct", {}).get("steps") or [{}])[0]
            summaries = {
                n: summarize(r, direct_step.get("latency_ms_median"))
                for n, r in results.items()
                if n != "direct"
            }
            print(f"{path.name}: {data.get('command')}  started {data.get('started')}")
            print(f"  machine {data['machine']}")
            print_table(summaries, direct_step, results)
            runs.append(figures(summaries, results))
            print()
        if len(runs) > 1:
            print("\n".join(combine(runs)))
        return 0
    if args.pin:  # before any thread or child starts: they inherit the generator's core
        os.sched_setaffinity(0, {GENERATOR_CPU})
    children = Children()

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    started = time.time()
    meta = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "command": " ".join(
            [Path(sys.executable).name, "-m", "benchmarks.sfu_bench", *sys.argv[1:]]
        ),
        "machine": {
            "cpus": os.cpu_count(),
            "cpu_model": _cpu_model(),
            "python": platform.python_version(),
            "kernel": platform.release(),
            "loadavg_start": loadavg(),
        },
        "versions": _versions(),
    }
    print(f"load at start: {meta['machine']['loadavg_start']}", flush=True)
    try:
        out = asyncio.run(main_async(args, children))
    except KeyboardInterrupt:
        print("interrupted: stopping every process the benchmark started", file=sys.stderr)
        return 130
    finally:
        children.stop_all()
    meta["machine"]["loadavg_end"] = loadavg()
    meta["elapsed_s"] = round(time.time() - started, 1)
    out = {**meta, **out}
    print(f"\nload at end: {meta['machine']['loadavg_end']}; elapsed {meta['elapsed_s']} s")
    path = (
        args.output
        or HERE
        / "results"
        / f"sfu_bench_{out['plan']['mode']}_{time.strftime('%Y%m%d-%H%M%S')}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, default=str))
    print(f"wrote {path}")
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _versions() -> dict[str, str]:
    import subprocess
    from importlib.metadata import version

    out = {}
    for pkg in ("aiortc", "av", "aioice", "pylibsrtp"):
        try:
            out[pkg] = version(pkg)
        except Exception:
            out[pkg] = "?"
    try:
        out["janus"] = subprocess.run(
            ["janus", "--version"], capture_output=True, text=True, timeout=10
        ).stdout.splitlines()[0]
    except Exception:
        out["janus"] = "?"
    return out


if __name__ == "__main__":
    sys.exit(main())
