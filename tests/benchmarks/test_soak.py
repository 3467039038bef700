"""The soak benchmark end to end, for about a minute (slow: not in the default run).

.venv/bin/pytest -m slow tests/benchmarks/test_soak.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_a_one_minute_soak_samples_every_client_and_judges_the_targets(tmp_path: Path) -> None:
    output = tmp_path / "soak.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.soak",
            "--rooms",
            "2",
            "--participants",
            "2",
            "--minutes",
            "1",
            "--interval",
            "5",
            # sockets idle for 5 s are closed: every client must keep its socket busy
            # (without keepalive the lean bots left every room after the idle timeout)
            "--idle-timeout",
            "5",
            "--output",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode in (0, 1), run.stdout + run.stderr  # 2: the run itself failed
    data = json.loads(output.read_text())
    samples = data["samples"]
    assert len(samples) == 13 and samples[-1]["t"] >= 59.5
    for sample in samples[1:]:
        assert set(sample["rooms"]) == {"soak-0", "soak-1"}
        for room in sample["rooms"].values():
            # two bots and the probe, each with one producer and one consumer connection
            assert room["sfu"]["rss"] > 0 and room["sfu"]["peer_connections"] == 6
            # two bots and the decoding probe, each receiving video all along
            assert "probe" in room["clients"] and len(room["clients"]) == 3
            for client in room["clients"].values():
                assert client["frames"] > 0 and client["expected"] > 0
        assert sample["gateway"]["rss"] > 0
    summary = data["summary"]
    for room in summary["rooms"]:
        assert room["loss"] < 0.01 and room["rtt_ms_median"] is not None
    assert output.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert "| soak-0 |" in run.stdout and "verdict: " in run.stdout
    assert run.returncode == (0 if summary["passed"] else 1)
