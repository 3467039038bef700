"""The SFU benchmark's analysis: what a step "held", the per-target summary, the table,
the figures the targets of issue 17 are stated in, and their median over several runs.

    .venv/bin/python -m benchmarks.sfu_bench --summarize run1.json run2.json run3.json
"""

from __future__ import annotations

import statistics
from typing import Any

from .media import fit_line, percentile

LOSS_LIMIT = 0.01
"A step with more packet or frame loss is not held (and ends the ramp)."
LIGHT_STREAMS = 60
"Steps up to this many streams count as light load for join times."
LATENCY_P95_LIMIT_MS = 100.0
"A step with a higher p95 one-way latency is not counted as 'held' in the strict column."


def show(x: float | None, digits: int = 1) -> str:
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
        # first key frame at a new consumer, from its DTLS connection, at every held step
        "keyframe_ms_median_worst": max(
            (s["keyframe_from_connected_ms_median"] for s in ok if _has_keyframes(s)),
            default=None,
        ),
        "keyframe_ms_p95_worst": max(
            (s["keyframe_from_connected_ms_p95"] for s in ok if _has_keyframes(s)), default=None
        ),
    }
    return summary


def _has_keyframes(step: dict[str, Any]) -> bool:
    return step.get("keyframe_from_connected_ms_median") is not None


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
        (
            "first key frame from DTLS, median, worst held step",
            "keyframe_ms_median_worst",
            lambda v: f"{v:.0f} ms",
        ),
        (
            "first key frame from DTLS, p95, worst held step",
            "keyframe_ms_p95_worst",
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
            f"{show(direct.get('latency_ms_median'), 2)} / "
            f"{show(direct.get('latency_ms_p95'), 2)} ms" + " |" * len(names)
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
    targets = combine([figures(summaries, results)])
    print()
    print("\n".join(targets))
    return lines + [""] + ratios + [""] + targets


def keyframe_p95_excess(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, int] | None:
    """The largest (``a``'s p95 - ``b``'s p95) first-key-frame time over the steps (same
    subscriber count) both held: (ms, streams); <= 0 when ``a`` is never slower."""
    b_steps = {s["subscribers"]: s for s in b["steps"] if held(s) and _has_keyframes(s)}
    worst: tuple[float, int] | None = None
    for s in a["steps"]:
        o = b_steps.get(s["subscribers"])
        if o is None or not held(s) or not _has_keyframes(s):
            continue
        d = s["keyframe_from_connected_ms_p95"] - o["keyframe_from_connected_ms_p95"]
        if worst is None or d > worst[0]:
            worst = (d, s["streams"])
    return worst


FIGURES: list[tuple[str, str, str, float | None]] = [
    ("cpu_marginal_ratio", "CPU per forwarded stream Arbiter/Janus, marginal", "<=", 0.8),
    ("cpu_matched_ratio", "CPU per forwarded stream Arbiter/Janus, matched load", "<=", 0.8),
    ("streams_held_arbiter", "streams held, Arbiter", "", None),
    ("streams_held_janus", "streams held, Janus", "", None),
    ("streams_held_ratio", "streams held Arbiter/Janus", ">=", 1.0),
    ("keyframe_median_worst_ms", "first key frame from DTLS, median, worst step (ms)", "<=", 300),
    ("keyframe_p95_excess_ms", "first key frame p95 Arbiter - Janus, worst step (ms)", "<=", 0),
    ("rss_per_participant_mb", "SFU RSS per participant, Arbiter (MB)", "<=", 0.6),
    ("added_latency_median_ms", "added latency median, Arbiter (ms)", "<=", 1.0),
]
"(key, label, comparison, target) of the figures issue 17 sets targets for."


def figures(summaries: dict[str, dict[str, Any]], results: dict[str, Any]) -> dict[str, Any]:
    """One run's values of :data:`FIGURES` (None where a target did not run or hold)."""
    a = summaries.get("arbiter", {})
    j = summaries.get("janus", {})
    out: dict[str, Any] = {k: None for k, *_ in FIGURES}
    if a.get("marginal_cpu_s_per_stream_s") and j.get("marginal_cpu_s_per_stream_s"):
        ratio = a["marginal_cpu_s_per_stream_s"] / j["marginal_cpu_s_per_stream_s"]
        out["cpu_marginal_ratio"] = ratio
    if "arbiter" in results and "janus" in results:
        m = matched_cpu_ratio(results["arbiter"], results["janus"])
        out["cpu_matched_ratio"] = m[0] if m else None
        k = keyframe_p95_excess(results["arbiter"], results["janus"])
        out["keyframe_p95_excess_ms"] = k[0] if k else None
    out["streams_held_arbiter"] = a.get("max_streams_ok")
    out["streams_held_janus"] = j.get("max_streams_ok")
    if a.get("max_streams_ok") is not None and j.get("max_streams_ok"):
        out["streams_held_ratio"] = a["max_streams_ok"] / j["max_streams_ok"]
    out["keyframe_median_worst_ms"] = a.get("keyframe_ms_median_worst")
    if a.get("mem_per_participant_bytes") is not None:
        out["rss_per_participant_mb"] = a["mem_per_participant_bytes"] / 1e6
    out["added_latency_median_ms"] = a.get("added_latency_ms_median")
    return out


def _meets(value: float, op: str, target: float) -> bool:
    return value <= target if op == "<=" else value >= target


def combine(runs: list[dict[str, Any]]) -> list[str]:
    """Each figure's median over ``runs`` with its spread (min..max) and the target."""
    lines = [
        f"figure | median of {len(runs)} | spread (min..max) | per run | target | met",
        "---|---|---|---|---|---",
    ]
    for key, label, op, target in FIGURES:
        values = [r.get(key) for r in runs]
        got = [v for v in values if v is not None]
        if not got:
            lines.append(f"{label} | - | - | - | {op} {target} | -")
            continue
        med = statistics.median(got)
        per_run = ", ".join("-" if v is None else f"{v:.3g}" for v in values)
        goal = f"{op} {target:g}" if target is not None else ""
        met = ("yes" if _meets(med, op, target) else "NO") if target is not None else ""
        lines.append(
            f"{label} | {med:.3g} | {min(got):.3g}..{max(got):.3g} | {per_run} | {goal} | {met}"
        )
    return lines
