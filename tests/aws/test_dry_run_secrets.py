"""``deploy --dry-run`` shows the plan of a new deployment without any secret it generates."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from arbiter_server.cli import main
from tests.aws.helpers import REGION, inventory

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("aws_env")]

PREFIX = "drysecret"
MARK = "GENERATED-SECRET-VALUE-0123456789abcdef"


def test_dry_run_never_prints_a_generated_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n=None: MARK)
    argv = ["deploy", "--dry-run", "--skip-images", "--region", REGION, "--prefix", PREFIX]
    assert main([*argv, "--state-file", str(tmp_path / "state.json")]) == 0
    captured = capsys.readouterr()
    assert "ssm.put_parameter(" in captured.out and "Value=<secret>" in captured.out
    assert MARK not in captured.out and MARK not in captured.err
    assert not any(inventory(PREFIX).values())
