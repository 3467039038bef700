"""``arbiter-server deploy / status`` against moto running as a server.

One deployment (prefix ``t1``) is made once for the module by the ``deployed`` fixture;
each test checks one thing about it and passes on its own (``-k``) or in any order:
every resource made once, configured as it should be, a second deploy changes nothing,
the handlers of the deployed functions run against moto's DynamoDB, Management API and
ECS, and ``status`` reports it. Tests of a plan against nothing deployed use prefix
``t0``, which is never deployed. ``destroy`` has its own module and deployment.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

from arbiter_protocol import mint_grant, verify_webhook
from arbiter_server import aws
from arbiter_server.aws import services_from_environment
from arbiter_server.cli import main
from arbiter_server.infra.awsclient import AwsClient
from arbiter_server.infra.deployer import create_deployer
from arbiter_server.infra.models import TAG_KEY, DeployConfig
from arbiter_server.infra.package import build_lambda_zip
from arbiter_server.infra.planner.apis import KEEPALIVE_REPLY, KEEPALIVE_THROTTLE
from arbiter_server.lambdas import (
    configure,
    get_services,
    is_configured,
    maintenance,
    room_api,
    signaling,
)
from arbiter_server.lambdas.routes import HTTP_ROUTES, MOCK_WS_ROUTES, WS_ROUTES
from arbiter_server.settings import Settings
from arbiter_server.smoke import resolve_deployment
from arbiter_server.store.dynamodb import DynamoDBStore
from tests.aws.helpers import REGION, client, duplicates, inventory, policy

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("aws_env")]

PREFIX = "t1"
FRESH = "t0"
"A prefix nothing is ever deployed under."
EXPECTED = {
    "log-group": sorted(
        [f"/aws/lambda/{PREFIX}-{s}" for s in ("maintenance", "room-api", "signaling", "webhooks")]
        + [f"/arbiter/{PREFIX}/sfu", f"/arbiter/{PREFIX}/turn"]
    ),
    "table": [f"{PREFIX}-state"],
    "role": [f"{PREFIX}-lambda", f"{PREFIX}-sfu-task", f"{PREFIX}-task-execution"],
    "repository": [f"{PREFIX}/coturn", f"{PREFIX}/sfu"],
    "security-group": [f"{PREFIX}-sfu", f"{PREFIX}-turn"],
    "load-balancer": [f"{PREFIX}-turn"],
    "listener": [f"{PREFIX}-turn:3478"],
    "target-group": [f"{PREFIX}-turn"],
    "cluster": [PREFIX],
    "task-definition": [f"{PREFIX}-sfu:1", f"{PREFIX}-turn:1"],
    "service": [f"{PREFIX}-turn"],
    "function": [
        f"{PREFIX}-maintenance",
        f"{PREFIX}-room-api",
        f"{PREFIX}-signaling",
        f"{PREFIX}-webhooks",
    ],
    "queue": [f"{PREFIX}-webhooks-dlq.fifo", f"{PREFIX}-webhooks.fifo"],
    "event-source-mapping": [f"{PREFIX}-webhooks.fifo -> {PREFIX}-webhooks"],
    "api": [f"{PREFIX}-http", f"{PREFIX}-ws"],
    "route": sorted(
        [f"{PREFIX}-http {r}" for r in HTTP_ROUTES]
        + [f"{PREFIX}-ws {r}" for r in WS_ROUTES + MOCK_WS_ROUTES]
    ),
    "stage": [f"{PREFIX}-http $default", f"{PREFIX}-ws prod"],
    "rule": [f"{PREFIX}-maintenance"],
    "parameter": [
        f"/arbiter/{PREFIX}/api-key",
        f"/arbiter/{PREFIX}/secret",
        f"/arbiter/{PREFIX}/turn-secret",
    ],
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deploy")


@pytest.fixture(scope="module")
def deployed(workdir: Path, aws_env: str) -> str:
    """Deploy ``t1`` once for the module; its printed output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(_cli(workdir, "deploy", "--yes", "--skip-images", "--log-retention", "7"))
    assert code == 0
    return out.getvalue()


def _cli(workdir: Path, *args: str, prefix: str = PREFIX) -> list[str]:
    return [
        *args,
        "--region",
        REGION,
        "--prefix",
        prefix,
        "--state-file",
        str(workdir / f"{prefix}.json"),
    ]


