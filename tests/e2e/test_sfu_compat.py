"""Signaling tolerates an SFU one version older: a redeploy changes the functions at once,
while SFU tasks started before it keep running the previous release's code.

The previous release's packages (``tests/fixtures/release-<commit>.tar.gz``, made with
``git archive <commit> arbiter_protocol arbiter_server arbiter_client | gzip``, so the test
needs no git history) are put first
on the SFU processes' ``PYTHONPATH``; the room API and signaling run this checkout's code.
Two clients must get each other's video through that older SFU.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from arbiter_client import Room
from arbiter_server.launcher import SubprocessLauncher
from arbiter_server.local import LocalStack, LocalStackConfig
from tests.e2e.probe import MediaProbe

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parents[2]

PREVIOUS_RELEASE = "eb5b7bb9da5f76f40acf2490d162804d9a87432d"
"""The commit deployments run before this one: move it forward at each release (a
deployment's running SFUs are at most one release behind its functions)."""

PREVIOUS_RELEASE_ARCHIVE = ROOT / "tests" / "fixtures" / f"release-{PREVIOUS_RELEASE[:7]}.tar.gz"


def _previous_packages(target: Path) -> Path:
    with tarfile.open(PREVIOUS_RELEASE_ARCHIVE) as tar:
        tar.extractall(target, filter="data")
    return target


@pytest.fixture
async def old_sfu_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[LocalStack]:
    old = _previous_packages(tmp_path / "previous")
    monkeypatch.setenv("PYTHONPATH", str(old))  # read by the SFU child processes only
    stack = LocalStack(LocalStackConfig(data_dir=tmp_path / "data", port=0, pool_size=0))
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


async def test_media_flows_through_an_sfu_of_the_previous_release(
    old_sfu_stack: LocalStack, tmp_path: Path
) -> None:
    url = await old_sfu_stack.create_room("mixed")
    # the room's SFU process imports the previous release's code
    launcher = old_sfu_stack.launcher
    assert isinstance(launcher, SubprocessLauncher)
    (pid,) = launcher.pids()
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    python_path = next(v for v in environ if v.startswith(b"PYTHONPATH=")).decode()[11:]
    probe = subprocess.run(
        [sys.executable, "-c", "import arbiter_server.sfu.cli as m; print(m.__file__)"],
        env={**os.environ, "PYTHONPATH": python_path},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert probe.stdout.strip() == str(tmp_path / "previous/arbiter_server/sfu/cli.py")
    alice = await Room.join(url, name="alice", video_size=(320, 240))
    bob = await Room.join(url, name="bob", video_size=(352, 288))
    probes = MediaProbe(alice), MediaProbe(bob)
    try:
        await probes[0].wait_for(lambda: probes[0].video_sizes.get(bob.participant_id), 20)
        await probes[1].wait_for(lambda: probes[1].video_sizes.get(alice.participant_id), 20)
        assert probes[0].video_sizes[bob.participant_id] == (352, 288)
        assert probes[1].video_sizes[alice.participant_id] == (320, 240)
    finally:
        for probe in probes:
            await probe.close()
        for room in (alice, bob):
            await room.leave()
