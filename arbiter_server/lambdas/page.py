"""The room page: the built web demo, served by the Room API handler at every room URL.

``GET /rooms/{room_id}`` with ``Accept: text/html`` answers ``index.html``, and
``GET /assets/{file}`` the bundle it loads, from :attr:`Settings.web_dir
<arbiter_server.settings.Settings.web_dir>`. The same handler serves them behind the
local gateway and behind API Gateway (where the Lambda zip carries the page), so a room
URL opens the room in a browser in both places. Text files go out as text, anything else
base64-encoded as API Gateway expects; the hashed assets may be cached for a year, the
page itself is revalidated.
"""

from __future__ import annotations

import base64
import mimetypes
from importlib.resources import files
from pathlib import Path

from arbiter_protocol import ErrorCode

from ._responses import HttpResponse, error_response

__all__ = ["NOT_BUILT_PAGE", "asset_response", "find_web_dir", "page_response", "wants_page"]

NOT_BUILT_PAGE = (
    "<!doctype html><title>Arbiter</title><p>The web SDK demo page is not in this "
    "installation (arbiter_server/web). From a checkout: <code>npm ci && npm run build</code> "
    "in apps/web-sdk; a wheel built from the checkout carries it.</p>"
)
"What a room URL shows in a browser when there is no built page."

_TEXT = ("text/", "application/javascript", "application/json", "image/svg+xml")


def find_web_dir() -> Path | None:
    """The built demo, package data of :mod:`arbiter_server` (``arbiter_server/web``), or None.

    The web SDK's build writes it there (``npm run build`` in ``apps/web-sdk``); the wheel
    and the Lambda zip carry it; :mod:`importlib.resources` finds it in all three.
    """
    web = files("arbiter_server").joinpath("web")
    # a regular install is a directory on disk; a zipped one has no paths to serve from
    return web if isinstance(web, Path) and (web / "index.html").is_file() else None


def wants_page(headers: dict[str, str] | None) -> bool:
    """Whether a ``GET /rooms/{room_id}`` asks for the page (a browser) rather than JSON."""
    accept = {k.lower(): v for k, v in (headers or {}).items()}.get("accept", "")
    return "text/html" in accept


def page_response(web_dir: Path | None) -> HttpResponse:
    """``index.html`` of the demo (or a page saying it is not built)."""
    index = web_dir / "index.html" if web_dir is not None else None
    body = index.read_text() if index is not None and index.is_file() else NOT_BUILT_PAGE
    return {
        "statusCode": 200,
        "headers": {"content-type": "text/html; charset=utf-8", "cache-control": "no-cache"},
        "body": body,
    }


def asset_response(web_dir: Path | None, name: str) -> HttpResponse:
    """One file of the demo's ``assets/`` directory, or a 404 error."""
    assets = (web_dir / "assets").resolve() if web_dir is not None else None
    path = (assets / name).resolve() if assets is not None else None
    if assets is None or path is None or path.parent != assets or not path.is_file():
        return error_response(404, ErrorCode.NOT_FOUND, f"no file /assets/{name}")
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    headers = {
        "content-type": content_type,
        "cache-control": "public, max-age=31536000, immutable",
    }
    data = path.read_bytes()
    if content_type.startswith(_TEXT):
        headers["content-type"] = f"{content_type}; charset=utf-8"
        return {"statusCode": 200, "headers": headers, "body": data.decode("utf-8")}
    return {
        "statusCode": 200,
        "headers": headers,
        "body": base64.b64encode(data).decode(),
        "isBase64Encoded": True,
    }
