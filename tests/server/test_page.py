"""The room page through the local gateway: the same handler route API Gateway calls."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from arbiter_server.lambdas.page import find_web_dir
from arbiter_server.local import LocalStack, LocalStackConfig

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[LocalStack]:
    web_dir = find_web_dir()
    assert web_dir is not None, "run `npm ci && npm run build` in apps/web-sdk"
    stack = LocalStack(LocalStackConfig(data_dir=tmp_path, port=0, pool_size=0, web_dir=web_dir))
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


async def test_a_browser_gets_the_page_and_its_bundle_and_a_client_gets_json(
    stack: LocalStack,
) -> None:
    url = await stack.create_room("paged")
    async with httpx.AsyncClient(timeout=10) as http:
        page = await http.get(url, headers={"Accept": "text/html,application/xhtml+xml"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        (asset,) = re.findall(r'src="(/assets/[^"]+\.js)"', page.text)
        bundle = await http.get(f"{stack.base_url}{asset}")
        assert bundle.status_code == 200 and "javascript" in bundle.headers["content-type"]
        web_dir = find_web_dir()
        assert web_dir is not None
        assert bundle.content == (web_dir / asset.lstrip("/")).read_bytes()
        assert "immutable" in bundle.headers["cache-control"]
        info = await http.get(url)
        assert info.status_code == 200 and info.json()["room_id"] == "paged"
        missing = await http.get(f"{stack.base_url}/assets/nope.js")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        escape = await http.get(f"{stack.base_url}/assets/..%2F..%2Fpyproject.toml")
        assert escape.status_code == 404