def _apis() -> dict[str, dict[str, Any]]:
    return {
        a["Name"]: a
        for a in client("apigatewayv2").get_apis()["Items"]
        if a["Name"].startswith(PREFIX + "-")
    }


def test_no_credentials_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    assert main(["status", "--region", REGION, "--prefix", PREFIX]) == 1
    err = capsys.readouterr().err
    assert "no AWS credentials found" in err and "aws configure" in err


def test_dry_run_shows_the_plan_and_changes_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_cli(workdir, "deploy", "--dry-run", "--skip-images", prefix=FRESH)) == 0
    out = capsys.readouterr().out
    assert "+ lambda-function" in out and "lambda.create_function(" in out
    assert "+ api-route" in out and "Plan:" in out and "to create" in out
    assert not any(inventory(FRESH).values())
    assert not (workdir / f"{FRESH}.json").exists()


def test_deploy_refuses_without_yes_when_not_interactive(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(_cli(workdir, "deploy", "--skip-images", prefix=FRESH)) == 3
    assert "--yes" in capsys.readouterr().err
    assert not any(inventory(FRESH).values())


def test_deploy_creates_every_resource_once(workdir: Path, deployed: str) -> None:
    out = deployed
    inv = inventory(PREFIX)
    assert duplicates(inv) == {}
    got = {k: v for k, v in inv.items() if k != "integration"}
    assert got == EXPECTED
    assert len(inv["integration"]) == 3  # one per API, and the keepalive mock
    apis = _apis()
    assert f"https://{apis[PREFIX + '-http']['ApiId']}.execute-api" in out
    assert f"arbiter-server smoke --region {REGION} --prefix {PREFIX}" in out
    state = json.loads((workdir / f"{PREFIX}.json").read_text())
    assert (
        state["prefix"] == PREFIX and state["values"]["ws_api_id"] == apis[PREFIX + "-ws"]["ApiId"]
    )


def test_resources_are_configured(deployed: str) -> None:
    # log retention
    for group in client("logs").describe_log_groups(logGroupNamePrefix=f"/arbiter/{PREFIX}/")[
        "logGroups"
    ]:
        assert group["retentionInDays"] == 7
    # WebSocket API: route selection, routes to the signaling function, AutoDeploy stage
    gw = client("apigatewayv2")
    apis = _apis()
    ws, http = apis[PREFIX + "-ws"], apis[PREFIX + "-http"]
    assert ws["ProtocolType"] == "WEBSOCKET"
    assert ws["RouteSelectionExpression"] == "$request.body.action"
    assert ws["Tags"][TAG_KEY] == PREFIX
    assert http["ProtocolType"] == "HTTP"
    for api, fn in ((ws, "signaling"), (http, "room-api")):
        (integ,) = [
            i
            for i in gw.get_integrations(ApiId=api["ApiId"])["Items"]
            if i["IntegrationType"] == "AWS_PROXY"
        ]
        assert f"function:{PREFIX}-{fn}" in integ["IntegrationUri"]
        routes = gw.get_routes(ApiId=api["ApiId"])["Items"]
        to_lambda = [r for r in routes if r["RouteKey"] not in MOCK_WS_ROUTES]
        assert {r["Target"] for r in to_lambda} == {f"integrations/{integ['IntegrationId']}"}
        (stage,) = gw.get_stages(ApiId=api["ApiId"])["Items"]
        assert stage["AutoDeploy"] is True
    (integ,) = gw.get_integrations(ApiId=http["ApiId"])["Items"]
    assert integ["PayloadFormatVersion"] == "2.0"
    # NLB: TCP_UDP listener on 3478, target group with TCP health checks, source-IP stickiness
    elb = client("elbv2")
    (lb,) = elb.describe_load_balancers(Names=[f"{PREFIX}-turn"])["LoadBalancers"]
    assert lb["Type"] == "network" and lb["Scheme"] == "internet-facing"
    (listener,) = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    (tg,) = elb.describe_target_groups(Names=[f"{PREFIX}-turn"])["TargetGroups"]
    assert listener["Protocol"] == "TCP_UDP" and listener["Port"] == 3478
    assert listener["DefaultActions"][0]["TargetGroupArn"] == tg["TargetGroupArn"]
    assert tg["Protocol"] == "TCP_UDP" and tg["TargetType"] == "ip"
    assert tg["HealthCheckProtocol"] == "TCP"  # UDP cannot be health-checked
    attrs = {
        a["Key"]: a["Value"]
        for a in elb.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])[
            "Attributes"
        ]
    }
    assert attrs["stickiness.enabled"] == "true" and attrs["stickiness.type"] == "source_ip"
    # cross-zone on: the NLB node of a zone without a coturn task still forwards
    lb_attrs = {
        a["Key"]: a["Value"]
        for a in elb.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])[
            "Attributes"
        ]
    }
    assert lb_attrs["load_balancing.cross_zone.enabled"] == "true"
    # ECS: coturn service behind the target group, Fargate task definitions
    ecs = client("ecs")
    (svc,) = ecs.describe_services(cluster=PREFIX, services=[f"{PREFIX}-turn"])["services"]
    assert svc["desiredCount"] == 1 and svc["launchType"] == "FARGATE"
    assert svc["loadBalancers"][0]["targetGroupArn"] == tg["TargetGroupArn"]
    assert svc["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "ENABLED"
    sfu = ecs.describe_task_definition(taskDefinition=f"{PREFIX}-sfu")["taskDefinition"]
    assert sfu["networkMode"] == "awsvpc" and sfu["requiresCompatibilities"] == ["FARGATE"]
    assert (sfu["cpu"], sfu["memory"]) == ("1024", "2048")
    # what the SFU needs to learn its public address and keep to the open ports
    assert sfu["taskRoleArn"].endswith(f":role/{PREFIX}-sfu-task")
    (sfu_container,) = sfu["containerDefinitions"]
    sfu_env = {e["name"]: e["value"] for e in sfu_container["environment"]}
    assert sfu_env["ARBITER_SFU_PORTS"] == "40000-49999"
    assert sfu_container["systemControls"] == [
        {"namespace": "net.ipv4.ip_local_port_range", "value": "40000 49999"}
    ]
    (sfu_group,) = client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{PREFIX}-sfu"]}]
    )["SecurityGroups"]
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in sfu_group["IpPermissions"]] == [
        ("udp", 40000, 49999)
    ]
    assert policy(f"{PREFIX}-sfu-task")["Statement"][0]["Action"] == [
        "ec2:DescribeNetworkInterfaces"
    ]
    turn = ecs.describe_task_definition(taskDefinition=f"{PREFIX}-turn")["taskDefinition"]
    (container,) = turn["containerDefinitions"]
    assert {(p["containerPort"], p["protocol"]) for p in container["portMappings"]} == {
        (3478, "udp"),
        (3478, "tcp"),
    }
    assert container["secrets"][0]["valueFrom"].endswith(f"parameter/arbiter/{PREFIX}/turn-secret")
    assert container["logConfiguration"]["options"]["awslogs-group"] == f"/arbiter/{PREFIX}/turn"
    # ECS checks coturn over UDP itself (the NLB can only check TCP)
    assert container["healthCheck"]["command"] == ["CMD", "/usr/local/bin/arbiter-turn-health"]
    assert (container["healthCheck"]["interval"], container["healthCheck"]["retries"]) == (15, 3)
    # DynamoDB: keys and TTL
    ddb = client("dynamodb")
    table = ddb.describe_table(TableName=f"{PREFIX}-state")["Table"]
    assert {k["AttributeName"] for k in table["KeySchema"]} == {"pk", "sk"}
    ttl = ddb.describe_time_to_live(TableName=f"{PREFIX}-state")["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == "expires_at"
    # IAM: inline policies only, scoped to this deployment's resources
    iam = client("iam")
    for role in (f"{PREFIX}-lambda", f"{PREFIX}-task-execution", f"{PREFIX}-sfu-task"):
        assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["arbiter"]
        assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    lam = {s["Sid"]: s for s in policy(f"{PREFIX}-lambda")["Statement"]}
    assert lam["Signaling"]["Resource"] == [
        f"arn:aws:execute-api:{REGION}:123456789012:{ws['ApiId']}/prod/*"
    ]
    assert lam["State"]["Resource"][0].endswith(f":table/{PREFIX}-state")
    assert lam["RunSfu"]["Resource"][0].endswith(f":task-definition/{PREFIX}-sfu:*")
    bare = [k for k, s in lam.items() if "*" in s["Resource"]]
    assert bare == ["ListSfu"]  # ecs:ListTasks takes no resource; a condition scopes it
    assert lam["ListSfu"]["Condition"]["ArnEquals"]["ecs:cluster"].endswith(f":cluster/{PREFIX}")
    exe = {s["Sid"]: s for s in policy(f"{PREFIX}-task-execution")["Statement"]}
    assert exe["TurnSecret"]["Action"] == ["ssm:GetParameters"]
    # Lambda: handlers, environment, permissions for API Gateway and EventBridge
    lam_client = client("lambda")
    fn = lam_client.get_function_configuration(FunctionName=f"{PREFIX}-signaling")
    assert fn["Handler"] == "arbiter_server.aws.signaling_handler"
    env = fn["Environment"]["Variables"]
    assert (
        env["ARBITER_SIGNALING_URL"]
        == f"wss://{ws['ApiId']}.execute-api.{REGION}.amazonaws.com/prod"
    )
    assert (
        env["ARBITER_TURN_HOST"]
        == client("elbv2").describe_load_balancers(Names=[f"{PREFIX}-turn"])["LoadBalancers"][0][
            "DNSName"
        ]
    )
    assert "ARBITER_SECRET" not in env  # the secret lives in SSM
    sids = {
        s["Sid"]
        for s in json.loads(lam_client.get_policy(FunctionName=f"{PREFIX}-signaling")["Policy"])[
            "Statement"
        ]
    }
    assert sids == {"arbiter-ws"}
    (target,) = client("events").list_targets_by_rule(Rule=f"{PREFIX}-maintenance")["Targets"]
    assert target["Arn"].endswith(f"function:{PREFIX}-maintenance")


def test_keepalive_is_answered_by_api_gateway_without_a_lambda_or_a_table(
    workdir: Path, deployed: str
) -> None:
    """The keepalive route is two-way and goes to a mock integration (nothing is invoked, no
    table is touched) whose answer is keepalive_ack; the stage throttles the route."""
    gw = client("apigatewayv2")
    ws = _apis()[PREFIX + "-ws"]
    routes = {r["RouteKey"]: r for r in gw.get_routes(ApiId=ws["ApiId"])["Items"]}
    route = routes["keepalive"]
    integration_id = route["Target"].removeprefix("integrations/")
    mock = gw.get_integration(ApiId=ws["ApiId"], IntegrationId=integration_id)
    assert mock["IntegrationType"] == "MOCK" and "IntegrationUri" not in mock
    assert mock["RequestTemplates"] == {"$default": '{"statusCode": 200}'}
    (answer,) = gw.get_integration_responses(ApiId=ws["ApiId"], IntegrationId=integration_id)[
        "Items"
    ]
    assert answer["ResponseTemplates"] == {"$default": KEEPALIVE_REPLY}
    assert json.loads(KEEPALIVE_REPLY) == {"action": "keepalive_ack", "v": 1}
    assert route["RouteResponseSelectionExpression"] == "$default"
    values = json.loads((workdir / f"{PREFIX}.json").read_text())["values"]
    response = gw.get_route_response(
        ApiId=ws["ApiId"],
        RouteId=route["RouteId"],
        RouteResponseId=values["ws_keepalive_route_response_id"],
    )
    assert response["RouteResponseKey"] == "$default"
    (stage,) = gw.get_stages(ApiId=ws["ApiId"])["Items"]
    assert stage["RouteSettings"]["keepalive"] == KEEPALIVE_THROTTLE
    # every other route goes to the signaling function; keepalive never does
    signaling = [r for k, r in routes.items() if k != "keepalive"]
    assert {r["Target"] for r in signaling} != {route["Target"]}


def test_second_deploy_changes_nothing(
    workdir: Path, deployed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = inventory(PREFIX)
    deployer = create_deployer(
        DeployConfig(region=REGION, prefix=PREFIX, skip_images=True, log_retention_days=7),
        state_path=workdir / f"{PREFIX}.json",
        cache_dir=workdir / "build",
        sleep=lambda s: None,
    )
    assert deployer.plan_deploy().changes == []
    assert main(_cli(workdir, "deploy", "--yes", "--skip-images", "--log-retention", "7")) == 0
    assert "No changes" in capsys.readouterr().out
    assert inventory(PREFIX) == before
    # a changed size is an update, not a new resource
    changed = create_deployer(
        DeployConfig(
            region=REGION, prefix=PREFIX, skip_images=True, log_retention_days=7, turn_count=2
        ),
        state_path=workdir / f"{PREFIX}.json",
        cache_dir=workdir / "build",
    ).plan_deploy()
    assert [(c.action, c.kind) for c in changed.changes] == [("update", "ecs-service")]


def _lambda_env() -> dict[str, str]:
    fn = client("lambda").get_function_configuration(FunctionName=f"{PREFIX}-signaling")
    return dict(fn["Environment"]["Variables"])


def _posted(connection_id: str) -> list[dict[str, Any]]:
    conn = apigatewaymanagementapi_backends["123456789012"][REGION].connections.get(connection_id)
    data = conn.data.decode() if conn is not None else ""
    out, decoder, i = [], json.JSONDecoder(), 0
    while i < len(data):
        msg, i = decoder.raw_decode(data, i)
        out.append(msg)
    if conn is not None:
        conn.data = b""
    return out


def _ws(route: str, connection_id: str, body: dict[str, Any] | None = None) -> None:
    event = {
        "requestContext": {"routeKey": route, "connectionId": connection_id},
        "body": json.dumps(body) if body is not None else None,
    }
    assert signaling.handler(event, None) == {"statusCode": 200}


def _http(
    route: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **path: str,
) -> dict[str, Any]:
    event = {
        "routeKey": route,
        "pathParameters": path,
        "headers": headers or {},
        "body": json.dumps(body or {}),
    }
    resp = room_api.handler(event, None)
    return {"status": resp["statusCode"], **json.loads(resp["body"])}


def test_deployed_handlers_run_against_dynamodb_management_api_and_ecs(deployed: str) -> None:
    # as on Lambda, plus the emulator's endpoint (which also serves the Management API)
    env = {
        **_lambda_env(),
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
    }
    services = services_from_environment(env, AwsClient(REGION))
    configure(services)
    try:
        # a deployment closes room creation by default: the API key is in SSM
        refused = _http("POST /rooms", {"room_id": "aws-room"})
        assert refused["status"] == 401 and refused["error"]["code"] == "unauthorized"
        key = client("ssm").get_parameter(Name=f"/arbiter/{PREFIX}/api-key", WithDecryption=True)
        api_key = key["Parameter"]["Value"]
        created = _http("POST /rooms", {"room_id": "aws-room"}, headers={"x-api-key": api_key})
        assert created["status"] == 201 and created["url"].endswith("/rooms/aws-room")
        # the ECS launcher ran an SFU task carrying its credential in the env override
        ecs = client("ecs")
        arns = ecs.list_tasks(cluster=PREFIX, startedBy="arbiter-sfu")["taskArns"]
        (task,) = ecs.describe_tasks(cluster=PREFIX, tasks=arns)["tasks"]
        assert task["lastStatus"] == "RUNNING" and task["launchType"] == "FARGATE"
        (override,) = task["overrides"]["containerOverrides"]
        sfu_token = {e["name"]: e["value"] for e in override["environment"]}["ARBITER_SFU_TOKEN"]
        assert override["command"][override["command"].index("--room") + 1] == "aws-room"
        room = services.store.get_room("aws-room")
        assert room is not None and room.sfu_handle == task["taskArn"]
        assert services.launcher.is_alive(task["taskArn"])

        _ws("$connect", "sfu-conn")
        _ws("identify", "sfu-conn", {"action": "identify", "v": 1, "token": sfu_token})
        (identified,) = _posted("sfu-conn")
        assert identified["action"] == "identified" and identified["role"] == "sfu"

        # rooms are private by default on deploy: a plain join is refused, a grant minted
        # with the API key gets in
        plain = _http("POST /rooms/{room_id}/join", {"name": "alice"}, room_id="aws-room")
        assert plain["status"] == 403 and "is private" in plain["error"]["message"]
        assert created["private"] is True and env["ARBITER_PRIVATE_ROOMS"] == "true"
        grant = mint_grant(api_key, "aws-room", "alice")
        joined = _http("POST /rooms/{room_id}/join", {"grant": grant}, room_id="aws-room")
        assert joined["status"] == 200
        assert joined["signaling_url"] == env["ARBITER_SIGNALING_URL"]
        turn = joined["ice_servers"][1]
        assert turn["urls"][0].startswith(f"turn:{env['ARBITER_TURN_HOST']}:3478")
        assert turn["username"].endswith(":" + joined["participant_id"]) and turn["credential"]
        _ws("$connect", "alice-conn")
        _ws("identify", "alice-conn", {"action": "identify", "v": 1, "token": joined["token"]})
        (me,) = _posted("alice-conn")
        assert me["action"] == "identified" and me["sfu_ready"] is True
        assert [m["action"] for m in _posted("sfu-conn")] == ["participant_joined"]

        offer = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}
        _ws(
            "handshake",
            "alice-conn",
            {"action": "handshake", "v": 1, "connection": "producer", "sdp": offer},
        )
        (relayed,) = _posted("sfu-conn")
        assert relayed["participant_id"] == joined["participant_id"] and relayed["sdp"] == offer

        _ws("$default", "alice-conn", {"action": "teleport", "v": 1})
        assert _posted("alice-conn")[0]["code"] == "unknown_action"

        # a dropped socket is kept "away" for the reconnect grace; maintenance ends it
        _ws("$disconnect", "alice-conn")
        assert _posted("sfu-conn") == []
        assert services.store.get_connection("alice-conn").role == "away"  # type: ignore[union-attr]
        services.settings.reconnect_grace = 0.0
        services.settings.pool_size = 0
        result = maintenance.handler({}, None)
        assert result["left"] == [joined["participant_id"]] and result["stopped"] == []
        left = _posted("sfu-conn")
        assert [m["action"] for m in left] == ["participant_left"]
        assert services.store.get_connection("alice-conn") is None

        # ...and then the empty room's SFU is stopped once the grace period is over
        services.settings.empty_room_grace = 0.0
        result = maintenance.handler({}, None)
        assert result["stopped"] == ["aws-room"]
        (task,) = ecs.describe_tasks(cluster=PREFIX, tasks=arns)["tasks"]
        assert task["lastStatus"] == "STOPPED"
        assert not services.launcher.is_alive(task["taskArn"])
    finally:
        configure(None)


def test_status_shows_each_sfu_with_its_room(
    deployed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**_lambda_env(), "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"]}
    launcher = services_from_environment(env, AwsClient(REGION)).launcher
    handle = launcher.start("status-room", "sfu-token")
    try:
        assert main(["status", "--json", "--region", REGION, "--prefix", PREFIX]) == 0
        info = json.loads(capsys.readouterr().out)
        assert main(["status", "--region", REGION, "--prefix", PREFIX]) == 0
        table = capsys.readouterr().out
    finally:
        launcher.stop(handle)
    assert info["deployed"] is True
    assert info["endpoints"]["signaling"].startswith("wss://")
    assert info["endpoints"]["turn"]
    assert set(info["functions"].values()) == {"Active"}
    assert info["turn_service"]["desired"] == 1
    (sfu,) = [t for t in info["tasks"] if t["arn"] == handle]
    assert sfu["kind"] == "sfu" and sfu["room"] == "status-room"
    row = next(line for line in table.splitlines() if handle.rsplit("/", 1)[-1][:8] in line)
    assert "sfu" in row and "status-room" in row


