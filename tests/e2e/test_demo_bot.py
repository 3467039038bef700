"""The dev demo bot outlives its session: it joins again when the session ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from arbiter_server.demo_bot import run
from arbiter_server.local import LocalStack, LocalStackConfig

pytestmark = pytest.mark.timeout(60)


async def test_the_demo_bot_joins_again_when_its_session_ends(tmp_path: Path) -> None:
    config = LocalStackConfig(
        data_dir=tmp_path, port=0, pool_size=0, maintenance_interval=0.2, session_lifetime=2
    )
    stack = LocalStack(config)
    await stack.start()
    bot = None
    try:
        url = await stack.create_room("demo")
        bot = asyncio.create_task(run(url, "demo-bot"))
        seen: list[str] = []
        async with httpx.AsyncClient() as http, asyncio.timeout(30):
            while len(seen) < 2:  # a first participant, its session ends, a second one
                info = (await http.get(url)).json()
                ids = [p["id"] for p in info["participants"] if p["name"] == "demo-bot"]
                if ids and ids[0] not in seen:
                    seen.append(ids[0])
                await asyncio.sleep(0.1)
        assert not bot.done()  # still in the room, as its second participant
    finally:
        if bot is not None and not bot.done():
            bot.cancel()  # it leaves the room on its way out
            await asyncio.gather(bot, return_exceptions=True)
        await stack.stop()
