"""The planner's steps against an in-memory account: the exact instructions each one plans.

Each test sets up only what its step reads (resources in :class:`InMemoryAccount`, ids
earlier steps would have found in ``values``) and compares the whole list of changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from arbiter_server.infra.models import APICall, Change, DeployConfig, Template, Var, Wait
from arbiter_server.infra.package import LambdaZip
from arbiter_server.infra.planner import FUNCTIONS, Names, PlanContext, Planner
from arbiter_server.infra.planner.apis import (
    KEEPALIVE_REPLY,
    KEEPALIVE_THROTTLE,
    MOCK_REQUEST,
    plan_api_routes,
    plan_permissions,
)
from arbiter_server.infra.planner.containers import plan_turn_service
from arbiter_server.infra.planner.data import plan_parameters, plan_table
from arbiter_server.infra.planner.functions import plan_functions, plan_schedule
from arbiter_server.infra.planner.iam import plan_roles
from arbiter_server.infra.planner.network import (
    plan_context,
    plan_listener,
    plan_load_balancer,
    plan_security_groups,
    plan_target_group,
)
from arbiter_server.lambdas.routes import HTTP_ROUTES, WS_ROUTES
from tests.aws.account import InMemoryAccount

P = "pl"
TAGS = [{"Key": "arbiter:deployment", "Value": P}]
ACCOUNT = "123456789012"
REGION = "eu-west-1"


@pytest.fixture
def lambda_zip(tmp_path: Path) -> LambdaZip:
    path = tmp_path / "lambda.zip"
    path.write_bytes(b"zip")
    return LambdaZip(path=path, sha256="c2hh", size=3)


def _context(
    account: InMemoryAccount, lambda_zip: LambdaZip, config: DeployConfig | None = None
) -> PlanContext:
    return PlanContext(
        account,
        config or DeployConfig(region=REGION, prefix=P),
        Names(P),
        lambda_zip,
        {"sfu": "src-sfu", "coturn": "src-turn"},
        new_secret=lambda: "generated",
    )


def _run(
    step: Callable[[PlanContext], None],
    account: InMemoryAccount,
    lambda_zip: LambdaZip,
    config: DeployConfig | None = None,
    **values: str,
) -> tuple[list[Change], PlanContext]:
    """Run ``plan_context`` then ``step`` with ``values`` known; the step's changes."""
    ctx = _context(account, lambda_zip, config)
    plan_context(ctx)
    ctx.values.update(values)
    step(ctx)
    return ctx.plan.changes, ctx


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def test_an_empty_account_gets_every_resource_in_dependency_order(lambda_zip: LambdaZip) -> None:
    plan = Planner(InMemoryAccount()).plan(
        DeployConfig(region=REGION, prefix=P), lambda_zip, {"sfu": "a", "coturn": "b"}
    )
    fns = [f"{P}-room-api", f"{P}-signaling", f"{P}-maintenance", f"{P}-webhooks"]
    assert [(c.action, c.kind, c.name) for c in plan.changes] == [
        ("create", "ssm-parameter", f"/arbiter/{P}/secret"),
        ("create", "ssm-parameter", f"/arbiter/{P}/turn-secret"),
        ("create", "ssm-parameter", f"/arbiter/{P}/api-key"),
        *[("create", "log-group", f"/aws/lambda/{f}") for f in fns],
        ("create", "log-group", f"/arbiter/{P}/sfu"),
        ("create", "log-group", f"/arbiter/{P}/turn"),
        ("create", "dynamodb-table", f"{P}-state"),
        ("create", "sqs-queue", f"{P}-webhooks-dlq.fifo"),
        ("create", "sqs-queue", f"{P}-webhooks.fifo"),
        ("create", "ecr-repository", f"{P}/sfu"),
        ("create", "container-image", f"{P}/sfu:a"),
        ("create", "ecr-repository", f"{P}/coturn"),
        ("create", "container-image", f"{P}/coturn:b"),
        ("create", "security-group", f"{P}-sfu"),
        ("create", "security-group", f"{P}-turn"),
        ("create", "api", f"{P}-http"),
        ("create", "api", f"{P}-ws"),
        ("create", "iam-role", f"{P}-lambda"),
        ("create", "iam-role", f"{P}-task-execution"),
        ("create", "iam-role", f"{P}-sfu-task"),
        ("create", "load-balancer", f"{P}-turn"),
        ("create", "target-group", f"{P}-turn"),
        ("create", "listener", f"{P}-turn:3478"),
        ("create", "ecs-cluster", P),
        ("create", "task-definition", f"{P}-sfu"),
        ("create", "task-definition", f"{P}-turn"),
        ("create", "ecs-service", f"{P}-turn"),
        *[("create", "lambda-function", f) for f in fns],
        ("create", "event-source-mapping", f"{P}-webhooks.fifo -> {P}-webhooks"),
        ("create", "lambda-permission", f"{P}-room-api/arbiter-http"),
        ("create", "lambda-permission", f"{P}-signaling/arbiter-ws"),
        ("create", "lambda-permission", f"{P}-maintenance/arbiter-events"),
        ("create", "api-integration", f"{P}-http -> {P}-room-api"),
        *[("create", "api-route", f"{P}-http {r}") for r in HTTP_ROUTES],
        ("create", "api-stage", f"{P}-http $default"),
        ("create", "api-integration", f"{P}-ws -> {P}-signaling"),
        ("create", "api-integration", f"{P}-ws -> mock (keepalive_ack)"),
        *[("create", "api-route", f"{P}-ws {r}") for r in WS_ROUTES],
        ("create", "api-route", f"{P}-ws keepalive"),
        ("create", "api-stage", f"{P}-ws prod"),
        ("create", "events-rule", f"{P}-maintenance"),
    ]


