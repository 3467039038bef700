"""Bad input next to a live room: every reply is a clear error and the media keeps flowing."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets

from arbiter_client import Room
from arbiter_protocol import ErrorCode
from arbiter_server.local import LocalStack
from tests.e2e.probe import MediaProbe
from tests.utils import WsPeer

pytestmark = pytest.mark.timeout(90)

ERROR_CODES = {c.value for c in ErrorCode}
PLAUSIBLE_SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
)

ATTACKS: list[tuple[str, object, str]] = [
    ("malformed JSON", "{", "malformed_json"),
    ("unknown action", {"action": "drop_table", "v": 1}, "unknown_action"),
    (
        "wrong type",
        {"action": "handshake", "v": 1, "connection": 5, "sdp": None},
        "invalid_message",
    ),
    (
        "garbage SDP",
        {
            "action": "handshake",
            "v": 1,
            "connection": "producer",
            "sdp": {"type": "offer", "sdp": "<script>alert(1)</script>"},
        },
        "invalid_message",
    ),
    (
        "garbage candidate",
        {
            "action": "handshake",
            "v": 1,
            "connection": "producer",
            "candidate": {"candidate": "candidate:; rm -rf /", "sdpMid": "0"},
        },
        "invalid_message",
    ),
    ("replayed identify", {"action": "identify", "v": 1, "token": "REPLAY"}, "already_identified"),
    (
        "impersonating an SFU",
        {"action": "error", "v": 1, "code": "x", "message": "y", "participant_id": "p-x"},
        "forbidden",
    ),
    (
        "answer for a consumer that does not exist",
        {
            "action": "handshake",
            "v": 1,
            "connection": "consumer",
            "producer_id": "p-nobody",
            "sdp": {"type": "answer", "sdp": PLAUSIBLE_SDP},
        },
        "invalid_message",
    ),
    (
        "producer offer aiortc cannot use",
        {
            "action": "handshake",
            "v": 1,
            "connection": "producer",
            "sdp": {"type": "offer", "sdp": PLAUSIBLE_SDP},
        },
        "invalid_message",
    ),
    (
        "producer answer instead of offer",
        {
            "action": "handshake",
            "v": 1,
            "connection": "producer",
            "sdp": {"type": "answer", "sdp": PLAUSIBLE_SDP},
        },
        "invalid_message",
    ),
]


def _fuzz_samples(count: int) -> list[str]:
    """Malformed messages from the hypothesis strategy of the handler fuzz test."""
    from hypothesis import HealthCheck, given, settings

    from tests.server.test_fuzz import raw_messages

    samples: list[str] = []

    @settings(
        max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(raw_messages)
    def collect(raw: str) -> None:
        # a valid identify would only be refused as already_identified (and a keepalive
        # answered keepalive_ack, as anywhere); keep the
        # generated junk to what cannot be a well-formed client message
        if not any(f'"{a}"' in raw for a in ("identify", "leave", "keepalive")):
            samples.append(raw)

    collect()
    return samples


async def test_attacks_from_inside_a_live_room_get_errors_and_media_keeps_flowing(
    stack: LocalStack,
) -> None:
    await stack.create_room("live")
    url = stack.room_url("live")
    a = await Room.join(url, name="a", video_size=(320, 240))
    b = await Room.join(url, name="b", video_size=(352, 288))
    pa, pb = MediaProbe(a), MediaProbe(b)
    attacker: WsPeer | None = None
    try:
        await pa.wait_media({b.participant_id: (352, 288)}, 10)
        await pb.wait_media({a.participant_id: (320, 240)}, 10)

        async with httpx.AsyncClient() as http:
            joined = (await http.post(f"{url}/join", json={"name": "mallory"})).json()
        attacker = await WsPeer.connect(joined["signaling_url"])
        await attacker.send({"action": "identify", "v": 1, "token": joined["token"]})
        await attacker.expect("identified")

        results: dict[str, str] = {}
        for name, payload, expected in ATTACKS:
            if payload == {"action": "identify", "v": 1, "token": "REPLAY"}:
                payload = {"action": "identify", "v": 1, "token": joined["token"]}
            await attacker.send(payload if isinstance(payload, str) else json.dumps(payload))
            reply = await attacker.expect("error", timeout=10)
            assert reply["code"] in ERROR_CODES and reply["message"], reply
            results[name] = reply["code"]
            assert reply["code"] == expected, (name, reply)

        # then hundreds of generated malformed messages from the same, identified socket
        for raw in _fuzz_samples(300):
            await attacker.send(raw)
            reply = await attacker.recv(timeout=10)
            assert reply["action"] == "error" and reply["code"] in ERROR_CODES, (raw, reply)

        # a message over one 32 KB frame closes the socket with 1009, as API Gateway does
        await attacker.send(json.dumps({"action": "identify", "v": 1, "token": "x" * 140_000}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await attacker.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

        # the victims never heard of it beyond mallory joining and leaving
        before = (pa.frames(b.participant_id), pb.frames(a.participant_id))
        await pa.wait_for(lambda: pa.frames(b.participant_id) > before[0] + 30, 10)
        await pb.wait_for(lambda: pb.frames(a.participant_id) > before[1] + 30, 10)
        assert not pa.data and not pb.data
        assert a.state.name == "CONNECTED" and b.state.name == "CONNECTED"
    finally:
        if attacker is not None:
            await attacker.close()
        for p in (pa, pb):
            await p.close()
        for r in (a, b):
            await r.leave()
