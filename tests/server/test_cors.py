"""CORS on the local gateway is what API Gateway does with the deployer's configuration:
a page on another origin (the web SDK's Vite dev server, an app's own site) can create,
read and join rooms. (The web tests in ``tests/packaging`` do it from Chromium.)"""

from __future__ import annotations

import httpx
import pytest

from arbiter_server.lambdas.routes import HTTP_CORS
from arbiter_server.local import LocalStack
from tests.utils import ManualLauncher

pytestmark = pytest.mark.timeout(30)

ORIGIN = "http://127.0.0.1:5173"


async def test_preflight_is_answered_with_the_configured_cors(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, _ = manual_stack
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        for path in ("/rooms/r1/join", "/rooms", "/rooms/r1", "/health"):
            resp = await http.options(
                path,
                headers={
                    "Origin": ORIGIN,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type",
                },
            )
            assert resp.status_code == 204, (path, resp.text)
            assert resp.headers["access-control-allow-origin"] == "*"
            assert (
                resp.headers["access-control-allow-methods"].split(",")
                == (HTTP_CORS["AllowMethods"])
            )
            assert (
                resp.headers["access-control-allow-headers"].split(",")
                == (HTTP_CORS["AllowHeaders"])
            )
            assert resp.headers["access-control-max-age"] == str(HTTP_CORS["MaxAge"])


async def test_answers_to_another_origin_carry_the_allow_origin_header(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, _ = manual_stack
    await stack.create_room("r1")
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        joined = await http.post("/rooms/r1/join", json={"name": "web"}, headers={"Origin": ORIGIN})
        assert joined.status_code == 200, joined.text
        assert joined.headers["access-control-allow-origin"] == "*"
        assert joined.json()["participant_id"]
        missing = await http.post(
            "/rooms/nope/join", json={"name": "web"}, headers={"Origin": ORIGIN}
        )
        assert missing.status_code == 404
        assert missing.headers["access-control-allow-origin"] == "*"
        # a same-origin request (no Origin header) gets no CORS headers, as on API Gateway
        plain = await http.get("/health")
        assert plain.status_code == 200
        assert "access-control-allow-origin" not in plain.headers


async def test_options_that_is_not_a_preflight_is_not_a_route(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, _ = manual_stack
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        resp = await http.options("/rooms/r1/join")
    assert resp.status_code == 405
    assert resp.json()["error"]["code"] == "method_not_allowed"
