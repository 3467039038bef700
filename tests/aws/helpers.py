"""Helpers for the AWS tests: an inventory of what a prefix owns, read with plain boto3."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3
from botocore.exceptions import ClientError

from arbiter_server.infra.awsclient import AwsClient
from arbiter_server.infra.models import TAG_KEY

REGION = "us-east-1"


def client(service: str) -> Any:
    """A boto3 client (AWS_ENDPOINT_URL from the environment points it at moto)."""
    return boto3.client(service, region_name=REGION)


def inventory(prefix: str) -> dict[str, list[str]]:
    """Every resource named after ``prefix``, per kind; lists keep duplicates."""
    inv: dict[str, list[str]] = {}
    logs = client("logs")
    inv["log-group"] = sorted(
        g["logGroupName"]
        for g in logs.describe_log_groups()["logGroups"]
        if f"/{prefix}-" in g["logGroupName"] or f"/{prefix}/" in g["logGroupName"]
    )
    inv["table"] = [
        t for t in client("dynamodb").list_tables()["TableNames"] if t.startswith(prefix + "-")
    ]
    inv["role"] = sorted(
        r["RoleName"]
        for r in client("iam").list_roles()["Roles"]
        if r["RoleName"].startswith(prefix + "-")
    )
    inv["repository"] = sorted(
        r["repositoryName"]
        for r in client("ecr").describe_repositories()["repositories"]
        if r["repositoryName"].startswith(prefix + "/")
    )
    inv["security-group"] = sorted(
        g["GroupName"]
        for g in client("ec2").describe_security_groups()["SecurityGroups"]
        if g["GroupName"].startswith(prefix + "-")
    )
    elb = client("elbv2")
    lbs = [
        lb
        for lb in elb.describe_load_balancers()["LoadBalancers"]
        if lb["LoadBalancerName"].startswith(prefix + "-")
    ]
    inv["load-balancer"] = sorted(lb["LoadBalancerName"] for lb in lbs)
    inv["listener"] = sorted(
        f"{lb['LoadBalancerName']}:{x['Port']}"
        for lb in lbs
        for x in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    )
    inv["target-group"] = sorted(
        t["TargetGroupName"]
        for t in elb.describe_target_groups()["TargetGroups"]
        if t["TargetGroupName"].startswith(prefix + "-")
    )
    ecs = client("ecs")
    clusters = (
        ecs.describe_clusters(clusters=ecs.list_clusters()["clusterArns"])["clusters"]
        if ecs.list_clusters()["clusterArns"]
        else []
    )
    inv["cluster"] = sorted(
        c["clusterName"] for c in clusters if c["clusterName"] == prefix and c["status"] == "ACTIVE"
    )
    inv["task-definition"] = sorted(
        a.rsplit("/", 1)[-1]
        for a in ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]
        if a.rsplit("/", 1)[-1].startswith(prefix + "-")
    )
    inv["service"] = []
    if inv["cluster"]:
        svcs = ecs.list_services(cluster=prefix)["serviceArns"]
        if svcs:
            inv["service"] = sorted(
                s["serviceName"]
                for s in ecs.describe_services(cluster=prefix, services=svcs)["services"]
                if s["status"] != "INACTIVE"
            )
    inv["function"] = sorted(
        f["FunctionName"]
        for f in client("lambda").list_functions()["Functions"]
        if f["FunctionName"].startswith(prefix + "-")
    )
    queues = client("sqs").list_queues(QueueNamePrefix=prefix + "-").get("QueueUrls", [])
    inv["queue"] = sorted(url.rsplit("/", 1)[-1] for url in queues)
    inv["event-source-mapping"] = sorted(
        f"{m['EventSourceArn'].rsplit(':', 1)[-1]} -> {m['FunctionArn'].rsplit(':', 1)[-1]}"
        for f in inv["function"]
        for m in client("lambda").list_event_source_mappings(FunctionName=f)["EventSourceMappings"]
    )
    apis = [
        a for a in client("apigatewayv2").get_apis()["Items"] if a["Name"].startswith(prefix + "-")
    ]
    inv["api"] = sorted(a["Name"] for a in apis)
    gw = client("apigatewayv2")
    inv["route"] = sorted(
        f"{a['Name']} {r['RouteKey']}"
        for a in apis
        for r in gw.get_routes(ApiId=a["ApiId"])["Items"]
    )
    inv["integration"] = sorted(
        f"{a['Name']} {i['IntegrationId']}"
        for a in apis
        for i in gw.get_integrations(ApiId=a["ApiId"])["Items"]
    )
    inv["stage"] = sorted(
        f"{a['Name']} {s['StageName']}"
        for a in apis
        for s in gw.get_stages(ApiId=a["ApiId"])["Items"]
    )
    inv["rule"] = [r["Name"] for r in client("events").list_rules(NamePrefix=prefix + "-")["Rules"]]
    inv["parameter"] = sorted(
        p["Name"]
        for p in client("ssm").get_parameters_by_path(Path=f"/arbiter/{prefix}", Recursive=True)[
            "Parameters"
        ]
    )
    return inv


def duplicates(inv: dict[str, list[str]]) -> dict[str, list[str]]:
    """Names that occur more than once (moto accepts duplicates; AWS mostly does too)."""
    out = {}
    for kind, names in inv.items():
        if kind == "integration":
            continue  # ids are unique by construction; counted per API below
        dup = [n for n, c in Counter(names).items() if c > 1]
        if dup:
            out[kind] = dup
    return out


def policy(role: str, name: str = "arbiter") -> dict[str, Any]:
    """An inline policy document."""
    doc = client("iam").get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    return dict(json.loads(doc) if isinstance(doc, str) else doc)


def tags_ok(tags: dict[str, str], prefix: str) -> bool:
    """The deployment tag is there."""
    return tags.get(TAG_KEY) == prefix


class FakeTime:
    """A clock that only moves when slept on: waits and retries finish at once."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class FaultyAws(AwsClient):
    """The project's AWS client with errors injected at its boto3 boundary (``_invoke``).

    ``faults`` maps ``(service, method)`` to ``(error code, times)``; ``times`` < 0 means
    every call. Everything else reaches moto as usual.
    """

    def __init__(self, faults: dict[tuple[str, str], tuple[str, int]], time: FakeTime) -> None:
        super().__init__(REGION, sleep=time.sleep, clock=time.clock)
        self.faults = dict(faults)
        self.injected: list[tuple[str, str]] = []

    def _invoke(self, service: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        code, times = self.faults.get((service, method), ("", 0))
        if times:
            self.faults[(service, method)] = (code, times - 1 if times > 0 else times)
            self.injected.append((service, method))
            error = {"Code": code, "Message": f"{method} {params}: resource has a dependent object"}
            raise ClientError({"Error": error}, method)
        return super()._invoke(service, method, params)
