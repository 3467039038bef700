"""What ``python -m build`` makes, and how the build gets the web demo page: from the web
SDK's build when it is missing, a clear error without Node.js, nothing with the opt-out the
SFU image uses."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from arbiter_server.infra.buildcontext import copied_files
from tests.packaging.conftest import BUILD_TIMEOUT, wheel_of
from tests.snippets import ROOT

PACKAGES = [
    "arbiter_protocol",
    "arbiter_rtc",
    "arbiter_client",
    "arbiter_server",
    "arbiter_tui",
    "arbiter_admin",
]
ARTIFACTS = ROOT / "test-artifacts"


def test_the_wheel_carries_every_package_the_page_and_the_deploy_files(dist: Path) -> None:
    wheel = wheel_of(dist)
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == set(PACKAGES)
    assert {f"{p}/py.typed" for p in PACKAGES} <= set(names)
    assert "arbiter_server/web/index.html" in names
    assets = [n for n in names if n.startswith("arbiter_server/web/assets/")]
    assert any(n.endswith(".js") for n in assets) and any(n.endswith(".css") for n in assets)
    assert {
        "arbiter_server/deploy/sfu.Dockerfile",
        "arbiter_server/deploy/coturn.Dockerfile",
        "arbiter_server/deploy/coturn-entrypoint.sh",
    } <= set(names)
    assert not [n for n in names if "/tests/" in n or n.startswith("tests/")]
    meta = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-py3')[0]}.dist-info/METADATA")
    text = meta.decode()
    assert "Name: arbiter-video" in text and "License-Expression: MIT" in text
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in text

    (sdist,) = dist.glob("arbiter_video-*.tar.gz")
    members = tarfile.open(sdist).getnames()
    root = members[0].split("/")[0]
    for name in (
        "arbiter_server/web/index.html",
        "deploy/sfu.Dockerfile",
        "apps/web-sdk/src/index.ts",
        "apps/web-sdk/package-lock.json",
        "setup.py",
        "LICENSE",
    ):
        assert f"{root}/{name}" in members, name
    ARTIFACTS.mkdir(exist_ok=True)
    report = {
        "wheel": {"file": wheel.name, "bytes": wheel.stat().st_size, "files": len(names)},
        "sdist": {"file": sdist.name, "bytes": sdist.stat().st_size, "files": len(members)},
    }
    (ARTIFACTS / "packaging-python.json").write_text(json.dumps(report, indent=2))


def _checkout_copy(tmp_path: Path) -> Path:
    """The checkout's files (as ``git ls-files`` lists them) without the built page."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    copy = tmp_path / "src"
    for rel in files:
        if (ROOT / rel).is_file():
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, copy / rel)
    assert not (copy / "arbiter_server" / "web").exists()
    return copy


def _bin_without_node(tmp_path: Path, python: Path | None = None) -> str:
    """A PATH with the interpreter and a shell but neither node nor npm."""
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("sh", "bash", "git"):
        found = shutil.which(tool)
        if found:
            (bare / tool).symlink_to(found)
    return f"{(python or Path(sys.executable)).parent}{os.pathsep}{bare}"


def _wheel(source: Path, out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``pip wheel`` of ``source`` with this venv's setuptools (no index needed)."""
    full = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out)]
        + ["-q", str(source)],
        env=full,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )


def _web_files(wheel_dir: Path) -> list[str]:
    (wheel,) = wheel_dir.glob("*.whl")
    return [n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("arbiter_server/web/")]


def test_without_the_page_and_without_node_the_build_says_what_to_do(tmp_path: Path) -> None:
    source = _checkout_copy(tmp_path)
    out = _wheel(source, tmp_path / "wheel", PATH=_bin_without_node(tmp_path))
    assert out.returncode != 0
    assert "Node.js >= 20.19" in out.stderr + out.stdout
    assert "ARBITER_SKIP_WEB_BUILD=1" in out.stderr + out.stdout


def test_without_the_page_the_build_builds_it(tmp_path: Path) -> None:
    source = _checkout_copy(tmp_path)
    node_modules = ROOT / "apps" / "web-sdk" / "node_modules"
    assert node_modules.is_dir(), "run npm ci in apps/web-sdk (scripts/setup.sh does)"
    (source / "apps" / "web-sdk" / "node_modules").symlink_to(node_modules)
    out = _wheel(source, tmp_path / "wheel")
    assert out.returncode == 0, out.stderr[-3000:]
    web = _web_files(tmp_path / "wheel")
    assert "arbiter_server/web/index.html" in web
    assert any(re.match(r"arbiter_server/web/assets/index-.*\.js$", n) for n in web)


def sfu_image_install(
    context: Path, python: Path, out: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """What ``deploy/sfu.Dockerfile`` does with the build context ``context``: copy what its
    ``COPY`` lines take (``.dockerignore`` applied), set its ``ENV``, install the package (a
    wheel of it, into ``out``) where there is no Node.js, with ``python`` (setuptools from
    the index, as in the image)."""
    dockerfile = context / "deploy" / "sfu.Dockerfile"
    image = out / "app"
    for rel in copied_files(dockerfile, context):  # COPY, with .dockerignore as Docker reads it
        (image / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(context / rel, image / rel)
    image_env: dict[str, str] = {}
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if words[:1] == ["ENV"]:
            image_env.update(dict(word.split("=", 1) for word in words[1:]))
    assert image_env.get("ARBITER_SKIP_WEB_BUILD") == "1"
    assert not (image / "apps").exists()
    full = {**(env or os.environ), **image_env, "PATH": _bin_without_node(out, python)}
    return subprocess.run(
        [str(python), "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(image)],
        env=full,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )


def test_the_sfu_image_installs_the_package_without_node_or_the_web_sdk(tmp_path: Path) -> None:
    built = sfu_image_install(ROOT, Path(sys.executable), tmp_path)
    assert built.returncode == 0, built.stderr[-3000:]
    assert _web_files(tmp_path) == []


@pytest.mark.parametrize("skip", ["0", ""])
def test_only_the_explicit_opt_out_skips_the_page(tmp_path: Path, skip: str) -> None:
    source = _checkout_copy(tmp_path)
    shutil.rmtree(source / "apps" / "web-sdk")
    out = _wheel(source, tmp_path / "wheel", ARBITER_SKIP_WEB_BUILD=skip)
    assert out.returncode != 0
    assert "apps/web-sdk (its sources) is not here" in out.stderr + out.stdout
