"""What a soak run means: per-room figures, the targets and a verdict, a table and a plot.

Input is the list of samples :mod:`benchmarks.soak` takes every interval (see
``Sample`` below, plain dicts so the JSON file reads back the same). Every count of frames
or packets in a sample covers the interval since the previous sample.

Targets (issue 14), for a run of ``T`` seconds:

* loss: every room's frame loss (frames received / frames its publishers sent to the
  receivers) under 1 %;
* memory flat after the warm-up (``min(300 s, T/6)``): a least-squares line through the RSS
  samples after the warm-up grows by less than 5 % of their mean over that span, for every
  SFU and for the gateway;
* no leaks: each SFU's tasks, threads, file descriptors and peer connections, and the
  gateway's threads and file descriptors, are the same at the checkpoint
  (``min(600 s, T/3)``) and at the end; each is the median of three samples (the first
  three from the checkpoint on, the last three), so a descriptor open for one request at
  the moment of a sample does not count as a leak.

For the 30-minute run these are the issue's "after the first 5 minutes" and "at 10 and at
30 minutes".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .media import fit_line

LOSS_TARGET = 0.01
MEMORY_GROWTH_TARGET = 0.05
WARMUP_MAX = 300.0
CHECKPOINT_MAX = 600.0
SFU_COUNTS = ("tasks", "threads", "fds", "peer_connections")
GATEWAY_COUNTS = ("threads", "fds")
WINDOW = 3
"Samples whose median stands for a count at the checkpoint and at the end."

Sample = dict[str, Any]
"""``{"t": seconds since the baseline, "gateway": {pid, cpu, rss, threads, fds},
"rooms": {room: {"sfu": {pid, cpu, rss, threads, fds, tasks, peer_connections} | None,
"clients": {name: {frames, expected, packets, packets_expected, jitter_ms, rtt_ms}}}}}``;
``cpu`` in cores over the interval, ``rss`` in bytes."""


def warmup_of(duration: float) -> float:
    """Seconds after which memory must stay flat."""
    return min(WARMUP_MAX, duration / 6)


def checkpoint_of(duration: float) -> float:
    """The time whose resource counts must equal the last sample's."""
    return min(CHECKPOINT_MAX, duration / 3)


def growth(points: list[tuple[float, float]]) -> float | None:
    """Growth of a least-squares line over ``points`` ``(t, value)``, relative to their mean.

    ``slope * (t_last - t_first) / mean``; None with fewer than three points.
    """
    fit = fit_line(points) if len(points) >= 3 else None
    mean = sum(v for _, v in points) / len(points) if points else 0.0
    if fit is None or mean == 0:
        return None
    return fit[0] * (points[-1][0] - points[0][0]) / mean


def _value_at(samples: list[Sample], t: float, pick: Any) -> Any:
    """The median of ``pick(sample)`` over the first :data:`WINDOW` samples at or after
    ``t`` that have it (a descriptor opened for one request is not a leak)."""
    values = [v for s in samples if s["t"] >= t and (v := pick(s)) is not None][:WINDOW]
    return _median(values)


def _value_at_end(samples: list[Sample], pick: Any) -> Any:
    """The median of ``pick(sample)`` over the last :data:`WINDOW` samples that have it."""
    values = [v for s in samples if (v := pick(s)) is not None][-WINDOW:]
    return _median(values)


def _median(values: list[Any]) -> Any:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass
class RoomSummary:
    """One room over the run."""

    room: str
    frames: int
    expected: int
    packets: int
    packets_expected: int
    loss: float | None
    "Frame loss: 1 - frames / expected."
    packet_loss: float | None
    worst_client: str | None
    worst_client_loss: float | None
    jitter_ms_median: float | None
    jitter_ms_max: float | None
    rtt_ms_median: float | None
    sfu_cpu_mean: float | None
    "Cores."
    sfu_rss_first_mb: float | None
    sfu_rss_last_mb: float | None
    sfu_rss_growth: float | None
    counts_at_checkpoint: dict[str, int | None] = field(default_factory=dict)
    counts_at_end: dict[str, int | None] = field(default_factory=dict)


@dataclass
class Check:
    """One target and whether the run met it."""

    name: str
    passed: bool
    detail: str


@dataclass
class Summary:
    """The whole run: rooms, gateway, checks and the verdict."""

    duration: float
    warmup: float
    checkpoint: float
    rooms: list[RoomSummary]
    gateway_rss_first_mb: float | None
    gateway_rss_last_mb: float | None
    gateway_rss_growth: float | None
    gateway_cpu_mean: float | None
    gateway_counts_at_checkpoint: dict[str, int | None]
    gateway_counts_at_end: dict[str, int | None]
    checks: list[Check]

    @property
    def passed(self) -> bool:
        """Every target met."""
        return all(c.passed for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**asdict(self), "passed": self.passed}