def test_the_context_needs_a_vpc_and_puts_the_nlb_in_two_zones(lambda_zip: LambdaZip) -> None:
    ctx = _context(InMemoryAccount(vpc=None), lambda_zip)
    with pytest.raises(RuntimeError, match="no default VPC: pass --vpc-id and --subnets"):
        plan_context(ctx)
    changes, ctx = _run(lambda ctx: None, InMemoryAccount(), lambda_zip)
    assert changes == []
    assert ctx.values["subnets"] == "subnet-a,subnet-b,subnet-c"
    assert ctx.values["nlb_subnets"] == "subnet-a,subnet-b"
    assert (ctx.values["account"], ctx.values["region"]) == (ACCOUNT, REGION)


def test_only_missing_parameters_are_created(lambda_zip: LambdaZip) -> None:
    account = InMemoryAccount(parameters={f"/arbiter/{P}/secret", f"/arbiter/{P}/api-key"})
    changes, ctx = _run(plan_parameters, account, lambda_zip)
    name = f"/arbiter/{P}/turn-secret"
    put = {"Name": name, "Type": "SecureString", "Value": "generated", "Tags": TAGS}
    assert changes == [
        Change(
            "create",
            "ssm-parameter",
            name,
            (APICall("ssm", "put_parameter", put),),
            "SecureString (generated)",
        )
    ]
    assert ctx.values["turn_secret_param_arn"] == _arn("ssm", f"parameter{name}")


def test_a_table_without_ttl_gets_ttl_only(lambda_zip: LambdaZip) -> None:
    table = f"{P}-state"
    account = InMemoryAccount(
        tables={table: {"TableStatus": "ACTIVE"}},
        ttls={table: {"TimeToLiveStatus": "DISABLED"}},
    )
    changes, _ = _run(plan_table, account, lambda_zip)
    ttl = {
        "TableName": table,
        "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expires_at"},
    }
    assert changes == [
        Change(
            "update",
            "dynamodb-table",
            table,
            (APICall("dynamodb", "update_time_to_live", ttl),),
            "enable TTL on expires_at",
        )
    ]


def _rule(proto: str, lo: int, hi: int) -> dict[str, object]:
    return {
        "IpProtocol": proto,
        "FromPort": lo,
        "ToPort": hi,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
    }


