"""The local stack restarted on the same data directory: the signing secret survives (0600),
rooms and participants come back from SQLite, and a participant who resumes after its room
got a new SFU is told to set its media up again."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import httpx
import pytest

from arbiter_server.datadir import read_or_create_secret
from arbiter_server.lambdas import maintenance
from arbiter_server.local import LocalStack, LocalStackConfig
from tests.server.test_signaling import _join, _room_with_sfu
from tests.utils import ManualLauncher, WsPeer

pytestmark = pytest.mark.timeout(30)


def test_the_secret_is_made_owner_only_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    first = read_or_create_secret(path)
    assert len(first) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_create_secret(path) == first
    path.chmod(0o644)  # loosened by hand: made owner-only again, same secret
    assert read_or_create_secret(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("short\n")
    with pytest.raises(OSError, match="no usable secret"):
        read_or_create_secret(path)


def _stack(data_dir: Path, launcher: ManualLauncher, port: int = 0) -> LocalStack:
    return LocalStack(
        LocalStackConfig(
            data_dir=data_dir, port=port, pool_size=0, launcher_factory=lambda s: launcher
        )
    )


async def test_participants_come_back_after_a_restart_and_the_absent_are_ended(
    tmp_path: Path,
) -> None:
    launcher = ManualLauncher()
    first = _stack(tmp_path, launcher)
    await first.start()
    sfu = await _room_with_sfu(first, launcher, "stay")
    alice, a_join = await _join(first, "stay", "alice")
    await alice.expect("identified")
    bob, b_join = await _join(first, "stay", "bob")
    await bob.expect("identified")
    await first.stop()  # every socket closes; the records stay in the SQLite file
    for peer in (alice, bob, sfu):
        await peer.close()

    second = _stack(tmp_path, ManualLauncher(), port=first.port)
    await second.start()
    try:
        assert second.services is not None
        async with httpx.AsyncClient() as http:
            info = (await http.get(second.room_url("stay"))).json()
            # both are still in the room while they may come back
            assert sorted(p["name"] for p in info["participants"]) == ["alice", "bob"]
            assert info["sfu_state"] == "none"
        # the restarted server knows its sessions: alice resumes with her refresh credential
        alice2 = await WsPeer.connect(a_join["signaling_url"])
        await alice2.send({"action": "resume", "v": 1, "refresh_token": a_join["refresh_token"]})
        back = await alice2.expect("identified")
        assert back["participant_id"] == a_join["participant_id"]
        assert back["resumed"] is True and back["sfu_ready"] is False
        # bob does not come back: after the grace alice hears he left
        second.services.settings.reconnect_grace = 0.0
        result = await asyncio.to_thread(maintenance.handler, {}, None)
        assert result["left"] == [b_join["participant_id"]]
        left = await alice2.expect("participant_left")
        assert left["participant_id"] == b_join["participant_id"]
        assert left["reason"] == "disconnected"
        await alice2.close()
    finally:
        await second.stop()


async def test_a_participant_away_while_its_sfu_was_replaced_gets_sfu_ready_on_resume(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    assert stack.services is not None
    sfu = await _room_with_sfu(stack, launcher, "swap")
    alice, a_join = await _join(stack, "swap", "alice")
    await alice.expect("identified")
    await sfu.expect("participant_joined")
    await alice.close()  # alice's socket drops ...
    store = stack.services.store
    async with asyncio.timeout(5):
        while [c.role for c in store.list_connections("swap", "away")] != ["away"]:
            await asyncio.sleep(0.02)
    room = stack.services.store.get_room("swap")
    assert room is not None and room.sfu_handle
    launcher.stop(room.sfu_handle)  # ... and meanwhile the room's SFU dies and is replaced
    await sfu.close()
    result = await asyncio.to_thread(maintenance.handler, {}, None)
    assert result["restarted"] == ["swap"]
    new_sfu = await WsPeer.connect(f"ws://127.0.0.1:{stack.port}/ws")
    await new_sfu.send({"action": "identify", "v": 1, "token": launcher.tokens["swap"]})
    await new_sfu.expect("identified")

    alice2 = await WsPeer.connect(a_join["signaling_url"])
    await alice2.send({"action": "resume", "v": 1, "refresh_token": a_join["refresh_token"]})
    back = await alice2.expect("identified")
    assert back["resumed"] is True and back["sfu_ready"] is True
    # its producer went to the dead SFU: it must publish again to the new one
    assert (await alice2.expect("sfu_ready"))["room_id"] == "swap"
    for peer in (alice2, new_sfu):
        await peer.close()
