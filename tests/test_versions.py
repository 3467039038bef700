"""One version: the distribution's metadata, which ``pyproject.toml`` takes from
``arbiter_protocol.__version__``; both commands print it."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import arbiter_client
import arbiter_protocol
import arbiter_server

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("command", ["arbiter-server", "arbiter-tui"])
def test_command_prints_the_package_version(command: str) -> None:
    out = subprocess.run(
        [str(BIN / command), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{command} {version('arbiter-video')}"


def test_packages_report_the_distribution_version() -> None:
    expected = version("arbiter-video")
    assert arbiter_protocol.__version__ == expected
    assert arbiter_client.__version__ == expected
    assert arbiter_server.__version__ == expected