def test_security_group_rules_are_reconciled_rule_by_rule(lambda_zip: LambdaZip) -> None:
    account = InMemoryAccount(
        security_groups={
            f"{P}-sfu": {
                "GroupId": "sg-sfu",
                "IpPermissions": [_rule("udp", 1024, 65535), _rule("udp", 40000, 49999)],
            },
            f"{P}-turn": {
                "GroupId": "sg-turn",
                "IpPermissions": [_rule("udp", 3478, 3478), _rule("udp", 49152, 65535)],
            },
        }
    )
    changes, ctx = _run(plan_security_groups, account, lambda_zip)
    assert changes == [
        Change(
            "update",
            "security-group",
            f"{P}-sfu",
            (
                APICall(
                    "ec2",
                    "revoke_security_group_ingress",
                    {"GroupId": "sg-sfu", "IpPermissions": [_rule("udp", 1024, 65535)]},
                ),
            ),
            "ingress rules",
        ),
        Change(
            "update",
            "security-group",
            f"{P}-turn",
            (
                APICall(
                    "ec2",
                    "authorize_security_group_ingress",
                    {"GroupId": "sg-turn", "IpPermissions": [_rule("tcp", 3478, 3478)]},
                ),
            ),
            "ingress rules",
        ),
    ]
    assert (ctx.values["sfu_sg"], ctx.values["turn_sg"]) == ("sg-sfu", "sg-turn")


def test_a_drifted_target_group_gets_its_attributes_and_health_check_back(
    lambda_zip: LambdaZip,
) -> None:
    account = InMemoryAccount(
        target_groups={
            f"{P}-turn": {
                "TargetGroupArn": "tg-1",
                "HealthCheckProtocol": "HTTP",
                "HealthCheckPort": "80",
            }
        },
        tg_attributes={"tg-1": {"stickiness.enabled": "false"}},
    )
    changes, _ = _run(plan_target_group, account, lambda_zip)
    attributes = [
        {"Key": "stickiness.enabled", "Value": "true"},
        {"Key": "stickiness.type", "Value": "source_ip"},
        {"Key": "deregistration_delay.timeout_seconds", "Value": "3000"},
    ]
    health = {
        "HealthCheckProtocol": "TCP",
        "HealthCheckPort": "traffic-port",
        "HealthCheckIntervalSeconds": 10,
        "HealthyThresholdCount": 3,
        "UnhealthyThresholdCount": 3,
    }
    assert changes == [
        Change(
            "update",
            "target-group",
            f"{P}-turn",
            (
                APICall(
                    "elbv2",
                    "modify_target_group_attributes",
                    {"TargetGroupArn": Var("tg_arn"), "Attributes": attributes},
                ),
                APICall("elbv2", "modify_target_group", {"TargetGroupArn": "tg-1", **health}),
            ),
            "stickiness/health",
        )
    ]


def test_a_listener_forwarding_elsewhere_is_repointed_and_a_duplicate_deleted(
    lambda_zip: LambdaZip,
) -> None:
    forward_other = [{"Type": "forward", "TargetGroupArn": "tg-other"}]
    account = InMemoryAccount(
        lb_listeners={
            "lb-1": [
                {"ListenerArn": "l-1", "Port": 3478, "Protocol": "UDP", "DefaultActions": []},
                {
                    "ListenerArn": "l-2",
                    "Port": 3478,
                    "Protocol": "TCP_UDP",
                    "DefaultActions": forward_other,
                },
            ]
        }
    )
    changes, _ = _run(plan_listener, account, lambda_zip, nlb_arn="lb-1", tg_arn="tg-1")
    forward = [{"Type": "forward", "TargetGroupArn": Var("tg_arn")}]
    assert changes == [
        Change(
            "update",
            "listener",
            f"{P}-turn:3478",
            (
                APICall(
                    "elbv2",
                    "modify_listener",
                    {"ListenerArn": "l-1", "Protocol": "TCP_UDP", "DefaultActions": forward},
                ),
            ),
        ),
        Change(
            "delete",
            "listener",
            "l-2",
            (APICall("elbv2", "delete_listener", {"ListenerArn": "l-2"}),),
            "duplicate",
        ),
    ]


