"""The committed protocol manifest is what arbiter_protocol says (the web SDK checks it too)."""

from __future__ import annotations

import json
from pathlib import Path

from arbiter_protocol import manifest

MANIFEST = Path(__file__).parent / "manifest.json"


def test_the_committed_manifest_is_the_protocol() -> None:
    committed = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert committed == manifest(), (
        "tests/protocol/manifest.json is out of date: run "
        "`python -m arbiter_protocol > tests/protocol/manifest.json`, then make "
        "apps/web-sdk/src/core/protocol/ agree (vitest compares it with the same file)"
    )


def test_the_manifest_covers_every_action_code_and_body() -> None:
    data = manifest()
    assert set(data["actions"]) == {
        "identify",
        "resume",
        "refresh",
        "refreshed",
        "identified",
        "handshake",
        "keepalive",
        "keepalive_ack",
        "leave",
        "sfu_ready",
        "participant_joined",
        "participant_left",
        "error",
        "data",
        "track_state",
        "subscription",
        "moderate",
        "removed",
        "lobby",
        "participant_updated",
        "layers",
        "active_speakers",
        "update_participant",
    }
    assert len(data["error_codes"]) == 20
    assert data["topics"] == {"CHAT_TOPIC": "chat"}
    assert {
        "ParticipantInfo",
        "SessionDescription",
        "IceCandidate",
        "IceServer",
        "TrackInfo",
    } <= set(data["types"])
    assert data["limits"]["MAX_SDP"] == 30 * 1024  # JSON-encoded: one 32 KB frame
    assert data["limits"]["MAX_DEPTH"] == 32 and data["limits"]["MAX_NUMBER_CHARS"] == 32