def test_a_permission_naming_another_api_is_replaced(workdir: Path, deployed: str) -> None:
    lam = client("lambda")
    name = f"{PREFIX}-signaling"
    lam.remove_permission(FunctionName=name, StatementId="arbiter-ws")
    stale = f"arn:aws:execute-api:{REGION}:123456789012:gone123/*"
    lam.add_permission(
        FunctionName=name,
        StatementId="arbiter-ws",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=stale,
    )
    deployer = create_deployer(
        DeployConfig(region=REGION, prefix=PREFIX, skip_images=True, log_retention_days=7),
        state_path=workdir / f"{PREFIX}.json",
        cache_dir=workdir / "build",
    )
    plan = deployer.plan_deploy()
    ws_id = _apis()[f"{PREFIX}-ws"]["ApiId"]
    assert [(c.action, c.kind, c.name, c.detail) for c in plan.changes] == [
        ("update", "lambda-permission", f"{name}/arbiter-ws", "statement differs")
    ]
    assert [(i.method, i.params["StatementId"]) for i in plan.changes[0].instructions] == [
        ("remove_permission", "arbiter-ws"),
        ("add_permission", "arbiter-ws"),
    ]
    deployer.apply(plan)
    (statement,) = json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == (
        f"arn:aws:execute-api:{REGION}:123456789012:{ws_id}/*"
    )
    assert deployer.plan_deploy().changes == []