def test_a_role_with_a_changed_policy_and_a_foreign_one_is_put_back(
    lambda_zip: LambdaZip,
) -> None:
    role = f"{P}-task-execution"
    task_role_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnAddress",
                "Effect": "Allow",
                "Action": ["ec2:DescribeNetworkInterfaces"],
                "Resource": ["*"],
            }
        ],
    }
    account = InMemoryAccount(
        roles={f"{P}-lambda": {}, role: {}, f"{P}-sfu-task": {}},
        inline_policies={
            role: {"arbiter": {"Statement": []}, "extra": {"Statement": []}},
            f"{P}-sfu-task": {"arbiter": task_role_policy},
        },
    )
    values = {
        "table_arn": "t",
        "secret_param_arn": "s1",
        "turn_secret_param_arn": "s2",
        "api_key_param_arn": "s3",
    }
    changes, _ = _run(plan_roles, account, lambda_zip, **values)
    # the Lambda role's policy names the WebSocket API, whose id is not known yet
    assert [(c.action, c.name, c.detail) for c in changes] == [
        ("update", f"{P}-lambda", "inline policy 'arbiter'"),
        ("update", role, "inline policy 'arbiter'"),
        ("update", role, "remove inline policies ['extra']"),
    ]
    (put,) = changes[1].instructions
    assert isinstance(put, APICall) and put.method == "put_role_policy"
    document = json.loads(put.params["PolicyDocument"].text)
    assert [s["Sid"] for s in document["Statement"]] == ["PullLogin", "Pull", "Logs", "TurnSecret"]
    assert changes[2].instructions == (
        APICall("iam", "delete_role_policy", {"RoleName": role, "PolicyName": "extra"}),
    )


def _function(lambda_zip: LambdaZip, ctx: PlanContext, name: str, handler: str) -> dict:
    from arbiter_server.infra.planner.functions import lambda_environment

    return {
        "CodeSha256": lambda_zip.sha256,
        "Role": "role-arn",
        "Handler": handler,
        "Runtime": "python3.11",
        "Timeout": FUNCTIONS[name][1],
        "MemorySize": 256,
        "Environment": {"Variables": ctx.known(lambda_environment(ctx))},
    }


def test_only_the_function_whose_code_changed_is_updated(lambda_zip: LambdaZip) -> None:
    values = {
        "lambda_role_arn": "role-arn",
        "http_api_id": "h1",
        "ws_api_id": "w1",
        "nlb_dns": "nlb.example",
        "sfu_sg": "sg-sfu",
        "webhook_queue_url": "https://sqs.example/q.fifo",
    }
    account = InMemoryAccount()
    _, ctx = _run(lambda ctx: None, account, lambda_zip, **values)
    for suffix, handler in (
        ("room-api", "arbiter_server.aws.room_api_handler"),
        ("signaling", "arbiter_server.aws.signaling_handler"),
        ("maintenance", "arbiter_server.aws.maintenance_handler"),
        ("webhooks", "arbiter_server.aws.webhook_delivery_handler"),
    ):
        account.functions[f"{P}-{suffix}"] = _function(lambda_zip, ctx, suffix, handler)
    account.functions[f"{P}-signaling"]["CodeSha256"] = "b2xk"
    changes, _ = _run(plan_functions, account, lambda_zip, **values)
    name = f"{P}-signaling"
    assert changes == [
        Change(
            "update",
            "lambda-function",
            name,
            (
                APICall(
                    "lambda", "update_function_code", {"FunctionName": name, "ZipFile": b"zip"}
                ),
                Wait(f"function {name}", "function_updated", {"name": name}),
            ),
            "code",
        )
    ]


