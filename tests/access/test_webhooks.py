"""Webhooks against a local gateway (the SFU played by the test) and a receiver on loopback.

Events of a room arrive in the order they happened, each signed (HMAC-SHA256 over
``<t>.<body>`` with the API key, checked with ``arbiter_admin.verify_webhook``); a failing
receiver gets the same event again (same id) with backoff until it takes it, and the
events after it wait, so the order holds.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from arbiter_admin import Admin, WebhookError, verify_webhook
from arbiter_server.local import LocalStack, LocalStackConfig
from tests.utils import ManualLauncher, WsPeer

from .receiver import Receiver

pytestmark = pytest.mark.timeout(60)

ANSWER = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


@pytest.fixture
async def hooked(
    tmp_path: Path, receiver: Receiver
) -> AsyncIterator[tuple[LocalStack, ManualLauncher]]:
    launcher = ManualLauncher()
    stack = LocalStack(
        LocalStackConfig(
            data_dir=tmp_path,
            port=0,
            pool_size=0,
            launcher_factory=lambda s: launcher,
            webhook_url=receiver.url,
            settings={"webhook_backoff": 0.05, "webhook_backoff_max": 0.2},
        )
    )
    await stack.start()
    try:
        yield stack, launcher
    finally:
        await stack.stop()


async def _participant(stack: LocalStack, room: str, name: str) -> tuple[WsPeer, str]:
    async with httpx.AsyncClient() as http:
        body = (await http.post(f"{stack.room_url(room)}/join", json={"name": name})).json()
    peer = await WsPeer.connect(body["signaling_url"])
    await peer.send({"action": "identify", "v": 1, "token": body["token"]})
    await peer.expect("identified")
    return peer, body["participant_id"]


async def _events(stack: LocalStack, launcher: ManualLauncher) -> list[tuple[str, str | None]]:
    """Drive a room: alice joins and publishes, bob joins, bob leaves, alice leaves."""
    await stack.create_room("hooks")
    sfu = await WsPeer.connect(stack.signaling_url)
    await sfu.send({"action": "identify", "v": 1, "token": launcher.tokens["hooks"]})
    await sfu.expect("identified")
    alice, a = await _participant(stack, "hooks", "alice")
    await sfu.expect("participant_joined")
    # the SFU's answer to alice's producer offer: audio and video taken
    await sfu.send(
        {
            "action": "handshake",
            "v": 1,
            "connection": "producer",
            "participant_id": a,
            "sdp": {"type": "answer", "sdp": ANSWER},
        }
    )
    await alice.expect("handshake")
    bob, b = await _participant(stack, "hooks", "bob")
    await bob.send({"action": "leave", "v": 1})
    await alice.expect("participant_joined")
    await alice.expect("participant_left")
    await alice.send({"action": "leave", "v": 1})
    for peer in (alice, bob, sfu):
        await peer.close()
    return [
        ("room_started", None),
        ("participant_joined", a),
        ("track_published", a),
        ("track_published", a),
        ("participant_joined", b),
        ("participant_left", b),
        ("participant_left", a),
        ("room_ended", None),
    ]


async def test_events_arrive_in_order_and_signed(
    hooked: tuple[LocalStack, ManualLauncher], receiver: Receiver
) -> None:
    stack, launcher = hooked
    expected = await _events(stack, launcher)
    await receiver.wait(len(expected))
    got = [verify_webhook(d.body, d.signature, stack.api_key) for d in receiver.deliveries]
    assert [(e.event, e.participant.id if e.participant else None) for e in got] == expected
    assert [e.kind for e in got if e.event == "track_published"] == ["audio", "video"]
    assert [e.reason for e in got if e.event == "participant_left"] == ["left", "left"]
    assert {e.room_id for e in got} == {"hooks"}
    assert len({e.id for e in got}) == len(got)
    assert all(d.event_id == e.id for d, e in zip(receiver.deliveries, got, strict=True))
    # a signature made with another key, or over another body, does not verify
    first = receiver.deliveries[0]
    with pytest.raises(WebhookError, match="does not match"):
        verify_webhook(first.body, first.signature, "another-key-" * 4)
    with pytest.raises(WebhookError, match="does not match"):
        verify_webhook(first.body.replace(b"hooks", b"hookz"), first.signature, stack.api_key)
    with pytest.raises(WebhookError, match="old"):  # a replay an hour later
        verify_webhook(
            first.body, first.signature, stack.api_key, now=got[0].created_at / 1000 + 3600
        )


async def test_a_failing_receiver_gets_the_event_again_and_the_order_holds(
    hooked: tuple[LocalStack, ManualLauncher], receiver: Receiver
) -> None:
    stack, launcher = hooked
    receiver.fail = 3  # the first event is refused three times
    expected = await _events(stack, launcher)
    await receiver.wait(len(expected))
    statuses = [d.status for d in receiver.deliveries]
    assert statuses == [500, 500, 500] + [200] * len(expected)
    ids = [d.event_id for d in receiver.deliveries]
    assert ids[0] == ids[1] == ids[2] == ids[3]  # the same event, retried
    taken = [
        verify_webhook(d.body, d.signature, stack.api_key)
        for d in receiver.deliveries
        if d.status == 200
    ]
    assert [(e.event, e.participant.id if e.participant else None) for e in taken] == expected


async def test_the_server_api_sets_the_webhook_url(
    hooked: tuple[LocalStack, ManualLauncher], receiver: Receiver
) -> None:
    stack, _ = hooked
    async with Admin(stack.base_url, stack.api_key) as admin:
        assert await admin.get_webhook() == receiver.url
        other = Receiver()
        await other.start()
        try:
            assert await admin.set_webhook(other.url) == other.url
            await stack.create_room("later")
            peer, pid = await _participant(stack, "later", "carol")
            await other.wait(2)
            events = [json.loads(d.body)["event"] for d in other.deliveries]
            assert events == ["room_started", "participant_joined"]
            await peer.close()
            # none: back to the configured URL
            assert await admin.set_webhook(None) == receiver.url
        finally:
            await other.stop()
