"""The shared protocol examples, checked against the Python protocol module.

``tests/protocol/examples/*.json`` is read by this test and by the web SDK's vitest test
(``apps/web-sdk/src/core/protocol.test.ts``), so the Python and TypeScript protocols must
agree on every example: what is valid, what it normalises to, and which error (code,
message and ``ref``) anything invalid gets.

Each file has ``kind`` (``message`` or ``body``), for bodies the ``type`` (a class in
``arbiter_protocol``), and ``cases``: ``input`` (a JSON value, serialised) or ``raw``
(exact text, optionally padded with spaces to ``pad_to`` characters), optional
``allowed`` actions, and either ``valid`` (the re-encoded dict) or ``error``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import arbiter_protocol
from arbiter_protocol import ProtocolError, decode_body, encode_body, encode_message, parse_message

EXAMPLES = Path(__file__).parent / "examples"


def _cases() -> list[Any]:
    out = []
    for path in sorted(EXAMPLES.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        for case in spec["cases"]:
            out.append(pytest.param(spec, case, id=f"{path.stem}: {case['name']}"))
    return out


def _raw(case: dict[str, Any]) -> str:
    raw: str = case["raw"] if "raw" in case else json.dumps(case["input"], ensure_ascii=False)
    if "pad_to" in case:
        raw = raw.ljust(case["pad_to"])
    return raw


def test_every_message_type_and_body_has_examples() -> None:
    files = {p.stem for p in EXAMPLES.glob("*.json")}
    for action in arbiter_protocol.ACTIONS:
        assert action in files, f"no examples for the '{action}' message"
    for body in (
        "join_request",
        "join_response",
        "create_room_request",
        "room_info",
        "error_body",
        "ice_server",
    ):
        assert body in files
    specs = [json.loads(p.read_text(encoding="utf-8")) for p in EXAMPLES.glob("*.json")]
    for spec in specs:
        assert any("valid" in c for c in spec["cases"]), spec["about"]
        assert any("error" in c for c in spec["cases"]), spec["about"]


@pytest.mark.parametrize(("spec", "case"), _cases())
def test_example(spec: dict[str, Any], case: dict[str, Any]) -> None:
    raw = _raw(case)
    assert ("valid" in case) != ("error" in case), "a case expects either valid or error"
    try:
        if spec["kind"] == "message":
            allowed = frozenset(case["allowed"]) if "allowed" in case else None
            message = parse_message(raw, allowed)
            got: Any = json.loads(encode_message(message))
        else:
            cls = getattr(arbiter_protocol, spec["type"])
            got = json.loads(encode_body(decode_body(cls, raw)))
    except ProtocolError as exc:
        assert "error" in case, f"unexpected {exc.code.value}: {exc.message}"
        want = case["error"]
        assert exc.code.value == want["code"]
        if "message" in want:
            assert exc.message == want["message"]
        if "ref" in want:
            assert exc.action == want["ref"]
        return
    assert "valid" in case, f"expected {case.get('error')}, but it parsed as {got}"
    assert got == case["valid"]