def test_a_new_turn_count_updates_the_service(lambda_zip: LambdaZip) -> None:
    account = InMemoryAccount(
        services={f"{P}-turn": {"serviceArn": "svc", "taskDefinition": "td:1", "desiredCount": 1}}
    )
    config = DeployConfig(region=REGION, prefix=P, turn_count=2)
    changes, _ = _run(plan_turn_service, account, lambda_zip, config, turn_td_arn="td:1")
    assert changes == [
        Change(
            "update",
            "ecs-service",
            f"{P}-turn",
            (
                APICall(
                    "ecs",
                    "update_service",
                    {
                        "cluster": P,
                        "service": f"{P}-turn",
                        "taskDefinition": Var("turn_td_arn"),
                        "desiredCount": 2,
                        "deploymentConfiguration": {
                            "minimumHealthyPercent": 100,
                            "maximumPercent": 200,
                            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                        },
                    },
                ),
            ),
            "task definition / desired count 2 / rolling deploys",
        )
    ]
    # a service that would stop the old coturn before the new one is up is fixed too
    drifted = {
        "serviceArn": "svc",
        "taskDefinition": "td:1",
        "desiredCount": 1,
        "deploymentConfiguration": {"minimumHealthyPercent": 0, "maximumPercent": 100},
    }
    changes, _ = _run(
        plan_turn_service,
        InMemoryAccount(services={f"{P}-turn": drifted}),
        lambda_zip,
        turn_td_arn="td:1",
    )
    assert [(c.action, c.kind) for c in changes] == [("update", "ecs-service")]
    drifted["deploymentConfiguration"] = (
        changes[0]
        .instructions[0]
        .params[  # type: ignore[attr-defined]
            "deploymentConfiguration"
        ]
    )
    changes, _ = _run(
        plan_turn_service,
        InMemoryAccount(services={f"{P}-turn": drifted}),
        lambda_zip,
        turn_td_arn="td:1",
    )
    assert changes == []


def test_routes_that_are_not_wanted_go_and_missing_ones_come(lambda_zip: LambdaZip) -> None:
    room_api = _arn("lambda", f"function:{P}-room-api")
    signaling = _arn("lambda", f"function:{P}-signaling")
    ws_uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{signaling}/invocations"
    http_routes = [
        {"RouteId": f"r{i}", "RouteKey": key, "Target": "integrations/i-http"}
        for i, key in enumerate(HTTP_ROUTES[1:])
    ]
    http_routes.append({"RouteId": "rx", "RouteKey": "GET /old", "Target": "integrations/i-http"})
    keepalive = {
        "RouteId": "wk",
        "RouteKey": "keepalive",
        "Target": "integrations/i-mock",
        "RouteResponseSelectionExpression": "$default",
    }
    mock = {"IntegrationId": "i-mock", "IntegrationType": "MOCK"}
    account = InMemoryAccount(
        api_integrations={
            "h1": [{"IntegrationId": "i-http", "IntegrationUri": room_api}],
            "w1": [
                {"IntegrationId": "i-ws", "IntegrationUri": ws_uri},
                {**mock, "RequestTemplates": {"$default": MOCK_REQUEST}},
            ],
        },
        api_integration_responses={
            "i-mock": [
                {
                    "IntegrationResponseId": "ir1",
                    "IntegrationResponseKey": "$default",
                    "ResponseTemplates": {"$default": KEEPALIVE_REPLY},
                }
            ]
        },
        api_routes={
            "h1": http_routes,
            "w1": [
                {"RouteId": f"w{i}", "RouteKey": k, "Target": "integrations/i-ws"}
                for i, k in enumerate(WS_ROUTES)
            ]
            + [keepalive],
        },
        api_stages={
            "h1": [{"StageName": "$default", "AutoDeploy": True}],
            "w1": [{"StageName": "prod", "AutoDeploy": False}],
        },
    )
    changes, _ = _run(
        plan_api_routes,
        account,
        lambda_zip,
        http_api_id="h1",
        ws_api_id="w1",
        fn_room_api_arn=room_api,
        fn_signaling_arn=signaling,
    )
    assert changes == [
        Change(
            "delete",
            "api-route",
            f"{P}-http GET /old",
            (APICall("apigatewayv2", "delete_route", {"ApiId": "h1", "RouteId": "rx"}),),
            "not wanted",
        ),
        Change(
            "create",
            "api-route",
            f"{P}-http {HTTP_ROUTES[0]}",
            (
                APICall(
                    "apigatewayv2",
                    "create_route",
                    {
                        "ApiId": Var("http_api_id"),
                        "RouteKey": HTTP_ROUTES[0],
                        "Target": Template("integrations/{http_integration_id}"),
                    },
                ),
            ),
        ),
        Change(
            "update",
            "api-stage",
            f"{P}-ws prod",
            (
                APICall(
                    "apigatewayv2",
                    "update_stage",
                    {
                        "ApiId": "w1",
                        "StageName": "prod",
                        "AutoDeploy": True,
                        "RouteSettings": {"keepalive": KEEPALIVE_THROTTLE},
                    },
                ),
            ),
            "AutoDeploy, throttling",
        ),
    ]


