"""docs/aws.md is a runbook: every command in its ``sh`` blocks runs here, in one shell,
against moto, except the few it marks (and lists) as needing what is not here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

pytestmark = [pytest.mark.timeout(300), pytest.mark.usefixtures("aws_env")]

DOC = Path(__file__).resolve().parents[2] / "docs" / "aws.md"
MARKERS = ("# prerequisite", "# needs Docker", "# real account")


def _commands() -> list[str]:
    """Every command line of the ``sh`` blocks, in order."""
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _marker(line: str) -> str | None:
    return next((m for m in MARKERS if line.endswith(m)), None)


def test_the_commands_left_out_are_few_and_listed() -> None:
    marked = [(_marker(line), line.split()[0]) for line in _commands() if _marker(line)]
    assert marked == [
        ("# prerequisite", "pip"),
        ("# needs Docker", "arbiter-server"),
        ("# real account", "curl"),
        ("# real account", "arbiter-server"),
    ]
    table = DOC.read_text().split("## 1. Prerequisites")[0]
    for marker in MARKERS:
        assert f"| `{marker}` |" in table


@pytest.mark.scenarios
def test_every_other_command_runs_against_moto(tmp_path: Path) -> None:
    script = ["set -eu"]
    for line in _commands():
        marker = _marker(line)
        command = line.removesuffix(marker or "").rstrip()
        if marker == "# needs Docker":
            script.append(f"{command} --skip-images")
        elif marker is None:
            script.append(command)
    # what the runbook's variables hold when it gets to the browser step, and the key
    # as SSM has it then (destroy deletes it)
    stored = (
        'python3 -c \'import boto3; ssm = boto3.client("ssm", region_name="eu-west-1"); '
        'print(ssm.get_parameter(Name="/arbiter/arbiter/api-key", WithDecryption=True)'
        '["Parameter"]["Value"])\''
    )
    script.insert(
        script.index(next(c for c in script if c.startswith("KEY="))) + 1,
        f'echo "API=$API"; echo "KEY=$KEY"; echo "SSM=$({stored})"',
    )
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("AWS_REGION", None)  # the runbook exports its own
    done = subprocess.run(
        ["sh", "-c", "\n".join(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "Plan:" in out and "to create" in out  # the dry run
    api = re.search(r"^API=(\S+)$", out, flags=re.MULTILINE)
    key = re.search(r"^KEY=(\S+)$", out, flags=re.MULTILINE)
    assert api and re.fullmatch(r"https://\w+\.execute-api\.eu-west-1\.amazonaws\.com", api[1])
    stored = re.search(r"^SSM=(\S+)$", out, flags=re.MULTILINE)
    assert key and stored and key[1] == stored[1]
    assert "Destroyed deployment 'arbiter' in eu-west-1." in out
    functions = boto3.client("lambda", region_name="eu-west-1").list_functions()["Functions"]
    assert not [f for f in functions if f["FunctionName"].startswith("arbiter-")]
    assert not (tmp_path / ".arbiter" / "aws" / "arbiter-eu-west-1.json").exists()