def test_the_functions_entry_points_build_their_services_on_a_cold_start(
    deployed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in _lambda_env().items():
        monkeypatch.setenv(key, value)
    configure(None)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)  # what Lambda's Python runtime leaves it at
    try:
        health = aws.room_api_handler({"routeKey": "GET /health"}, None)
        assert health["statusCode"] == 200 and is_configured()
        assert root.level == logging.INFO  # ARBITER_LOG_LEVEL: the handlers' logs are kept
        services = get_services()
        assert isinstance(services.store, DynamoDBStore)
        # TURN credentials through the NLB, valid for the one TTL setting, UDP and TCP
        stun, turn = services.ice_servers("p-1")
        host = _lambda_env()["ARBITER_TURN_HOST"]
        assert stun.urls == [f"stun:{host}:3478"]
        assert turn.urls == [f"turn:{host}:3478?transport=udp", f"turn:{host}:3478?transport=tcp"]
        assert turn.username is not None and turn.username.endswith(":p-1")
        expiry = int(turn.username.split(":")[0])
        assert abs(expiry - (time.time() + services.settings.turn_ttl)) < 30
        assert services.settings.turn_ttl == Settings.turn_ttl
    finally:
        configure(None)
        root.setLevel(level)


_HANDLER_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from arbiter_protocol import mint_grant, verify_webhook
from arbiter_server import aws
print(json.dumps(aws.room_api_handler(json.loads(sys.argv[2]), None)))
"""


def _from_zip(unzipped: Path, event: dict[str, Any]) -> dict[str, Any]:
    """The Room API function's answer to ``event``, run from the unzipped Lambda code alone."""
    result = subprocess.run(
        [sys.executable, "-c", _HANDLER_PROBE, str(unzipped), json.dumps(event)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **_lambda_env()},
        cwd=unzipped.parent,
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def test_the_room_page_is_served_by_the_deployed_function_from_its_zip(
    deployed: str, tmp_path: Path
) -> None:
    # the routes API Gateway sends a browser's requests through
    gw = client("apigatewayv2")
    http = _apis()[f"{PREFIX}-http"]
    (integration,) = gw.get_integrations(ApiId=http["ApiId"])["Items"]
    routes = {r["RouteKey"]: r["Target"] for r in gw.get_routes(ApiId=http["ApiId"])["Items"]}
    for key in ("GET /rooms/{room_id}", "GET /assets/{file}"):
        assert routes[key] == f"integrations/{integration['IntegrationId']}"
    # the zip is deterministic: this build is the code the function runs
    built = build_lambda_zip(tmp_path / "cache")
    fn = client("lambda").get_function_configuration(FunctionName=f"{PREFIX}-room-api")
    assert fn["CodeSha256"] == built.sha256
    unzipped = tmp_path / "task"
    zipfile.ZipFile(built.path).extractall(unzipped)
    # a browser at a room URL: an HTTP API 2.0 event with Accept: text/html
    page = _from_zip(
        unzipped,
        {
            "version": "2.0",
            "routeKey": "GET /rooms/{room_id}",
            "rawPath": "/rooms/any-room",
            "pathParameters": {"room_id": "any-room"},
            "headers": {"accept": "text/html,application/xhtml+xml"},
            "requestContext": {"http": {"method": "GET", "path": "/rooms/any-room"}},
        },
    )
    assert page["statusCode"] == 200
    assert page["headers"]["content-type"].startswith("text/html")
    (asset,) = re.findall(r'src="/assets/([^"]+\.js)"', page["body"])
    # ...and the bundle it loads
    bundle = _from_zip(
        unzipped,
        {"routeKey": "GET /assets/{file}", "pathParameters": {"file": asset}, "headers": {}},
    )
    assert bundle["statusCode"] == 200 and "javascript" in bundle["headers"]["content-type"]
    assert bundle["body"] == (unzipped / "arbiter_server" / "web" / "assets" / asset).read_text()


def test_smoke_finds_the_deployments_url_and_api_key(
    deployed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url, key = resolve_deployment(REGION, PREFIX)
    assert url == f"https://{_apis()[f'{PREFIX}-http']['ApiId']}.execute-api.{REGION}.amazonaws.com"
    stored = client("ssm").get_parameter(Name=f"/arbiter/{PREFIX}/api-key", WithDecryption=True)
    assert key == stored["Parameter"]["Value"]
    assert main(["smoke", "--region", REGION, "--prefix", FRESH]) == 1
    assert f"no deployment '{FRESH}' in {REGION}" in capsys.readouterr().out


class _Hook(http.server.BaseHTTPRequestHandler):
    """A webhook receiver on loopback: answers 500 to the first ``fail`` posts."""

    fail = 0
    got: list[tuple[int, bytes, str]] = []

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = 500 if _Hook.fail > 0 else 200
        _Hook.fail -= 1
        _Hook.got.append((status, body, self.headers["Arbiter-Signature"]))
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_webhooks_are_queued_per_room_and_delivered_signed(deployed: str) -> None:
    """The deploy made a FIFO queue (and its dead-letter queue) fed by the handlers and
    drained by the delivery function; refused events are handed back, in order."""
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=f"{PREFIX}-webhooks.fifo")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_url(QueueName=f"{PREFIX}-webhooks-dlq.fifo")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    assert attrs["FifoQueue"] == "true" and attrs["VisibilityTimeout"] == "120"
    assert json.loads(attrs["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq_arn["QueueArn"],
        "maxReceiveCount": 5,
    }
    (mapping,) = client("lambda").list_event_source_mappings(FunctionName=f"{PREFIX}-webhooks")[
        "EventSourceMappings"
    ]
    assert mapping["EventSourceArn"] == attrs["QueueArn"] and mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # the handlers' role may put events in the queue and the delivery function take them
    # out, on this queue only
    sqs_grants = [
        s
        for s in policy(f"{PREFIX}-lambda")["Statement"]
        if any(a.startswith("sqs:") for a in s["Action"])
    ]
    assert [s["Resource"] for s in sqs_grants] == [[attrs["QueueArn"]]]
    assert {"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"} <= set(
        sqs_grants[0]["Action"]
    )
    env = {
        **_lambda_env(),
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
    }
    assert env["ARBITER_WEBHOOK_QUEUE_URL"] == url

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    services = services_from_environment(env, AwsClient(REGION))
    configure(services)
    try:
        key = client("ssm").get_parameter(Name=f"/arbiter/{PREFIX}/api-key", WithDecryption=True)
        api_key = key["Parameter"]["Value"]
        hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
        put = _http("PUT /v1/webhook", {"url": hook}, headers={"x-api-key": api_key})
        assert put["status"] == 200 and put["url"] == hook
        created = _http("POST /rooms", {"room_id": "hooked"}, headers={"x-api-key": api_key})
        assert created["status"] == 201
        grant = mint_grant(api_key, "hooked", "bea")
        joined = _http("POST /rooms/{room_id}/join", {"grant": grant}, room_id="hooked")
        _ws("$connect", "bea-conn")
        _ws("identify", "bea-conn", {"action": "identify", "v": 1, "token": joined["token"]})
        _ws("leave", "bea-conn", {"action": "leave", "v": 1})
        # the handlers queued the room's events in one message group, in order
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["MessageGroupId"]
        )["Messages"]
        records = [
            {
                "messageId": m["MessageId"],
                "body": m["Body"],
                "attributes": {"MessageGroupId": m["Attributes"]["MessageGroupId"]},
            }
            for m in messages
        ]
        assert {r["attributes"]["MessageGroupId"] for r in records} == {"hooked"}
        order = [json.loads(r["body"])["event"] for r in records]
        assert order == ["room_started", "participant_joined", "participant_left", "room_ended"]
        # the receiver refuses twice: the first event fails (two attempts), and the rest of
        # its room waits for the queue to hand them again
        _Hook.fail, _Hook.got = 2, []
        first = aws.webhook_delivery_handler({"Records": records}, None)
        assert first == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}
        again = aws.webhook_delivery_handler({"Records": records}, None)
        assert again == {"batchItemFailures": []}
        taken = [
            verify_webhook(body, sig, api_key) for status, body, sig in _Hook.got if status == 200
        ]
        assert [e.event for e in taken] == order
        assert taken[1].participant is not None and taken[1].participant.identity == "bea"
    finally:
        configure(None)
        server.shutdown()
        thread.join(5)
