"""The files ``deploy`` builds its container images from, found as package data.

The images' Dockerfiles (``deploy/sfu.Dockerfile``, ``deploy/coturn.Dockerfile``) are
built with a *build context* laid out as this repository is: ``deploy/``, the packages
``arbiter_protocol``, ``arbiter_rtc`` and ``arbiter_server``, and the files that install
them (``pyproject.toml``, ``setup.py``, ``README.md``, ``LICENSE``, ``.dockerignore``).

- In a source checkout (an editable install) the context is the checkout itself.
- The wheel carries ``deploy/`` and those project files as package data
  (``arbiter_server/deploy/``, ``arbiter_server/deploy/project/``; ``setup.py`` puts them
  there), and :func:`deploy_dir` assembles the same layout from the installed package in a
  temporary directory, once per process, so ``deploy`` works from ``pip install
  'arbiter-video[aws]'`` alone.

(The other package data, the web demo page in ``arbiter_server/web``, is found by
:func:`arbiter_server.lambdas.page.find_web_dir`.)
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from importlib.resources import files
from pathlib import Path

__all__ = ["IMAGE_PACKAGES", "deploy_dir"]

IMAGE_PACKAGES = ("arbiter_protocol", "arbiter_rtc", "arbiter_server")
"The packages an image build context holds."

_CHECKOUT = Path(__file__).resolve().parent.parent


def _package_dir(name: str) -> Path:
    found = files(name)
    if not isinstance(found, Path):  # a zipped install has no files to build from
        raise RuntimeError(f"{name} is not installed as files on disk")
    return found


@functools.cache
def _installed_context() -> Path:
    """The checkout's layout, assembled from the installed package's files."""
    packaged = _package_dir("arbiter_server") / "deploy"
    if not (packaged / "sfu.Dockerfile").is_file():
        raise RuntimeError(
            "arbiter_server/deploy is not installed: install arbiter-video from a wheel or "
            "deploy from a source checkout"
        )
    context = Path(tempfile.mkdtemp(prefix="arbiter-image-context-"))
    atexit.register(shutil.rmtree, context, True)
    shutil.copytree(packaged, context / "deploy", ignore=shutil.ignore_patterns("project"))
    for path in sorted((packaged / "project").iterdir()):
        if path.is_file():  # (pip byte-compiles setup.py into a __pycache__ beside it)
            shutil.copy2(path, context / path.name)
    for name in IMAGE_PACKAGES:
        # as .dockerignore leaves out: bytecode, the web page; and this package data itself
        skip = shutil.ignore_patterns("__pycache__", "*.pyc", "web", "deploy")
        shutil.copytree(_package_dir(name), context / name, ignore=skip)
    return context


def deploy_dir() -> Path:
    """``deploy/`` of the images' build context (its parent is the context)."""
    checkout = _CHECKOUT / "deploy"
    if (checkout / "sfu.Dockerfile").is_file() and (_CHECKOUT / "pyproject.toml").is_file():
        return checkout
    return _installed_context() / "deploy"
