"""``arbiter-server destroy`` against moto running as a server, on its own deployment.

The ``deployed`` fixture deploys prefix ``t2`` once for the module; the one test destroys
it (with an SFU task still running): first while AWS keeps refusing to delete the
security groups (``DependencyViolation``, injected at the project's boto3 boundary), then
while it refuses only for a while, and finds nothing left.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

import pytest

from arbiter_server.cli import main
from arbiter_server.infra import cli as infra_cli
from tests.aws.helpers import REGION, FakeTime, FaultyAws, client, inventory

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("aws_env")]

PREFIX = "t2"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("destroy")


def _cli(workdir: Path, *args: str) -> list[str]:
    return [*args, "--region", REGION, "--prefix", PREFIX, "--state-file", str(workdir / "s.json")]


@pytest.fixture(scope="module")
def deployed(workdir: Path, aws_env: str) -> str:
    """Deploy ``t2`` once for the module; its printed output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(_cli(workdir, "deploy", "--yes", "--skip-images")) == 0
    return out.getvalue()


@pytest.mark.scenarios
def test_destroy_leaves_nothing(
    workdir: Path, deployed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # an SFU still running is stopped by destroy too
    client("ecs").run_task(
        cluster=PREFIX,
        taskDefinition=f"{PREFIX}-sfu",
        launchType="FARGATE",
        startedBy="arbiter-sfu",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": [_subnet()], "securityGroups": [_sfu_sg()]}
        },
    )
    assert main(_cli(workdir, "destroy", "--dry-run")) == 0
    out = capsys.readouterr().out
    order = [line.split()[1] for line in out.splitlines() if line.startswith("- ")]
    assert order.index("ecs-service") < order.index("ecs-cluster")
    assert order.index("listener") < order.index("target-group")
    assert order.index("load-balancer") < order.index("security-group")
    assert order[-1] == "iam-role"
    # coturn's tasks are not kept draining for 50 minutes when everything goes
    service = out.split("- ecs-service")[1].split("\n- ")[0]
    assert "elbv2.modify_target_group_attributes(" in service
    assert service.index("modify_target_group_attributes") < service.index("update_service")
    assert any(inventory(PREFIX).values())

    # AWS keeps the security groups past the deadline: the rest goes, and what is left is said
    refusing = FaultyAws(
        {("ec2", "delete_security_group"): ("DependencyViolation", -1)}, FakeTime()
    )
    assert _destroy(workdir, refusing) == 1
    captured = capsys.readouterr()
    assert "destroy did not finish" in captured.err
    for group in (f"{PREFIX}-sfu", f"{PREFIX}-turn"):
        # 20 minutes: Fargate and NLB network interfaces take that long to be released
        expected = f"security-group {group}: ec2.delete_security_group failed (retried for 1200 s)"
        assert expected in " ".join(captured.err.split())
    assert "DependencyViolation" in captured.err
    left_lines = captured.out.split("Still in the account:")[1].strip().splitlines()
    assert [" ".join(line.split()) for line in left_lines[:3]] == [
        f"- security-group {PREFIX}-sfu",
        f"- security-group {PREFIX}-turn",
        "Plan: 0 to create, 0 to update, 2 to delete.",
    ]
    left = {k: v for k, v in inventory(PREFIX).items() if v}
    assert left == {"security-group": [f"{PREFIX}-sfu", f"{PREFIX}-turn"]}
    assert (workdir / "s.json").exists()

    # ...and when it lets go after a few refusals, the next destroy finishes
    time = FakeTime()
    flaky = FaultyAws({("ec2", "delete_security_group"): ("DependencyViolation", 3)}, time)
    assert _destroy(workdir, flaky) == 0
    assert flaky.injected == [("ec2", "delete_security_group")] * 3 and time.now > 0
    left = {k: v for k, v in inventory(PREFIX).items() if v}
    assert left == {}
    assert not (workdir / "s.json").exists()
    assert main(_cli(workdir, "destroy", "--yes")) == 0  # nothing to do, no error
    assert "No changes" in capsys.readouterr().out


def _destroy(workdir: Path, aws: FaultyAws) -> int:
    parser = argparse.ArgumentParser()
    infra_cli.add_subcommands(parser.add_subparsers(dest="command"))
    return infra_cli.run(parser.parse_args(_cli(workdir, "destroy", "--yes")), aws=aws)


def _sfu_sg() -> str:
    groups = client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{PREFIX}-sfu"]}]
    )["SecurityGroups"]
    return str(groups[0]["GroupId"])


def _subnet() -> str:
    return str(client("ec2").describe_subnets()["Subnets"][0]["SubnetId"])
