"""The packaging tests: the wheel and the npm tarball as a user gets them, installed into
fresh environments outside the checkout. Slow-ish (fresh virtual environments install their
dependencies from the package index), so they carry the ``packaging`` marker and CI runs
them after the default suite (``scripts/test``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.snippets import ROOT
from tests.web.conftest import browser  # noqa: F401 - Chromium, for the tests here

BUILD_TIMEOUT = 300
INSTALL_TIMEOUT = 600


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.packaging)


def run(
    cmd: list[str], *, timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; fail the test with its output when it fails."""
    out = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert out.returncode == 0, (
        f"{cmd} exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    )
    return out


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build`` of the checkout: the sdist and the wheel built from it."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], timeout=BUILD_TIMEOUT)
    return out


def wheel_of(dist: Path) -> Path:
    (wheel,) = dist.glob("arbiter_video-*.whl")
    return wheel


class Venv:
    """A fresh virtual environment outside the checkout."""

    def __init__(self, path: Path, find_links: Path) -> None:
        self.path = path
        self.bin = path / "bin"
        self.python = self.bin / "python"
        self.find_links = find_links

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of an activated venv that takes ``arbiter-video`` from ``dist``."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(
            PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}",
            VIRTUAL_ENV=str(self.path),
            PIP_FIND_LINKS=str(self.find_links),  # arbiter-video is not on the index (yet)
            PIP_DISABLE_PIP_VERSION_CHECK="1",
        )
        env.update(extra)
        return env

    def sh(self, line: str, *, timeout: float, cwd: Path, **extra: str) -> str:
        """Run one shell line as a user of this venv would; returns its output."""
        return run(["bash", "-c", line], cwd=cwd, env=self.env(**extra), timeout=timeout).stdout


@pytest.fixture(scope="module")
def make_venv(tmp_path_factory: pytest.TempPathFactory, dist: Path) -> Iterator[type]:
    """``make_venv()`` -> a fresh :class:`Venv` (removed at the end of the module)."""
    made: list[Path] = []

    def make() -> Venv:
        path = tmp_path_factory.mktemp("venv")
        venv.EnvBuilder(with_pip=True, clear=True).create(path)
        made.append(path)
        return Venv(path, dist)

    yield make  # type: ignore[misc]
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def moto_env() -> Iterator[dict[str, str]]:
    """moto as a real server on a free loopback port, and the environment that sends boto3
    there with dummy credentials."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
        }
    finally:
        server.stop()
