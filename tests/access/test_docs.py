"""docs/server-api.md says what the code does: every JSON body it shows is a valid body
of the type it names, and every route it documents is in the route table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import arbiter_protocol
from arbiter_protocol import decode_body, encode_body
from arbiter_server.lambdas.routes import HTTP_ROUTES

DOC = Path(__file__).resolve().parents[2] / "docs" / "server-api.md"
BLOCK = re.compile(r"<!-- body: (\w+) -->\n```json\n(.*?)\n```", re.S)


def _blocks() -> list[tuple[str, str]]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


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
