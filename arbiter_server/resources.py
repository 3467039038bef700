"""Files the server ships beside its code, found as package data of :mod:`arbiter_server`.

- ``arbiter_server/web/``: the web SDK's demo page, served at every room URL. The web SDK's
  build writes it there (``npm run build`` in ``apps/web-sdk``), and the wheel carries it.
- ``arbiter_server/deploy/``: the Dockerfiles and entrypoints of the images ``deploy``
  builds. The wheel carries a copy of the repository's ``deploy/`` (``setup.py``); a source
  checkout (an editable install) reads ``deploy/`` itself.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["deploy_dir", "web_dir"]

_CHECKOUT_DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def _package_path(name: str) -> Path | None:
    found = files("arbiter_server").joinpath(name)
    # a regular install is a directory on disk; a zipped one has no paths to serve from
    return found if isinstance(found, Path) and found.is_dir() else None


def web_dir() -> Path | None:
    """The built demo page (a directory with ``index.html``), or None when it is not built."""
    found = _package_path("web")
    return found if found is not None and (found / "index.html").is_file() else None


def deploy_dir() -> Path:
    """The directory with ``sfu.Dockerfile``, ``coturn.Dockerfile`` and their scripts."""
    return _package_path("deploy") or _CHECKOUT_DEPLOY