def test_the_keepalive_route_goes_to_a_mock_that_answers_keepalive_ack(
    lambda_zip: LambdaZip,
) -> None:
    """A keepalive route sent to the Lambda goes; a mock answering something else is fixed;
    the route is made anew, two-way, to the mock (API Gateway answers it: no Lambda)."""
    signaling = _arn("lambda", f"function:{P}-signaling")
    ws_uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{signaling}/invocations"
    account = InMemoryAccount(
        api_integrations={
            "w1": [
                {"IntegrationId": "i-ws", "IntegrationUri": ws_uri},
                {"IntegrationId": "i-mock", "IntegrationType": "MOCK", "RequestTemplates": {}},
            ]
        },
        api_integration_responses={
            "i-mock": [
                {
                    "IntegrationResponseId": "ir1",
                    "IntegrationResponseKey": "$default",
                    "ResponseTemplates": {"$default": "{}"},
                }
            ]
        },
        api_routes={
            "w1": [
                {"RouteId": f"w{i}", "RouteKey": k, "Target": "integrations/i-ws"}
                for i, k in enumerate(WS_ROUTES)
            ]
            + [{"RouteId": "wk", "RouteKey": "keepalive", "Target": "integrations/i-ws"}]
        },
        api_stages={
            "w1": [
                {
                    "StageName": "prod",
                    "AutoDeploy": True,
                    "RouteSettings": {"keepalive": {**KEEPALIVE_THROTTLE, "LoggingLevel": "OFF"}},
                }
            ]
        },
    )
    changes, ctx = _run(
        plan_api_routes,
        account,
        lambda_zip,
        http_api_id="h1",
        ws_api_id="w1",
        fn_room_api_arn=_arn("lambda", f"function:{P}-room-api"),
        fn_signaling_arn=signaling,
    )
    ws = [c for c in changes if f"{P}-ws" in c.name]
    assert [(c.action, c.kind, c.name) for c in ws] == [
        ("update", "api-integration", f"{P}-ws -> mock"),
        ("delete", "api-route", f"{P}-ws keepalive"),
        ("create", "api-route", f"{P}-ws keepalive"),
    ]
    update, delete, create = ws
    calls = [c for c in update.instructions if isinstance(c, APICall)]
    assert [(c.method, c.params.get("RequestTemplates")) for c in calls] == [
        ("update_integration", {"$default": MOCK_REQUEST}),
        ("update_integration_response", None),
    ]
    assert calls[1].params["ResponseTemplates"] == {"$default": KEEPALIVE_REPLY}
    assert json.loads(KEEPALIVE_REPLY) == {"action": "keepalive_ack", "v": 1}
    (drop,) = delete.instructions
    assert isinstance(drop, APICall) and drop.params == {"ApiId": "w1", "RouteId": "wk"}
    route, response = (c for c in create.instructions if isinstance(c, APICall))
    assert route.params["Target"] == Template("integrations/{ws_mock_integration_id}")
    assert route.params["RouteResponseSelectionExpression"] == "$default"
    assert response.method == "create_route_response"
    assert ctx.values["ws_mock_integration_id"] == "i-mock"


def test_a_foreign_schedule_target_is_removed(lambda_zip: LambdaZip) -> None:
    arn = _arn("lambda", f"function:{P}-maintenance")
    rule = f"{P}-maintenance"
    account = InMemoryAccount(
        rules={rule: {"State": "ENABLED", "ScheduleExpression": "rate(1 minute)"}},
        targets={rule: [{"Id": "maintenance", "Arn": arn}, {"Id": "other", "Arn": "x"}]},
    )
    changes, _ = _run(plan_schedule, account, lambda_zip, fn_maintenance_arn=arn)
    assert changes == [
        Change(
            "update",
            "events-rule",
            rule,
            (
                APICall("events", "remove_targets", {"Rule": rule, "Ids": ["other"]}),
                APICall(
                    "events",
                    "put_targets",
                    {"Rule": rule, "Targets": [{"Id": "maintenance", "Arn": arn}]},
                ),
            ),
        )
    ]


