"""The boto3 boundary's retries and waits: bounded by time, with progress, against moto."""

from __future__ import annotations

import pytest

from arbiter_server.infra.awsclient import AwsClient, AwsError
from tests.aws.helpers import REGION, FakeTime, FaultyAws, client

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("aws_env")]


def _group(name: str) -> str:
    vpc = client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    return str(
        client("ec2").create_security_group(GroupName=name, Description="t", VpcId=vpc)["GroupId"]
    )


def _exists(group_id: str) -> bool:
    groups = client("ec2").describe_security_groups(
        Filters=[{"Name": "group-id", "Values": [group_id]}]
    )["SecurityGroups"]
    return bool(groups)


def test_a_dependency_violation_is_retried_until_it_clears() -> None:
    time = FakeTime()
    aws = FaultyAws({("ec2", "delete_security_group"): ("DependencyViolation", 3)}, time)
    group = _group("retry-clears")
    lines: list[str] = []
    aws.call(
        "ec2", "delete_security_group", {"GroupId": group}, retry_for=600, progress=lines.append
    )
    assert not _exists(group)
    assert aws.injected == [("ec2", "delete_security_group")] * 3
    assert len(lines) == 3 and all("DependencyViolation, retrying" in x for x in lines)
    assert lines[0].endswith("(0 s of at most 600 s)")
    assert time.slept == [2.0, 3.0, 4.5]  # growing pauses


def test_a_dependency_violation_past_the_deadline_is_an_error_naming_the_call() -> None:
    time = FakeTime()
    aws = FaultyAws({("ec2", "delete_security_group"): ("DependencyViolation", -1)}, time)
    group = _group("retry-gives-up")
    with pytest.raises(AwsError) as err:
        aws.call("ec2", "delete_security_group", {"GroupId": group}, retry_for=1200)
    assert err.value.code == "DependencyViolation"
    assert "ec2.delete_security_group failed (retried for 1200 s)" in str(err.value)
    assert time.now == 1200 and max(time.slept) == 15.0  # pauses capped at 15 s
    assert _exists(group)
    AwsClient(REGION).call("ec2", "delete_security_group", {"GroupId": group})


def test_other_errors_are_not_retried() -> None:
    time = FakeTime()
    aws = AwsClient(REGION, sleep=time.sleep, clock=time.clock)
    with pytest.raises(AwsError) as err:
        aws.call("ec2", "delete_security_group", {"GroupId": "sg-00000000000000000"})
    assert "retried" not in str(err.value) and time.slept == []


def test_a_wait_reports_progress_and_gives_up_at_its_timeout() -> None:
    time = FakeTime()
    aws = AwsClient(REGION, sleep=time.sleep, clock=time.clock)
    lines: list[str] = []
    polls: list[float] = []

    def never() -> bool:
        polls.append(time.now)
        return False

    with pytest.raises(AwsError, match="timed out after 600 s waiting for load balancer x"):
        aws.wait("load balancer x", never, timeout=600, progress=lines.append)
    assert time.now == 600
    assert lines[0] == "waiting for load balancer x (0 s of at most 600 s)"
    assert len(lines) == len(polls) - 1
    # a check that comes true stops the wait there
    time.now, ready_at = 0.0, 30.0
    aws.wait("table t", lambda: time.now >= ready_at, timeout=300)
    assert 30 <= time.now < 45
