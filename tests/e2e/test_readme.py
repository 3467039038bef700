"""The README's Python example runs as written against a local stack."""

from __future__ import annotations

import asyncio
import sys

import pytest

from arbiter_client import DataReceived, Room
from arbiter_server.local import LocalStack
from tests.snippets import Block, to_run

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("block", to_run("README.md", "python"), ids=lambda b: b.where)
async def test_readme_example(stack: LocalStack, block: Block) -> None:
    url = await stack.create_room("demo")
    script = block.text.replace("http://127.0.0.1:8080/rooms/demo", url)
    assert url in script
    bot = await Room.join(url, name="demo-bot", video_size=(320, 240))
    try:
        got: list[DataReceived] = []
        bot.on("data_received", got.append)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            script,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 45)
        assert proc.returncode == 0, err.decode()[-2000:]
        assert out.decode().split() == ["demo-bot", "320", "240"]
        for _ in range(50):
            if got:
                break
            await asyncio.sleep(0.1)
        assert [d.data for d in got] == ["hello from the bot"]
    finally:
        await bot.leave()


async def test_the_snippet_dev_prints_runs(stack: LocalStack) -> None:
    from arbiter_server.cli import _python_example

    url = await stack.create_room("demo")
    bot = await Room.join(url, name="demo-bot", video_size=(320, 240))
    try:
        proc = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            _python_example(url).replace("python -", f"{sys.executable} -", 1),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 45)
        assert proc.returncode == 0, err.decode()[-2000:]
        assert out.decode().split() == ["demo-bot", "320", "x", "240"]
    finally:
        await bot.leave()
