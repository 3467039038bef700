"""CI runs every test: each pytest marker the default run leaves out is run by
``scripts/test`` or ``.ci/run``, except the soak (``slow``) and the benchmarks."""

from __future__ import annotations

import re
import tomllib

from tests.snippets import ROOT

ON_DEMAND = {"slow", "benchmark"}
"Markers only run on demand (hours of soak, performance figures)."


def test_every_marker_left_out_of_the_default_run_is_run_by_ci() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    options = config["tool"]["pytest"]["ini_options"]
    markers = {line.split(":", 1)[0] for line in options["markers"]}
    left_out = set(re.findall(r"not (\w+)", options["addopts"]))
    assert left_out == markers, "every marker is left out of the default run"
    ci = (ROOT / "scripts" / "test").read_text() + (ROOT / ".ci" / "run").read_text()
    run = set(re.findall(r"pytest[^\n]* -m (\w+)", ci))
    assert run == markers - ON_DEMAND
