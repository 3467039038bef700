"""The soak's summary logic (benchmarks/soak_report.py) on made-up samples: fast, no stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.soak_report import format_table, growth, plot, summarize

pytestmark = pytest.mark.timeout(30)


def _samples(
    minutes: float = 30,
    rss_growth_per_s: float = 0.0,
    lost_every: int = 0,
    fds_after: tuple[float, int] | None = None,
    interval: float = 10.0,
) -> list[dict[str, Any]]:
    out = []
    n = int(minutes * 60 / interval)
    for i in range(n + 1):
        t = i * interval
        fds = 30 + (fds_after[1] if fds_after and t >= fds_after[0] else 0)
        frames = 150 - (1 if lost_every and i % lost_every == 0 else 0)
        client = {
            "frames": frames,
            "expected": 150,
            "packets": 400,
            "packets_expected": 400,
            "jitter_ms": 2.0,
            "rtt_ms": 1.0,
        }
        out.append(
            {
                "t": t,
                "gateway": {"pid": 1, "cpu": 0.01, "rss": 50e6, "threads": 5, "fds": 20},
                "rooms": {
                    "r0": {
                        "sfu": {
                            "pid": 2,
                            "cpu": 0.05,
                            "rss": 100e6 + rss_growth_per_s * t,
                            "threads": 6,
                            "fds": fds,
                            "tasks": 45,
                            "peer_connections": 7,
                        },
                        "clients": {"a": dict(client), "probe": dict(client)},
                    }
                },
            }
        )
    return out


def test_a_steady_run_passes_every_target() -> None:
    summary = summarize(_samples())
    assert summary.passed, format_table(summary)
    (room,) = summary.rooms
    assert room.loss == 0 and room.frames == room.expected == 2 * 150 * 180
    assert (summary.warmup, summary.checkpoint) == (300, 600)
    assert (
        room.counts_at_checkpoint
        == room.counts_at_end
        == {
            "tasks": 45,
            "threads": 6,
            "fds": 30,
            "peer_connections": 7,
        }
    )
    table = format_table(summary)
    assert "| r0 | 0.00 %" in table and table.endswith("verdict: PASS")


def test_loss_over_one_percent_fails_the_room() -> None:
    summary = summarize(_samples(lost_every=1))  # 1 frame in 150 per client: 0.67 %
    assert summary.passed
    summary = summarize(_lossy(2))
    (room,) = summary.rooms
    assert room.loss is not None and room.loss > 0.01
    failed = [c.name for c in summary.checks if not c.passed]
    assert failed == ["r0: frame loss < 1%"]


def _lossy(frames_lost: int) -> list[dict[str, Any]]:
    samples = _samples()
    for sample in samples[1:]:
        sample["rooms"]["r0"]["clients"]["a"]["frames"] -= frames_lost * 2
    return samples


def test_memory_that_keeps_growing_after_the_warm_up_fails() -> None:
    # 100 MB growing 4 kB/s: +6 MB over the 25 minutes after warm-up, about 6 %
    summary = summarize(_samples(rss_growth_per_s=4e3))
    failed = [c.name for c in summary.checks if not c.passed]
    assert failed == ["r0: SFU memory flat after 300 s (< 5%)"]
    assert summary.rooms[0].sfu_rss_growth == pytest.approx(0.057, abs=0.002)
    # growth during the warm-up only does not count
    steady = _samples()
    for sample in steady:
        if sample["t"] < 300:
            sample["rooms"]["r0"]["sfu"]["rss"] = 60e6 + sample["t"] * 1e5
    assert summarize(steady).passed


def test_a_descriptor_leaked_after_the_checkpoint_fails_but_a_transient_one_does_not() -> None:
    leaky = summarize(_samples(fds_after=(900, 3)))
    failed = [c.name for c in leaky.checks if not c.passed]
    assert failed == ["r0: SFU tasks/threads/fds/PCs equal at 600 s and the end"]
    assert leaky.rooms[0].counts_at_end["fds"] == 33
    transient = _samples()
    transient[-1]["rooms"]["r0"]["sfu"]["fds"] = 31  # open at the moment of one sample
    assert summarize(transient).passed


def test_short_runs_scale_warm_up_and_checkpoint() -> None:
    summary = summarize(_samples(minutes=1, interval=5))
    assert (summary.warmup, summary.checkpoint) == (10, 20)
    assert summary.passed


def test_growth_is_the_fitted_line_over_the_span_relative_to_the_mean() -> None:
    assert growth([(0, 100), (10, 110), (20, 120)]) == pytest.approx(0.2 * 100 / 110)
    assert growth([(0, 100), (10, 100)]) is None  # too few points


def test_the_plot_is_a_png(tmp_path: Path) -> None:
    path = tmp_path / "soak.png"
    plot(_samples(minutes=2), path, "test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
