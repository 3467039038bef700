"""docs/server-api.md and docs/embedding.md say what the code does: every JSON body shown
is a valid body of the type it names, every route documented is in the route table, the
Python snippets run, and the guide's code is the example backend's (which
tests/access/test_example_backend.py runs)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import arbiter_protocol
from arbiter_admin import read_grant
from arbiter_protocol import (
    WebhookEvent,
    decode_body,
    encode_body,
    encode_webhook,
    webhook_signature,
)
from arbiter_server.lambdas.routes import HTTP_ROUTES
from tests.snippets import ROOT, to_run

DOC = Path(__file__).resolve().parents[2] / "docs" / "server-api.md"
BLOCK = re.compile(r"<!-- body: (\w+) -->\n```json\n(.*?)\n```", re.S)


def _blocks() -> list[tuple[str, str]]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_every_json_block_names_its_body_type() -> None:
    assert len(_blocks()) == len(to_run("docs/server-api.md", "json"))


def test_the_guide_shows_a_body_of_every_server_type() -> None:
    shown = {name for name, _ in _blocks()}
    assert {
        "GrantRequest",
        "GrantResponse",
        "CreateRoomRequest",
        "RoomInfo",
        "RoomList",
        "ReasonRequest",
        "ParticipantList",
        "MuteRequest",
        "ParticipantInfo",
        "UpdateParticipantRequest",
        "WebhookConfig",
        "WebhookEvent",
    } <= shown


@pytest.mark.parametrize(("name", "text"), _blocks())
def test_every_body_in_the_guide_is_valid(name: str, text: str) -> None:
    cls = getattr(arbiter_protocol, name)
    body = decode_body(cls, text)
    # nothing in the example is ignored: it reads back as written
    assert json.loads(encode_body(body)) == json.loads(text)


def test_every_server_route_is_documented_and_no_other() -> None:
    text = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"`((?:GET|POST|PUT|PATCH) /v1/[^`]+)`", text))
    # "`POST .../admit` and `/deny`": the second shares the first's path
    documented |= {r.replace("/admit", "/deny") for r in documented if r.endswith("/admit")}
    assert documented == {r for r in HTTP_ROUTES if " /v1/" in r}


def test_the_python_snippets_run() -> None:
    first, verify = to_run("docs/server-api.md", "python")
    key = "k" * 43
    made: dict[str, object] = {"api_key": key}
    exec(first.text, made)
    assert read_grant(str(made["grant"]), key).lobby is True
    assert read_grant(str(made["host"]), key).grants[-1] == "moderator"
    assert read_grant(str(made["viewer"]), key).grants == ("subscribe",)
    event = WebhookEvent(id="e1", event="room_started", room_id="r", created_at=1)
    body = encode_webhook(event)
    import time

    signature = webhook_signature(body, key, int(time.time()))
    checked: dict[str, object] = {
        "raw_body": body,
        "headers": {"Arbiter-Signature": signature},
        "api_key": key,
    }
    exec(verify.text, checked)
    assert checked["event"] == event


def _stripped(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_the_guide_shows_lines_of_the_example_backend() -> None:
    example = _stripped((ROOT / "examples" / "app_backend.py").read_text(encoding="utf-8"))
    *shown, complete = to_run("docs/embedding.md", "python")
    assert len(shown) == 6
    # the guide ends with the whole example, exactly
    source = (ROOT / "examples" / "app_backend.py").read_text(encoding="utf-8")
    assert complete.text.rstrip("\n") == source.rstrip("\n")
    for block in shown:
        lines = _stripped(block.text)
        starts = [i for i, line in enumerate(example) if line == lines[0]]
        assert any(example[i : i + len(lines)] == lines for i in starts), block.where
