"""Build hooks for the wheel and the sdist (everything else is in ``pyproject.toml``).

The wheel carries what the server serves and deploys, as package data of
``arbiter_server``:

- ``arbiter_server/web/``: the web SDK's demo page (``arbiter-server dev`` serves it at
  every room URL). ``npm run build`` in ``apps/web-sdk`` writes it there; when it is
  missing, the build runs ``npm ci`` (only without ``node_modules``) and
  ``npm run build:demo`` itself, and stops with a clear error when Node.js >= 20.19 with
  npm is not there. ``ARBITER_SKIP_WEB_BUILD=1`` builds without the page instead (the SFU
  image does: it installs the package where there is neither npm nor the web SDK); a
  server without it says so at room URLs.
- ``arbiter_server/deploy/``: the Dockerfiles and entrypoints of ``deploy/``, and in
  ``deploy/project/`` the files that install the package (``pyproject.toml``, this file,
  ``README.md``, ``LICENSE``, ``.dockerignore``): ``deploy`` builds the SFU image from an
  installed wheel with them (:mod:`arbiter_server.resources`).

The sdist carries both, so a wheel built from it needs no npm.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
WEB_OUT = ROOT / "arbiter_server" / "web"
WEB_SDK = ROOT / "apps" / "web-sdk"
DEPLOY = ROOT / "deploy"
PROJECT_FILES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", ".dockerignore")
"What an image build context needs besides deploy/ and the packages."
SKIP_WEB = "ARBITER_SKIP_WEB_BUILD"
NODE_MIN = (20, 19)


class WebBuildError(SystemExit):
    """The demo page is missing and cannot be built here."""

    def __init__(self, why: str) -> None:
        super().__init__(
            f"error: arbiter_server/web (the web demo page) is not built and {why}. "
            f"Build it (cd apps/web-sdk && npm ci && npm run build), or set {SKIP_WEB}=1 "
            "to build the package without it."
        )


def _node_version() -> tuple[int, int] | None:
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        return None
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    parts = out.stdout.strip().lstrip("v").split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def ensure_web_page() -> None:
    """Build the demo page into ``arbiter_server/web`` unless it is there or skipped."""
    if (WEB_OUT / "index.html").is_file():
        return
    if os.environ.get(SKIP_WEB) == "1":
        print(f"{SKIP_WEB}=1: building without the web demo page")
        return
    if not (WEB_SDK / "package.json").is_file():
        raise WebBuildError("apps/web-sdk (its sources) is not here")
    version = _node_version()
    if version is None or version < NODE_MIN:
        found = "none" if version is None else "{}.{}".format(*version)
        raise WebBuildError(f"building it needs Node.js >= 20.19 with npm (found: {found})")
    npm = shutil.which("npm")
    assert npm is not None
    steps = [] if (WEB_SDK / "node_modules").is_dir() else [[npm, "ci", "--no-audit", "--no-fund"]]
    steps.append([npm, "run", "build:demo"])
    for step in steps:
        print(f"building the web demo page: {' '.join(step[1:])} (in apps/web-sdk)")
        subprocess.run(step, cwd=WEB_SDK, check=True)
    if not (WEB_OUT / "index.html").is_file():
        raise WebBuildError("npm run build:demo did not write arbiter_server/web/index.html")


class BuildPy(build_py):
    """``build_py`` that puts the demo page and the deploy files into the package."""

    def run(self) -> None:
        if not self.editable_mode:  # an editable install reads the checkout itself
            ensure_web_page()
        super().run()
        if self.editable_mode or not DEPLOY.is_dir():  # the SFU image has no deploy/
            return
        target = Path(self.build_lib) / "arbiter_server" / "deploy"
        (target / "project").mkdir(parents=True, exist_ok=True)
        for path in sorted(DEPLOY.iterdir()):
            if path.is_file():
                self.copy_file(str(path), str(target / path.name))
        for name in PROJECT_FILES:
            self.copy_file(str(ROOT / name), str(target / "project" / name))


class Sdist(sdist):
    """``sdist`` that builds the demo page first, so the sdist carries it."""

    def run(self) -> None:
        ensure_web_page()
        super().run()


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