def summarize(samples: list[Sample], duration: float | None = None) -> Summary:
    """Figures and checks of a run (``duration`` defaults to the last sample's time)."""
    if not samples:
        raise ValueError("no samples")
    duration = duration if duration is not None else float(samples[-1]["t"])
    warmup, checkpoint = warmup_of(duration), checkpoint_of(duration)
    rooms = sorted({r for s in samples for r in s["rooms"]})
    summaries = [_room(samples, room, warmup, checkpoint) for room in rooms]
    gw_rss = [(s["t"], s["gateway"]["rss"]) for s in samples if s["gateway"].get("rss")]
    gw_cpu = [s["gateway"]["cpu"] for s in samples if s["gateway"].get("cpu") is not None]
    gateway_growth = growth([p for p in gw_rss if p[0] >= warmup])
    gw_at = {
        k: _value_at(samples, checkpoint, lambda s, k=k: s["gateway"].get(k))
        for k in GATEWAY_COUNTS
    }
    gw_end = {k: _value_at_end(samples, lambda s, k=k: s["gateway"].get(k)) for k in GATEWAY_COUNTS}
    checks = _checks(summaries, gateway_growth, gw_at, gw_end, warmup, checkpoint)
    return Summary(
        duration=duration,
        warmup=warmup,
        checkpoint=checkpoint,
        rooms=summaries,
        gateway_rss_first_mb=gw_rss[0][1] / 1e6 if gw_rss else None,
        gateway_rss_last_mb=gw_rss[-1][1] / 1e6 if gw_rss else None,
        gateway_rss_growth=gateway_growth,
        gateway_cpu_mean=sum(gw_cpu) / len(gw_cpu) if gw_cpu else None,
        gateway_counts_at_checkpoint=gw_at,
        gateway_counts_at_end=gw_end,
        checks=checks,
    )