def _permission(sid: str, principal: str, fn: str, source: str) -> dict[str, object]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": principal},
        "Action": "lambda:InvokeFunction",
        "Resource": _arn("lambda", f"function:{P}-{fn}"),
        "Condition": {"ArnLike": {"AWS:SourceArn": source}},
    }


def test_permissions_are_compared_by_their_whole_statement(lambda_zip: LambdaZip) -> None:
    http = _arn("execute-api", "h1/*")
    account = InMemoryAccount(
        function_policies={
            f"{P}-room-api": [
                _permission("arbiter-http", "apigateway.amazonaws.com", "room-api", http)
            ],
            # same id, but naming an API that was deleted and made again
            f"{P}-signaling": [
                _permission(
                    "arbiter-ws",
                    "apigateway.amazonaws.com",
                    "signaling",
                    _arn("execute-api", "old/*"),
                )
            ],
        }
    )
    changes, _ = _run(plan_permissions, account, lambda_zip, http_api_id="h1", ws_api_id="w1")
    ws = Template(f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{{ws_api_id}}/*")
    rule = _arn("events", f"rule/{P}-maintenance")
    assert changes == [
        Change(
            "update",
            "lambda-permission",
            f"{P}-signaling/arbiter-ws",
            (
                APICall(
                    "lambda",
                    "remove_permission",
                    {"FunctionName": f"{P}-signaling", "StatementId": "arbiter-ws"},
                ),
                APICall(
                    "lambda",
                    "add_permission",
                    {
                        "FunctionName": f"{P}-signaling",
                        "StatementId": "arbiter-ws",
                        "Action": "lambda:InvokeFunction",
                        "Principal": "apigateway.amazonaws.com",
                        "SourceArn": ws,
                    },
                ),
            ),
            "statement differs",
        ),
        Change(
            "create",
            "lambda-permission",
            f"{P}-maintenance/arbiter-events",
            (
                APICall(
                    "lambda",
                    "add_permission",
                    {
                        "FunctionName": f"{P}-maintenance",
                        "StatementId": "arbiter-events",
                        "Action": "lambda:InvokeFunction",
                        "Principal": "events.amazonaws.com",
                        "SourceArn": rule,
                    },
                ),
            ),
        ),
    ]


def test_a_load_balancer_without_cross_zone_gets_it_and_a_new_one_waits_ten_minutes(
    lambda_zip: LambdaZip,
) -> None:
    set_cross_zone = APICall(
        "elbv2",
        "modify_load_balancer_attributes",
        {
            "LoadBalancerArn": Var("nlb_arn"),
            "Attributes": [{"Key": "load_balancing.cross_zone.enabled", "Value": "true"}],
        },
    )
    account = InMemoryAccount(
        load_balancers={f"{P}-turn": {"LoadBalancerArn": "lb-1", "DNSName": "d"}},
        lb_attributes={"lb-1": {"load_balancing.cross_zone.enabled": "false"}},
    )
    changes, _ = _run(plan_load_balancer, account, lambda_zip)
    assert changes == [
        Change(
            "update",
            "load-balancer",
            f"{P}-turn",
            (set_cross_zone,),
            "cross-zone load balancing on",
        )
    ]
    (created,), _ = _run(plan_load_balancer, InMemoryAccount(), lambda_zip)
    create, cross_zone, wait = created.instructions
    assert isinstance(create, APICall) and create.method == "create_load_balancer"
    assert cross_zone == set_cross_zone
    assert wait == Wait(
        f"load balancer {P}-turn",
        "load_balancer_dns",
        {"name": f"{P}-turn"},
        output_var="nlb_dns",
        timeout=600,
    )
