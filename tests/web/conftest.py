"""Fixtures of the browser tests: a local stack serving the demo page, and Chromium."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from arbiter_server.lambdas.page import find_web_dir
from arbiter_server.local import LocalStack, LocalStackConfig
from tests.conftest import running_stack

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ARBITER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture
async def web_stack(tmp_path: Path) -> AsyncIterator[LocalStack]:
    """A real local stack that serves the built demo page at room URLs."""
    page = find_web_dir()  # arbiter_server/web, where the web SDK's build writes it
    assert page is not None, "the demo page is not built: run `npm run build` in apps/web-sdk"
    config = LocalStackConfig(data_dir=tmp_path, port=0, pool_size=0, web_dir=page)
    async with running_stack(config) as stack:
        yield stack


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium with fake media devices; closed after the test."""
    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}"
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            yield b
        finally:
            await b.close()
