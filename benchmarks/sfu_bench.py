"""SFU benchmark: the Arbiter SFU vs Janus videoroom vs aiortc's decode/re-encode relay.

    .venv/bin/python -m benchmarks.sfu_bench --quick     # ~3 min
    .venv/bin/python -m benchmarks.sfu_bench             # full ramp, < 15 min

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

from .media import ClipTrack, fit_line, load_clip, now_ns, percentile  # noqa: E402
from .procs import Children, cpu_seconds, cpu_split, loadavg, rss_bytes  # noqa: E402
from .targets import TARGETS, Target, media_address, pin_media_address  # noqa: E402

logger = logging.getLogger("benchmarks")

LOSS_LIMIT = 0.01
LIGHT_STREAMS = 60
"Steps up to this many streams count as light load for join times."
LATENCY_P95_LIMIT_MS = 100.0
"A step with a higher p95 one-way latency is not counted as 'held' in the strict column."
CPU_LIMIT = 0.95
"SFU (or generator) process CPU, in cores, at which the ramp stops."


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
            "arbiter": [2, 10, 25, 50, 100, 150, 200, 250, 300],
            "janus": [2, 10, 25, 50, 100, 150, 200, 250, 300],
            "naive": [1, 2, 3, 4, 5, 6, 8],
        },
        budget={"direct": 40, "arbiter": 300, "janus": 300, "naive": 160},
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
            missing = sum(1 for c in new if c.first_keyframe_at is None)
            result["joins_ms"] += joins
            join_s = time.monotonic() - join_started
            await asyncio.sleep(plan.settle)
            m = await measure_window(target, plan.window)
            m["subscribers"] = subscribers
            m["join_s"] = round(join_s, 2)
            m["join_to_first_keyframe_ms_median"] = statistics.median(joins) if joins else None
            m["joins_ms"] = joins
            m["streams_without_video"] = missing
            result["steps"].append(m)
            print(
                f"  {name:8s} subs={subscribers:3d} streams={m['streams']:3d} "
                f"sfu={m['sfu_cpu_cores']:.2f} cores gen={m['generator_cpu_cores']:.2f} "
                f"loss={100 * m['loss']:.2f}% "
                f"lat={_f(m['latency_ms_median'])}/{_f(m['latency_ms_p95'])} ms "
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


def _f(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def held(step: dict[str, Any], strict: bool = True) -> bool:
    """< 1 % loss on at most one core and p95 latency under the limit (not strict: loss only).

    Loss alone is not enough: an overloaded aiortc SFU queues (up to 2 s per consumer)
    before it drops, so a step can show 0 % loss with a one-second delay.
    """
    ok = step["loss"] <= LOSS_LIMIT and step["sfu_cpu_cores"] < 1.0
    if strict:
        p95 = step["latency_ms_p95"]
        ok = ok and p95 is not None and p95 < LATENCY_P95_LIMIT_MS
    return bool(ok)


def matched_cpu_ratio(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, int, int] | None:
    """CPU per stream of ``a`` / ``b`` at comparable load.

    Takes ``b``'s largest held step that ``a`` also reached and ``a``'s held step with the
    closest stream count; returns (ratio, a streams, b streams).
    """
    a_ok = [s for s in a["steps"] if held(s) and s["cpu_s_per_stream_s"]]
    b_ok = [s for s in b["steps"] if held(s) and s["cpu_s_per_stream_s"]]
    if not a_ok or not b_ok:
        return None
    a_max = max(s["streams"] for s in a_ok)
    b_cands = [s for s in b_ok if s["streams"] <= a_max] or [min(b_ok, key=lambda s: s["streams"])]
    bs = max(b_cands, key=lambda s: s["streams"])
    as_ = min(a_ok, key=lambda s: abs(s["streams"] - bs["streams"]))
    return as_["cpu_s_per_stream_s"] / bs["cpu_s_per_stream_s"], as_["streams"], bs["streams"]


def marginal_cpu(steps: list[dict[str, Any]]) -> tuple[float, float] | None:
    """Least-squares fit of SFU cores vs streams over held steps: (slope, intercept).

    The slope is the CPU seconds one more forwarded stream costs per second, without the
    SFU's fixed cost (timers, idle connections) that the average includes at low load.
    """
    return fit_line([(s["streams"], s["sfu_cpu_cores"]) for s in steps if held(s)])


def summarize(result: dict[str, Any], direct_ms: float | None) -> dict[str, Any]:
    steps = result["steps"]
    ok = [s for s in steps if held(s)]
    loose = [s for s in steps if held(s, strict=False)]
    best = max(ok, key=lambda s: s["streams"]) if ok else None
    light = steps[0] if steps else None
    cpu = (
        best["cpu_s_per_stream_s"] if best else (steps[-1]["cpu_s_per_stream_s"] if steps else None)
    )
    fit = marginal_cpu(steps)
    # joins while at most LIGHT_STREAMS streams were forwarded (the step's own joins)
    light_steps = [s for s in steps if s["streams"] <= LIGHT_STREAMS]
    light_joins = [j for s in light_steps for j in s.get("joins_ms", [])]
    if not light_joins:  # JSON written before per-step join lists: the steps' medians
        light_joins = [
            s["join_to_first_keyframe_ms_median"]
            for s in light_steps
            if s.get("join_to_first_keyframe_ms_median") is not None
        ]
    summary: dict[str, Any] = {
        "cpu_s_per_stream_s": cpu,
        "marginal_cpu_s_per_stream_s": fit[0] if fit else None,
        "fixed_cpu_cores": fit[1] if fit else None,
        "max_streams_ok": best["streams"] if best else 0,
        "max_streams_loss_only": max((s["streams"] for s in loose), default=0),
        "sfu_cores_at_max": best["sfu_cpu_cores"] if best else None,
        "generator_cores_at_max": best["generator_cpu_cores"] if best else None,
        "streams_per_core_est": (1 / cpu) if cpu else None,
        "stopped_by": result["stopped_by"],
        "latency_ms_median": light["latency_ms_median"] if light else None,
        "latency_ms_p95": light["latency_ms_p95"] if light else None,
        "added_latency_ms_median": (
            light["latency_ms_median"] - direct_ms
            if light and light["latency_ms_median"] is not None and direct_ms is not None
            else None
        ),
        "latency_ms_median_at_max": best["latency_ms_median"] if best else None,
        "join_to_first_frame_ms_median": percentile(light_joins, 50),
        "join_to_first_frame_ms_p95": percentile(light_joins, 95),
        "join_to_first_frame_ms_median_all": percentile(result["joins_ms"], 50),
        "join_to_first_frame_ms_p95_all": percentile(result["joins_ms"], 95),
        "mem_per_participant_bytes": (
            (best["sfu_rss_bytes"] - result.get("idle_rss_bytes", 0)) / best["participants"]
            if best and best["participants"]
            else None
        ),
        "kbps_per_stream": best["kbps_per_stream"] if best else None,
        "kernel_share_at_max": best.get("sfu_kernel_share") if best else None,
    }
    return summary


def print_table(
    summaries: dict[str, dict[str, Any]], direct: dict[str, Any] | None, results: dict[str, Any]
) -> list[str]:
    names = [n for n in ("arbiter", "janus", "naive", "arbiter-marker") if n in summaries]
    rows = [
        (
            "SFU CPU per forwarded stream-second (at max held load)",
            "cpu_s_per_stream_s",
            lambda v: f"{v * 1000:.2f} ms/s",
        ),
        (
            "SFU CPU per stream-second, marginal (slope over held steps)",
            "marginal_cpu_s_per_stream_s",
            lambda v: f"{v * 1000:.2f} ms/s",
        ),
        ("  fixed SFU CPU (intercept)", "fixed_cpu_cores", lambda v: f"{v:.3f} cores"),
        (
            f"streams held (<1% loss, p95 < {LATENCY_P95_LIMIT_MS:.0f} ms, <1 core), measured",
            "max_streams_ok",
            lambda v: f"{v}",
        ),
        ("  SFU cores used at that load", "sfu_cores_at_max", lambda v: f"{v:.2f}"),
        ("  load generator cores at that load", "generator_cores_at_max", lambda v: f"{v:.2f}"),
        ("  streams with <1% loss, latency ignored", "max_streams_loss_only", lambda v: f"{v}"),
        ("  ramp stopped by", "stopped_by", str),
        ("streams per core (1 / CPU per stream)", "streams_per_core_est", lambda v: f"{v:.0f}"),
        ("one-way latency median (light load)", "latency_ms_median", lambda v: f"{v:.1f} ms"),
        ("one-way latency p95 (light load)", "latency_ms_p95", lambda v: f"{v:.1f} ms"),
        ("added latency median (- direct)", "added_latency_ms_median", lambda v: f"{v:.1f} ms"),
        ("latency median at max load", "latency_ms_median_at_max", lambda v: f"{v:.1f} ms"),
        (
            f"join to first key frame median (<= {LIGHT_STREAMS} streams)",
            "join_to_first_frame_ms_median",
            lambda v: f"{v:.0f} ms",
        ),
        (
            f"join to first key frame p95 (<= {LIGHT_STREAMS} streams)",
            "join_to_first_frame_ms_p95",
            lambda v: f"{v:.0f} ms",
        ),
        (
            "join to first key frame p95, all steps",
            "join_to_first_frame_ms_p95_all",
            lambda v: f"{v:.0f} ms",
        ),
        ("SFU RSS per participant", "mem_per_participant_bytes", lambda v: f"{v / 1e6:.2f} MB"),
        ("received kbit/s per stream", "kbps_per_stream", lambda v: f"{v:.0f}"),
        (
            "SFU CPU in the kernel (stime share)",
            "kernel_share_at_max",
            lambda v: f"{100 * v:.0f} %",
        ),
    ]
    width = 44
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, key, fmt in rows:
        cells = []
        for n in names:
            v = summaries[n].get(key)
            cells.append("-" if v is None else fmt(v))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if direct is not None:
        lines.append(
            f"| direct (no SFU) latency median / p95 | "
            f"{_f(direct.get('latency_ms_median'), 2)} / {_f(direct.get('latency_ms_p95'), 2)} ms"
            + " |"
            * len(names)
        )
    print()
    print("\n".join(lines))
    ratios = []
    a = summaries.get("arbiter", {})
    for other in ("janus", "naive"):
        o = summaries.get(other, {})
        if a.get("cpu_s_per_stream_s") and o.get("cpu_s_per_stream_s"):
            r = a["cpu_s_per_stream_s"] / o["cpu_s_per_stream_s"]
            ratios.append(
                f"CPU per stream Arbiter/{other}, each at its max held load: {r:.2f}x"
                + (f" (naive/Arbiter {1 / r:.1f}x)" if other == "naive" else "")
            )
        if a.get("marginal_cpu_s_per_stream_s") and o.get("marginal_cpu_s_per_stream_s"):
            r = a["marginal_cpu_s_per_stream_s"] / o["marginal_cpu_s_per_stream_s"]
            ratios.append(
                f"CPU per stream Arbiter/{other}, marginal: {r:.2f}x"
                + (f" (naive/Arbiter {1 / r:.1f}x)" if other == "naive" else "")
            )
        m = (
            matched_cpu_ratio(results["arbiter"], results[other])
            if ("arbiter" in results and other in results)
            else None
        )
        if m is not None:
            ratios.append(
                f"CPU per stream Arbiter/{other} at matched load (Arbiter {m[1]} streams, "
                f"{other} {m[2]}): {m[0]:.2f}x"
                + (f" (naive/Arbiter {1 / m[0]:.1f}x)" if other == "naive" else "")
            )
        if a.get("latency_ms_median") is not None and o.get("latency_ms_median") is not None:
            ratios.append(
                f"latency median Arbiter/{other}: "
                f"{a['latency_ms_median'] / o['latency_ms_median']:.2f}x"
            )
    print()
    for r in ratios:
        print(r)
    _ = width
    return lines + [""] + ratios


async def main_async(args: argparse.Namespace, children: Children) -> dict[str, Any]:
    plan = make_plan(args.quick, args.publishers)
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
    for name in plan.targets:
        print(f"[{name}]", flush=True)
        results[name] = await run_target(name, plan, clip, children, workdir)
    direct = results.get("direct", {}).get("steps", [{}])
    direct_step = direct[0] if direct else {}
    direct_ms = direct_step.get("latency_ms_median")
    summaries = {n: summarize(r, direct_ms) for n, r in results.items() if n != "direct"}
    lines = print_table(summaries, direct_step, results)
    return {
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
        default=None,
        metavar="JSON",
        help="only print the table of an earlier run's JSON",
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
        data = json.loads(args.summarize.read_text())
        results = data["results"]
        direct_step = (results.get("direct", {}).get("steps") or [{}])[0]
        summaries = {
            n: summarize(r, direct_step.get("latency_ms_median"))
            for n, r in results.items()
            if n != "direct"
        }
        print(f"{data.get('command')}  started {data.get('started')}  load {data['machine']}")
        print_table(summaries, direct_step, results)
        return 0
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
