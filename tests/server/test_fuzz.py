"""Thousands of malformed messages against the handlers and a running gateway."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbiter_protocol import ACTIONS, ErrorCode
from arbiter_server.lambdas import signaling
from arbiter_server.lambdas.routes import WS_ROUTES
from arbiter_server.local import LocalStack
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
raw_messages = (
    message_like.map(json.dumps)
    | st.text(max_size=200)
    | st.binary(max_size=100).map(lambda b: b.decode("latin-1"))
    | json_values.map(json.dumps)
)


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

    samples: list[str] = []

    @settings(
        max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(raw_messages)
    def collect(raw: str) -> None:
        samples.append(raw)

    collect()
    for raw in samples:
        # even a well-formed message is refused: identify with a junk token, or anything
        # else before identifying
        await attacker.send(raw)
        reply = await attacker.recv()
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
@given(route=st.sampled_from(WS_ROUTES), body=st.none() | raw_messages)
def test_fuzzed_events_straight_into_the_handler(
    handler_services: Any, route: str, body: str | None
) -> None:
    """Random bodies on every route: the handler never raises and only ever replies errors
    to the unidentified sender."""
    recorder = handler_services.poster
    recorder.sent.clear()
    event: dict[str, Any] = {"requestContext": {"routeKey": route, "connectionId": "fuzz"}}
    if body is not None:
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
