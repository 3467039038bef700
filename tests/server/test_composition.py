"""The local composition root hands out TURN credentials for ``Settings.turn_ttl`` seconds.

The AWS root does the same from one function (:func:`arbiter_server.turn.turn_ice_servers`);
``tests/aws/test_deploy.py`` checks it there.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from arbiter_server.local import LocalStack, LocalStackConfig
from arbiter_server.settings import Settings

pytestmark = pytest.mark.timeout(60)


async def test_local_turn_credentials_last_the_one_ttl_setting(tmp_path: Path) -> None:
    stack = LocalStack(LocalStackConfig(data_dir=tmp_path, port=0, pool_size=0, turn=True))
    await stack.start()
    try:
        assert stack.turn is not None
        url = await stack.create_room("ttl")
        async with httpx.AsyncClient(timeout=10) as http:
            resp = await http.post(f"{url}/join", json={"name": "a"})
        joined = resp.json()
        stun, turn = joined["ice_servers"]
        assert stun["urls"] == [f"stun:127.0.0.1:{stack.turn.port}"]
        assert turn["urls"] == [f"turn:127.0.0.1:{stack.turn.port}?transport=udp"]
        expiry, user = turn["username"].split(":", 1)
        assert user == joined["participant_id"]
        assert abs(int(expiry) - (time.time() + Settings.turn_ttl)) < 30
    finally:
        await stack.stop()