def _room(samples: list[Sample], room: str, warmup: float, checkpoint: float) -> RoomSummary:
    present = [s for s in samples if room in s["rooms"]]
    per_client: dict[str, list[int]] = {}
    totals = [0, 0, 0, 0]
    jitters: list[float] = []
    rtts: list[float] = []
    for sample in present[1:]:  # the first sample is the baseline
        for name, c in sample["rooms"][room]["clients"].items():
            got = per_client.setdefault(name, [0, 0])
            got[0] += c.get("frames", 0)
            got[1] += c.get("expected", 0)
            totals[0] += c.get("frames", 0)
            totals[1] += c.get("expected", 0)
            totals[2] += c.get("packets", 0)
            totals[3] += c.get("packets_expected", 0)
            if c.get("jitter_ms") is not None:
                jitters.append(c["jitter_ms"])
            if c.get("rtt_ms") is not None:
                rtts.append(c["rtt_ms"])
    worst, worst_loss = None, None
    for name, (frames, expected) in per_client.items():
        loss = 1 - frames / expected if expected else None
        if loss is not None and (worst_loss is None or loss > worst_loss):
            worst, worst_loss = name, loss
    sfus = [(s["t"], s["rooms"][room]["sfu"]) for s in present if s["rooms"][room].get("sfu")]
    rss = [(t, sfu["rss"]) for t, sfu in sfus if sfu.get("rss")]
    cpu = [sfu["cpu"] for _, sfu in sfus[1:] if sfu.get("cpu") is not None]

    def count(k: str) -> Any:
        return lambda s: (s["rooms"].get(room, {}).get("sfu") or {}).get(k)

    return RoomSummary(
        room=room,
        frames=totals[0],
        expected=totals[1],
        packets=totals[2],
        packets_expected=totals[3],
        loss=1 - totals[0] / totals[1] if totals[1] else None,
        packet_loss=1 - totals[2] / totals[3] if totals[3] else None,
        worst_client=worst,
        worst_client_loss=worst_loss,
        jitter_ms_median=_median(jitters),
        jitter_ms_max=max(jitters) if jitters else None,
        rtt_ms_median=_median(rtts),
        sfu_cpu_mean=sum(cpu) / len(cpu) if cpu else None,
        sfu_rss_first_mb=rss[0][1] / 1e6 if rss else None,
        sfu_rss_last_mb=rss[-1][1] / 1e6 if rss else None,
        sfu_rss_growth=growth([p for p in rss if p[0] >= warmup]),
        counts_at_checkpoint={k: _value_at(present, checkpoint, count(k)) for k in SFU_COUNTS},
        counts_at_end={k: _value_at_end(present, count(k)) for k in SFU_COUNTS},
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def _checks(
    rooms: list[RoomSummary],
    gateway_growth: float | None,
    gw_at: dict[str, int | None],
    gw_end: dict[str, int | None],
    warmup: float,
    checkpoint: float,
) -> list[Check]:
    checks: list[Check] = []
    for r in rooms:
        checks.append(
            Check(
                f"{r.room}: frame loss < {LOSS_TARGET:.0%}",
                r.loss is not None and r.loss < LOSS_TARGET,
                f"{_pct(r.loss)} ({r.frames}/{r.expected} frames; worst client "
                f"{r.worst_client} {_pct(r.worst_client_loss)})",
            )
        )
    for name, g in [
        *((f"{r.room}: SFU", r.sfu_rss_growth) for r in rooms),
        ("gateway", gateway_growth),
    ]:
        checks.append(
            Check(
                f"{name} memory flat after {warmup:.0f} s (< {MEMORY_GROWTH_TARGET:.0%})",
                g is not None and g < MEMORY_GROWTH_TARGET,
                "not enough samples" if g is None else f"fitted growth {g * 100:+.2f} %",
            )
        )
    for r in rooms:
        same = all(
            r.counts_at_checkpoint.get(k) is not None
            and r.counts_at_checkpoint.get(k) == r.counts_at_end.get(k)
            for k in SFU_COUNTS
        )
        checks.append(
            Check(
                f"{r.room}: SFU tasks/threads/fds/PCs equal at {checkpoint:.0f} s and the end",
                same,
                " ".join(
                    f"{k} {r.counts_at_checkpoint.get(k)}->{r.counts_at_end.get(k)}"
                    for k in SFU_COUNTS
                ),
            )
        )
    same = all(gw_at.get(k) is not None and gw_at.get(k) == gw_end.get(k) for k in GATEWAY_COUNTS)
    checks.append(
        Check(
            f"gateway threads/fds equal at {checkpoint:.0f} s and the end",
            same,
            " ".join(f"{k} {gw_at.get(k)}->{gw_end.get(k)}" for k in GATEWAY_COUNTS),
        )
    )
    return checks


def _f(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_table(summary: Summary) -> str:
    """A Markdown table of the rooms and the gateway, then the checks and the verdict."""
    lines = [
        "| room | frame loss | packet loss | worst client | jitter median / max | RTT median "
        "| SFU CPU | SFU RSS first -> last | RSS growth after warm-up "
        "| tasks / threads / fds / PCs at checkpoint -> end |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary.rooms:
        counts = " / ".join(
            f"{r.counts_at_checkpoint.get(k)}->{r.counts_at_end.get(k)}" for k in SFU_COUNTS
        )
        lines.append(
            f"| {r.room} | {_pct(r.loss)} | {_pct(r.packet_loss)} | "
            f"{r.worst_client or '-'} {_pct(r.worst_client_loss)} | "
            f"{_f(r.jitter_ms_median, '.1f')} / {_f(r.jitter_ms_max, '.1f')} ms | "
            f"{_f(r.rtt_ms_median, '.1f')} ms | {_f(_scaled(r.sfu_cpu_mean, 100), '.1f')} % | "
            f"{_f(r.sfu_rss_first_mb, '.1f')} -> {_f(r.sfu_rss_last_mb, '.1f')} MB | "
            f"{_f(_scaled(r.sfu_rss_growth, 100), '+.2f')} % | {counts} |"
        )
    gw_counts = " / ".join(
        f"{summary.gateway_counts_at_checkpoint.get(k)}->{summary.gateway_counts_at_end.get(k)}"
        for k in GATEWAY_COUNTS
    )
    gw_cpu = _f(_scaled(summary.gateway_cpu_mean, 100), ".1f")
    gw_first, gw_last = summary.gateway_rss_first_mb, summary.gateway_rss_last_mb
    lines.append(
        f"| gateway | | | | | | {gw_cpu} % | "
        f"{_f(gw_first, '.1f')} -> {_f(gw_last, '.1f')} MB | "
        f"{_f(_scaled(summary.gateway_rss_growth, 100), '+.2f')} % | "
        f"threads / fds {gw_counts} |"
    )
    lines.append("")
    lines.append(
        f"duration {summary.duration:.0f} s, warm-up {summary.warmup:.0f} s, "
        f"checkpoint {summary.checkpoint:.0f} s"
    )
    for check in summary.checks:
        lines.append(f"{'PASS' if check.passed else 'FAIL'}  {check.name}: {check.detail}")
    lines.append(f"verdict: {'PASS' if summary.passed else 'FAIL'}")
    return "\n".join(lines)


def plot(samples: list[Sample], path: Path, title: str = "") -> None:
    """A PNG of the series: SFU CPU, RSS, frame rate and loss, jitter and RTT, counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rooms = sorted({r for s in samples for r in s["rooms"]})
    fig, axes = plt.subplots(3, 2, figsize=(13, 11), sharex=True)
    ts = [s["t"] / 60 for s in samples]

    def series(room: str, pick: Any) -> tuple[list[float], list[float]]:
        xs, ys = [], []
        for s in samples:
            data = s["rooms"].get(room)
            value = pick(data) if data else None
            if value is not None:
                xs.append(s["t"] / 60)
                ys.append(value)
        return xs, ys

    ax = axes[0][0]
    for room in rooms:
        ax.plot(*series(room, lambda d: _scaled((d.get("sfu") or {}).get("cpu"), 100)), label=room)
    ax.plot(ts, [_scaled(s["gateway"].get("cpu"), 100) for s in samples], "k--", label="gateway")
    ax.set_ylabel("CPU (% of a core)")
    ax.set_title("SFU and gateway CPU")
    ax.legend(fontsize=7)

    ax = axes[0][1]
    for room in rooms:
        ax.plot(*series(room, lambda d: _scaled((d.get("sfu") or {}).get("rss"), 1e-6)), label=room)
    ax.plot(ts, [_scaled(s["gateway"].get("rss"), 1e-6) for s in samples], "k--", label="gateway")
    ax.set_ylabel("RSS (MB)")
    ax.set_title("memory")
    ax.legend(fontsize=7)

    ax = axes[1][0]
    interval = [b["t"] - a["t"] for a, b in zip(samples, samples[1:], strict=False)]
    for room in rooms:
        for name in sorted(
            {n for s in samples for n in s["rooms"].get(room, {}).get("clients", {})}
        ):
            xs, ys = [], []
            for s, dt in zip(samples[1:], interval, strict=False):
                c = s["rooms"].get(room, {}).get("clients", {}).get(name)
                if c is not None and dt > 0:
                    xs.append(s["t"] / 60)
                    ys.append(c.get("frames", 0) / dt)
            ax.plot(xs, ys, linewidth=0.8, label=f"{room}/{name}")
    ax.set_ylabel("frames/s received")
    ax.set_title("received frames per client")
    ax.legend(fontsize=5, ncol=2)

    ax = axes[1][1]
    for room in rooms:
        xs, ys = [], []
        for s in samples[1:]:
            clients = s["rooms"].get(room, {}).get("clients", {}).values()
            expected = sum(c.get("expected", 0) for c in clients)
            if expected:
                xs.append(s["t"] / 60)
                ys.append(100 * (1 - sum(c.get("frames", 0) for c in clients) / expected))
        ax.plot(xs, ys, label=room)
    ax.axhline(LOSS_TARGET * 100, color="r", linestyle=":", label="target")
    ax.set_ylabel("frame loss (%)")
    ax.set_title("frame loss per room and interval")
    ax.legend(fontsize=7)

    ax = axes[2][0]
    for room in rooms:
        ax.plot(*series(room, lambda d: _mean_of(d, "jitter_ms")), label=f"{room} jitter")
        ax.plot(*series(room, lambda d: _mean_of(d, "rtt_ms")), linestyle="--", label=f"{room} RTT")
    ax.set_ylabel("ms")
    ax.set_xlabel("minutes")
    ax.set_title("jitter (mean of clients) and RTT")
    ax.legend(fontsize=6)

    ax = axes[2][1]
    for room in rooms:
        for k, style in zip(SFU_COUNTS, ("-", "--", ":", "-."), strict=True):
            ax.plot(
                *series(room, lambda d, k=k: (d.get("sfu") or {}).get(k)),
                style,
                label=f"{room} {k}",
            )
    ax.set_xlabel("minutes")
    ax.set_title("SFU tasks, threads, fds, peer connections")
    ax.legend(fontsize=5, ncol=2)

    fig.suptitle(title or "Arbiter soak")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _mean_of(room: dict[str, Any], key: str) -> float | None:
    values = [c[key] for c in room.get("clients", {}).values() if c.get(key) is not None]
    return sum(values) / len(values) if values else None
