"""Thousands of malformed messages against the handlers and a running gateway."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbiter_protocol import ACTIONS, ErrorCode, peek_action
from arbiter_server.lambdas import signaling
from arbiter_server.lambdas.routes import WS_ROUTES
from arbiter_server.local import LocalStack, LocalStackConfig
from tests.utils import ManualLauncher, WsPeer

pytestmark = pytest.mark.timeout(120)

ERROR_CODES = {c.value for c in ErrorCode}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
fields = st.sampled_from(
    [
        "action",
        "v",
        "token",
        "connection",
        "sdp",
        "candidate",
        "participant_id",
        "producer_id",
        "type",
        "kind",
        "data",
    ]
)
message_like = st.dictionaries(
    fields,
    st.sampled_from(sorted(ACTIONS)) | st.sampled_from([1, 2, 0, "1"]) | json_values,
    max_size=6,
)
# what an attacker puts on the wire besides well-typed junk
deep_nesting = st.builds(
    lambda n, pair, inner: pair[0] * n + inner + pair[1] * n,
    st.integers(min_value=20, max_value=4000),
    st.sampled_from([("[", "]"), ('{"a":', "}"), ('[{"b":', "}]")]),
    st.sampled_from(["", "1", '"x"', "[]", "{}"]),
)
escapes = st.sampled_from(
    [
        "\\ud800",
        "\\udfff",
        "\\ud83d",
        "\\udc00\\ud800",
        "\\u0000",
        "\\ufeff",
        "\\u202e",
        "\\ud83c\\udfa5",
        "\\uFFFF",
        "\\\\",
    ]
)
odd_text = st.text(
    alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Co", "Zs", "Mn", "So", "Lo"]),
    max_size=40,
)
huge_numbers = st.one_of(
    st.integers(min_value=20, max_value=5000).map(lambda n: "9" * n),
    st.integers(min_value=300, max_value=10**6).map(lambda e: f"1e{e}"),
    st.integers(min_value=300, max_value=10**6).map(lambda e: f"-1.5e-{e}"),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "-0", "1E400", "0.0000000000000000000001"]),
)
hostile = st.one_of(
    deep_nesting,
    st.builds(
        lambda action, field, esc: (
            json.dumps({"action": action, "v": 1})[:-1] + f', "{field}": "{esc}"}}'
        ),
        st.sampled_from(sorted(ACTIONS)),
        fields,
        escapes,
    ),
    st.builds(
        lambda action, field, text: json.dumps({"action": action, "v": 1, field: text}),
        st.sampled_from(sorted(ACTIONS)),
        fields,
        odd_text,
    ),
    st.builds(
        lambda action, field, number: (
            json.dumps({"action": action, "v": 1})[:-1] + f', "{field}": {number}}}'
        ),
        st.sampled_from(sorted(ACTIONS)),
        fields | st.just("v"),
        huge_numbers,
    ),
)
raw_messages = (
    message_like.map(json.dumps)
    | st.text(max_size=200)
    | st.binary(max_size=100).map(lambda b: b.decode("latin-1"))
    | json_values.map(json.dumps)
    | hostile
)
"Text an attacker sends: junk, hostile JSON (depth, escapes, odd unicode, huge numbers)."
raw_bytes = st.binary(max_size=300) | hostile.map(lambda t: t.encode("utf-8"))
"Bytes an attacker sends (binary frames, HTTP bodies, binary data channel messages)."


def _samples(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """``count`` examples of ``strategy`` (drawn outside the event loop's test)."""
    found: list[Any] = []

    @settings(
        max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found


def _is_error(raw: str) -> bool:
    msg = json.loads(raw)
    return (
        msg.get("action") == "error"
        and msg.get("v") == 1
        and msg.get("code") in ERROR_CODES
        and isinstance(msg.get("message"), str)
    )


async def test_fuzzed_messages_through_the_gateway_only_get_errors(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    """An unidentified connection sends junk: every reply is a well-formed error and a room
    next to it keeps working."""
    stack, launcher = manual_stack
    await stack.create_room("busy")
    sfu = await WsPeer.connect(f"ws://127.0.0.1:{stack.port}/ws")
    await sfu.send({"action": "identify", "v": 1, "token": launcher.tokens["busy"]})
    await sfu.expect("identified")
    attacker = await WsPeer.connect(f"ws://127.0.0.1:{stack.port}/ws")

    samples = _samples(raw_messages, 400) + _samples(raw_bytes, 150)  # bytes: binary frames
    for raw in samples:
        # even a well-formed message is refused: identify with a junk token, or anything
        # else before identifying; a keepalive is answered by the gateway, as by API Gateway
        await attacker.send(raw)
        reply = await attacker.recv()
        if reply == {"action": "keepalive_ack", "v": 1}:
            assert peek_action(raw) == "keepalive", raw
            continue
        assert reply["action"] == "error", (raw, reply)
        assert _is_error(json.dumps(reply)), reply

    # nothing reached the SFU of the room next door, and a participant can still join it
    await sfu.assert_silent()
    async with httpx.AsyncClient() as http:
        joined = (await http.post(f"{stack.room_url('busy')}/join", json={"name": "ok"})).json()
    peer = await WsPeer.connect(joined["signaling_url"])
    await peer.send({"action": "identify", "v": 1, "token": joined["token"]})
    assert (await peer.expect("identified"))["sfu_ready"] is True
    await sfu.expect("participant_joined")
    for p in (attacker, sfu, peer):
        await p.close()


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def post(self, connection_id: str, message: Any) -> bool:
        self.sent.append((connection_id, message))
        return True

    def close_connection(self, connection_id: str) -> None:
        pass


@settings(max_examples=3000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from(WS_ROUTES), body=st.none() | raw_messages | raw_bytes)
def test_fuzzed_events_straight_into_the_handler(
    handler_services: Any, route: str, body: str | bytes | None
) -> None:
    """Random bodies on every route (bytes as API Gateway delivers a binary frame, base64):
    the handler never raises and only ever replies errors to the unidentified sender."""
    recorder = handler_services.poster
    recorder.sent.clear()
    event: dict[str, Any] = {"requestContext": {"routeKey": route, "connectionId": "fuzz"}}
    if isinstance(body, bytes):
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    elif body is not None:
        event["body"] = body
    result = signaling.handler(event, None)
    assert result == {"statusCode": 200}
    for connection_id, message in recorder.sent:
        assert connection_id == "fuzz"
        assert message.action == "error" and message.code in ERROR_CODES


@pytest.fixture(scope="module")
def handler_services(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from arbiter_server.lambdas import Services, configure
    from arbiter_server.settings import Settings
    from arbiter_server.store import RoomRecord, SQLiteStore

    store = SQLiteStore(tmp_path_factory.mktemp("fuzz") / "s.sqlite3")
    store.create_room(RoomRecord(room_id="r", created_at=0.0))
    services = Services(
        store=store,
        poster=_Recorder(),
        launcher=ManualLauncher(),  # type: ignore[arg-type]
        settings=Settings(public_url="http://x", signaling_url="ws://x/ws"),
    )
    configure(services)
    yield services
    configure(None)
    store.close()


async def test_fuzzed_http_bodies_only_get_clear_answers(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    """Hostile bodies on the Room API: a JSON answer every time, an error for anything that
    is not a valid request, and the server stays up."""
    stack, _ = manual_stack
    await stack.create_room("fuzzed")
    assert stack.services is not None
    stack.services.settings.join_rate_limit = stack.services.settings.create_rate_limit = 10**6
    samples = _samples(raw_bytes, 150) + [s.encode("utf-8") for s in _samples(raw_messages, 150)]
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        for body in samples:
            for path in ("/rooms/fuzzed/join", "/rooms"):
                reply = await http.post(path, content=body)
                answer = reply.json()
                if reply.status_code >= 400:
                    assert answer["error"]["code"] in ERROR_CODES, (body, answer)
                    assert reply.status_code < 500, (body, answer)
                else:  # a body that happens to be a valid request
                    assert reply.status_code in (200, 201), (body, answer)
        assert (await http.get("/health")).status_code == 200


async def test_fuzzed_data_channel_messages_only_get_errors(tmp_path: Path) -> None:
    """Hostile text and bytes on a producer data channel: each is answered by an error or
    relayed as the valid message it happens to be; the SFU and the channel stay up."""
    from tests.e2e.rawpeer import RawPeer

    stack = LocalStack(
        LocalStackConfig(
            data_dir=tmp_path, port=0, pool_size=0, settings={"data_rate_limit": 10**6}
        )
    )
    await stack.start()
    mallory: RawPeer | None = None
    try:
        url = await stack.create_room("channel")
        mallory = await RawPeer.join(url)
        samples: list[str | bytes] = [*_samples(raw_messages, 250), *_samples(raw_bytes, 100)]
        for n, raw in enumerate(samples):
            mallory.send(raw)
            mallory.send(f'{{"action": "sentinel-{n}", "v": 1}}')  # answered after the sample
            while True:
                reply = await mallory.reply(timeout=10)
                assert reply["action"] == "error" and reply["code"] in ERROR_CODES, (raw, reply)
                if reply["message"] == f"unknown action 'sentinel-{n}'":
                    break
        assert mallory.channel.readyState == "open"
    finally:
        if mallory is not None:
            await mallory.close()
        launcher = stack.launcher
        pids = list(launcher.pids()) if launcher is not None and hasattr(launcher, "pids") else []
        await stack.stop()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
