"""The planner: reads AWS and returns the :class:`~.models.Plan` that makes it match the config.

It only reads (describe/get/list through :class:`~.awsclient.AwsClient`); every write is
an instruction for the executor. Each resource has one plan function that branches on
"does it exist, and does it match?", so planning an unchanged deployment gives an empty
plan. The functions run in dependency order (:data:`PLAN_STEPS`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..lambdas.routes import HTTP_CORS, HTTP_ROUTES, WS_ROUTES
from .awsclient import AwsClient
from .models import (
    TAG_KEY,
    APICall,
    BuildImage,
    Change,
    DeployConfig,
    Instruction,
    Plan,
    Template,
    Var,
    Wait,
    resolve,
)
from .package import LambdaZip
from .runtime import TURN_PORT

__all__ = [
    "FUNCTIONS",
    "PLAN_STEPS",
    "Names",
    "Planner",
    "WS_STAGE",
]

WS_STAGE = "prod"
"Stage of the WebSocket API."

FUNCTIONS: dict[str, tuple[str, int]] = {
    "room-api": ("arbiter_server.lambdas.room_api.handler", 30),
    "signaling": ("arbiter_server.lambdas.signaling.handler", 30),
    "maintenance": ("arbiter_server.lambdas.maintenance.handler", 60),
}
"Lambda functions: suffix -> (handler, timeout seconds)."

POLICY_NAME = "arbiter"
RUNTIME = "python3.11"
TURN_RELAY_PORTS = (49152, 65535)


@dataclass(frozen=True)
class Names:
    """Every resource name of a deployment, derived from its prefix."""

    prefix: str

    def fn(self, suffix: str) -> str:
        """A Lambda function name."""
        return f"{self.prefix}-{suffix}"

    @property
    def secret_param(self) -> str:
        """SSM parameter of the token secret."""
        return f"/arbiter/{self.prefix}/secret"

    @property
    def turn_secret_param(self) -> str:
        """SSM parameter of coturn's ``static-auth-secret``."""
        return f"/arbiter/{self.prefix}/turn-secret"

    @property
    def api_key_param(self) -> str:
        """SSM parameter of the API key that room creation needs (unless rooms are open)."""
        return f"/arbiter/{self.prefix}/api-key"

    @property
    def log_groups(self) -> list[str]:
        """Log groups: one per function, SFU and TURN tasks."""
        return [f"/aws/lambda/{self.fn(s)}" for s in FUNCTIONS] + [
            f"/arbiter/{self.prefix}/sfu",
            f"/arbiter/{self.prefix}/turn",
        ]

    @property
    def table(self) -> str:
        """DynamoDB table."""
        return f"{self.prefix}-state"

    @property
    def repositories(self) -> dict[str, str]:
        """ECR repositories: image -> repository name."""
        return {"sfu": f"{self.prefix}/sfu", "coturn": f"{self.prefix}/coturn"}

    @property
    def lambda_role(self) -> str:
        """Role of the Lambda functions."""
        return f"{self.prefix}-lambda"

    @property
    def execution_role(self) -> str:
        """ECS task execution role (pull images, write logs, read the TURN secret)."""
        return f"{self.prefix}-task-execution"

    @property
    def sfu_sg(self) -> str:
        """Security group of SFU tasks."""
        return f"{self.prefix}-sfu"

    @property
    def turn_sg(self) -> str:
        """Security group of coturn tasks."""
        return f"{self.prefix}-turn"

    @property
    def http_api(self) -> str:
        """HTTP API (Room API)."""
        return f"{self.prefix}-http"

    @property
    def ws_api(self) -> str:
        """WebSocket API (signaling)."""
        return f"{self.prefix}-ws"

    @property
    def nlb(self) -> str:
        """Network Load Balancer in front of coturn."""
        return f"{self.prefix}-turn"

    @property
    def target_group(self) -> str:
        """Target group of the coturn tasks."""
        return f"{self.prefix}-turn"

    @property
    def cluster(self) -> str:
        """ECS cluster."""
        return self.prefix

    @property
    def sfu_family(self) -> str:
        """Task definition family of the SFU."""
        return f"{self.prefix}-sfu"

    @property
    def turn_family(self) -> str:
        """Task definition family of coturn."""
        return f"{self.prefix}-turn"

    @property
    def turn_service(self) -> str:
        """ECS service running coturn."""
        return f"{self.prefix}-turn"

    @property
    def rule(self) -> str:
        """EventBridge rule running maintenance every minute."""
        return f"{self.prefix}-maintenance"


@dataclass
class _Ctx:
    aws: AwsClient
    config: DeployConfig
    names: Names
    zip: LambdaZip
    image_tags: dict[str, str]
    plan: Plan = field(default_factory=Plan)

    @property
    def values(self) -> dict[str, str]:
        return self.plan.values

    def change(
        self,
        action: Any,
        kind: str,
        name: str,
        instructions: list[Instruction],
        detail: str = "",
    ) -> None:
        self.plan.changes.append(Change(action, kind, name, tuple(instructions), detail))

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        v = self.values
        where = v["region"] if region else ""
        return f"arn:{v['partition']}:{service}:{where}:{v['account']}:{resource}"

    def known(self, value: Any) -> Any:
        """``value`` resolved, or None if it needs a value not known yet."""
        try:
            return resolve(value, self.values)
        except KeyError:
            return None


def _tags_list(
    tags: dict[str, str], key: str = "Key", value: str = "Value"
) -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in tags.items()]


# --- plan functions, in dependency order -----------------------------------------------


def _plan_context(ctx: _Ctx) -> None:
    cfg, aws = ctx.config, ctx.aws
    ctx.values["account"] = aws.account_id
    ctx.values["region"] = aws.region
    ctx.values["partition"] = aws.partition
    vpc = cfg.vpc_id or aws.default_vpc()
    if vpc is None:
        raise RuntimeError(
            f"region {aws.region} has no default VPC: pass --vpc-id and --subnets "
            "(public subnets, one per availability zone)"
        )
    ctx.values["vpc_id"] = vpc
    pairs = aws.subnets(vpc)
    subnets = list(cfg.subnets) or [s for s, _ in pairs]
    if not subnets:
        raise RuntimeError(f"VPC {vpc} has no subnets")
    by_az: dict[str, str] = {}
    azs = dict(pairs)
    for subnet in subnets:
        by_az.setdefault(azs.get(subnet, subnet), subnet)
    ctx.values["subnets"] = ",".join(subnets)
    # two AZs keep the NLB's public IPs (billed per hour) few; coturn runs in the same ones
    ctx.values["nlb_subnets"] = ",".join(list(by_az.values())[:2])


def _plan_parameters(ctx: _Ctx) -> None:
    for name, key in (
        (ctx.names.secret_param, "secret_param_arn"),
        (ctx.names.turn_secret_param, "turn_secret_param_arn"),
        (ctx.names.api_key_param, "api_key_param_arn"),
    ):
        ctx.values[key] = ctx.arn("ssm", f"parameter{name}")
        ctx.plan.resources[f"ssm-parameter:{name}"] = name
        if ctx.aws.parameter_exists(name):
            continue
        ctx.change(
            "create",
            "ssm-parameter",
            name,
            [
                APICall(
                    "ssm",
                    "put_parameter",
                    {
                        "Name": name,
                        "Type": "SecureString",
                        "Value": secrets.token_urlsafe(32),
                        "Tags": _tags_list(ctx.config.tags),
                    },
                )
            ],
            "SecureString (generated)",
        )


def _plan_log_groups(ctx: _Ctx) -> None:
    days = ctx.config.log_retention_days
    for name in ctx.names.log_groups:
        ctx.plan.resources[f"log-group:{name}"] = name
        group = ctx.aws.log_group(name)
        retention = APICall(
            "logs", "put_retention_policy", {"logGroupName": name, "retentionInDays": days}
        )
        if group is None:
            ctx.change(
                "create",
                "log-group",
                name,
                [
                    APICall(
                        "logs",
                        "create_log_group",
                        {"logGroupName": name, "tags": dict(ctx.config.tags)},
                    ),
                    retention,
                ],
                f"retention {days} days",
            )
        elif group.get("retentionInDays") != days:
            ctx.change(
                "update",
                "log-group",
                name,
                [retention],
                f"retention {group.get('retentionInDays')} -> {days} days",
            )


def _plan_table(ctx: _Ctx) -> None:
    name = ctx.names.table
    ctx.values["table_arn"] = ctx.arn("dynamodb", f"table/{name}")
    ctx.plan.resources[f"dynamodb-table:{name}"] = ctx.values["table_arn"]
    ttl = APICall(
        "dynamodb",
        "update_time_to_live",
        {
            "TableName": name,
            "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expires_at"},
        },
    )
    table = ctx.aws.table(name)
    if table is None:
        ctx.change(
            "create",
            "dynamodb-table",
            name,
            [
                APICall(
                    "dynamodb",
                    "create_table",
                    {
                        "TableName": name,
                        "AttributeDefinitions": [
                            {"AttributeName": "pk", "AttributeType": "S"},
                            {"AttributeName": "sk", "AttributeType": "S"},
                        ],
                        "KeySchema": [
                            {"AttributeName": "pk", "KeyType": "HASH"},
                            {"AttributeName": "sk", "KeyType": "RANGE"},
                        ],
                        "BillingMode": "PAY_PER_REQUEST",
                        "Tags": _tags_list(ctx.config.tags),
                    },
                ),
                Wait(f"table {name}", "table_active", {"name": name}),
                ttl,
            ],
            "on-demand, TTL on expires_at",
        )
        return
    status = ctx.aws.table_ttl(name)
    if status.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        ctx.change("update", "dynamodb-table", name, [ttl], "enable TTL on expires_at")


def _plan_repositories(ctx: _Ctx) -> None:
    v = ctx.values
    for image, repo in ctx.names.repositories.items():
        uri = f"{v['account']}.dkr.ecr.{v['region']}.amazonaws.com/{repo}"
        v[f"{image}_image"] = f"{uri}:{ctx.image_tags[image]}"
        ctx.plan.resources[f"ecr-repository:{repo}"] = repo
        exists = ctx.aws.repository(repo) is not None
        if not exists:
            ctx.change(
                "create",
                "ecr-repository",
                repo,
                [
                    APICall(
                        "ecr",
                        "create_repository",
                        {
                            "repositoryName": repo,
                            "imageScanningConfiguration": {"scanOnPush": True},
                            "tags": _tags_list(ctx.config.tags),
                        },
                    )
                ],
            )
        if ctx.config.skip_images:
            continue
        tag = ctx.image_tags[image]
        if not exists or not ctx.aws.image_exists(repo, tag):
            ctx.change(
                "create",
                "container-image",
                f"{repo}:{tag}",
                [BuildImage(f"{image}.Dockerfile", uri, tag)],
            )


def _rules(*specs: tuple[str, int, int]) -> set[tuple[str, int, int, str]]:
    return {(proto, lo, hi, "0.0.0.0/0") for proto, lo, hi in specs}


def _sg_rules(group: dict[str, Any]) -> set[tuple[str, int, int, str]]:
    out: set[tuple[str, int, int, str]] = set()
    for perm in group.get("IpPermissions", []):
        for rng in perm.get("IpRanges", []):
            out.add(
                (
                    str(perm.get("IpProtocol")),
                    int(perm.get("FromPort", -1)),
                    int(perm.get("ToPort", -1)),
                    str(rng.get("CidrIp")),
                )
            )
    return out


def _permissions(rules: set[tuple[str, int, int, str]]) -> list[dict[str, Any]]:
    return [
        {"IpProtocol": p, "FromPort": lo, "ToPort": hi, "IpRanges": [{"CidrIp": cidr}]}
        for p, lo, hi, cidr in sorted(rules)
    ]


def _plan_security_groups(ctx: _Ctx) -> None:
    desired = {
        "sfu": (ctx.names.sfu_sg, _rules(("udp", 1024, 65535)), "WebRTC media to SFU tasks"),
        "turn": (
            ctx.names.turn_sg,
            _rules(
                ("udp", TURN_PORT, TURN_PORT),
                ("tcp", TURN_PORT, TURN_PORT),
                ("udp", *TURN_RELAY_PORTS),
            ),
            "STUN/TURN and relay ports of coturn tasks",
        ),
    }
    for key, (name, rules, description) in desired.items():
        var = f"{key}_sg"
        group = ctx.aws.security_group(ctx.values["vpc_id"], name)
        if group is None:
            ctx.change(
                "create",
                "security-group",
                name,
                [
                    APICall(
                        "ec2",
                        "create_security_group",
                        {
                            "GroupName": name,
                            "Description": description,
                            "VpcId": ctx.values["vpc_id"],
                            "TagSpecifications": [
                                {
                                    "ResourceType": "security-group",
                                    "Tags": _tags_list(ctx.config.tags),
                                }
                            ],
                        },
                        output_var=var,
                        output_path="GroupId",
                    ),
                    APICall(
                        "ec2",
                        "authorize_security_group_ingress",
                        {"GroupId": Var(var), "IpPermissions": _permissions(rules)},
                    ),
                ],
                ", ".join(f"{p} {lo}-{hi}" for p, lo, hi, _ in sorted(rules)),
            )
            continue
        ctx.values[var] = str(group["GroupId"])
        ctx.plan.resources[f"security-group:{name}"] = ctx.values[var]
        have = _sg_rules(group)
        calls: list[Instruction] = []
        if rules - have:
            calls.append(
                APICall(
                    "ec2",
                    "authorize_security_group_ingress",
                    {"GroupId": group["GroupId"], "IpPermissions": _permissions(rules - have)},
                )
            )
        if have - rules:
            calls.append(
                APICall(
                    "ec2",
                    "revoke_security_group_ingress",
                    {"GroupId": group["GroupId"], "IpPermissions": _permissions(have - rules)},
                )
            )
        if calls:
            ctx.change("update", "security-group", name, calls, "ingress rules")


def _plan_apis(ctx: _Ctx) -> None:
    specs: list[tuple[str, str, dict[str, Any]]] = [
        (
            "http_api_id",
            ctx.names.http_api,
            {"ProtocolType": "HTTP", "CorsConfiguration": HTTP_CORS},
        ),
        (
            "ws_api_id",
            ctx.names.ws_api,
            {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"},
        ),
    ]
    for var, name, extra in specs:
        apis = [
            a for a in ctx.aws.apis(name) if a.get("Tags", {}).get(TAG_KEY) == ctx.config.prefix
        ]
        if apis:
            ctx.values[var] = str(apis[0]["ApiId"])
            ctx.plan.resources[f"api:{name}"] = ctx.values[var]
            for dup in apis[1:]:  # AWS allows two APIs of one name; keep one
                ctx.change(
                    "delete",
                    "api",
                    f"{name} ({dup['ApiId']})",
                    [APICall("apigatewayv2", "delete_api", {"ApiId": dup["ApiId"]})],
                    "duplicate",
                )
            continue
        ctx.change(
            "create",
            "api",
            name,
            [
                APICall(
                    "apigatewayv2",
                    "create_api",
                    {"Name": name, "Tags": dict(ctx.config.tags), **extra},
                    output_var=var,
                    output_path="ApiId",
                )
            ],
            str(extra["ProtocolType"]),
        )


def _trust(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def _lambda_policy(ctx: _Ctx) -> dict[str, Any]:
    n, v = ctx.names, ctx.values
    p, r, a = v["partition"], v["region"], v["account"]
    cluster_arn = f"arn:{p}:ecs:{r}:{a}:cluster/{n.cluster}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [
                    f"arn:{p}:logs:{r}:{a}:log-group:/aws/lambda/{n.fn(s)}:*" for s in FUNCTIONS
                ],
            },
            {
                "Sid": "State",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:Query",
                    "dynamodb:Scan",
                ],
                "Resource": [v["table_arn"]],
            },
            {
                "Sid": "Signaling",
                "Effect": "Allow",
                "Action": ["execute-api:ManageConnections"],
                "Resource": [f"arn:{p}:execute-api:{r}:{a}:{{ws_api_id}}/{WS_STAGE}/*"],
            },
            {
                "Sid": "RunSfu",
                "Effect": "Allow",
                "Action": ["ecs:RunTask"],
                "Resource": [f"arn:{p}:ecs:{r}:{a}:task-definition/{n.sfu_family}:*"],
                "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}},
            },
            {
                "Sid": "ManageSfu",
                "Effect": "Allow",
                "Action": ["ecs:StopTask", "ecs:DescribeTasks", "ecs:TagResource"],
                "Resource": [f"arn:{p}:ecs:{r}:{a}:task/{n.cluster}/*"],
            },
            {
                "Sid": "ListSfu",
                "Effect": "Allow",
                "Action": ["ecs:ListTasks"],
                "Resource": ["*"],
                "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}},
            },
            {
                "Sid": "PassTaskRole",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": [f"arn:{p}:iam::{a}:role/{n.execution_role}"],
                "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            },
            {
                "Sid": "Secrets",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter"],
                "Resource": [
                    v["secret_param_arn"],
                    v["turn_secret_param_arn"],
                    v["api_key_param_arn"],
                ],
            },
            {
                "Sid": "DynamoDBTransactions",
                "Effect": "Allow",
                "Action": ["dynamodb:ConditionCheckItem"],
                "Resource": [v["table_arn"]],
            },
        ],
    }


def _execution_policy(ctx: _Ctx) -> dict[str, Any]:
    n, v = ctx.names, ctx.values
    p, r, a = v["partition"], v["region"], v["account"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PullLogin",
                "Effect": "Allow",
                "Action": ["ecr:GetAuthorizationToken"],
                "Resource": ["*"],
            },
            {
                "Sid": "Pull",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                ],
                "Resource": [
                    f"arn:{p}:ecr:{r}:{a}:repository/{repo}" for repo in n.repositories.values()
                ],
            },
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [
                    f"arn:{p}:logs:{r}:{a}:log-group:/arbiter/{n.prefix}/{k}:*"
                    for k in ("sfu", "turn")
                ],
            },
            {
                "Sid": "TurnSecret",
                "Effect": "Allow",
                "Action": ["ssm:GetParameters"],
                "Resource": [v["turn_secret_param_arn"]],
            },
        ],
    }


def _plan_roles(ctx: _Ctx) -> None:
    n = ctx.names
    specs = [
        (n.lambda_role, "lambda.amazonaws.com", _lambda_policy(ctx), "lambda_role_arn"),
        (n.execution_role, "ecs-tasks.amazonaws.com", _execution_policy(ctx), "exec_role_arn"),
    ]
    for name, service, policy, var in specs:
        ctx.values[var] = f"arn:{ctx.values['partition']}:iam::{ctx.values['account']}:role/{name}"
        ctx.plan.resources[f"iam-role:{name}"] = ctx.values[var]
        document = Template(json.dumps(policy, sort_keys=True))
        put = APICall(
            "iam",
            "put_role_policy",
            {"RoleName": name, "PolicyName": POLICY_NAME, "PolicyDocument": document},
        )
        role = ctx.aws.role(name)
        if role is None:
            ctx.change(
                "create",
                "iam-role",
                name,
                [
                    APICall(
                        "iam",
                        "create_role",
                        {
                            "RoleName": name,
                            "AssumeRolePolicyDocument": json.dumps(_trust(service)),
                            "Description": f"arbiter {ctx.config.prefix}: {service}",
                            "Tags": _tags_list(ctx.config.tags),
                        },
                    ),
                    put,
                ],
                f"inline policy '{POLICY_NAME}' for {service}",
            )
            continue
        current = ctx.aws.role_policy(name, POLICY_NAME)
        wanted = ctx.known(document)
        if wanted is None or current != json.loads(wanted):
            ctx.change("update", "iam-role", name, [put], f"inline policy '{POLICY_NAME}'")
        extra = [p for p in ctx.aws.role_policy_names(name) if p != POLICY_NAME]
        if extra:
            ctx.change(
                "update",
                "iam-role",
                name,
                [
                    APICall("iam", "delete_role_policy", {"RoleName": name, "PolicyName": p})
                    for p in extra
                ],
                f"remove inline policies {extra}",
            )


def _plan_load_balancer(ctx: _Ctx) -> None:
    n, cfg = ctx.names, ctx.config
    lb = ctx.aws.load_balancer(n.nlb)
    if lb is None:
        ctx.change(
            "create",
            "load-balancer",
            n.nlb,
            [
                APICall(
                    "elbv2",
                    "create_load_balancer",
                    {
                        "Name": n.nlb,
                        "Type": "network",
                        "Scheme": "internet-facing",
                        "IpAddressType": "ipv4",
                        "Subnets": ctx.values["nlb_subnets"].split(","),
                        "Tags": _tags_list(cfg.tags),
                    },
                    output_var="nlb_arn",
                    output_path="LoadBalancers.0.LoadBalancerArn",
                ),
                Wait(
                    f"load balancer {n.nlb}",
                    "load_balancer_dns",
                    {"name": n.nlb},
                    output_var="nlb_dns",
                ),
            ],
            "network, internet-facing",
        )
    else:
        ctx.values["nlb_arn"] = str(lb["LoadBalancerArn"])
        ctx.values["nlb_dns"] = str(lb["DNSName"])
        ctx.plan.resources[f"load-balancer:{n.nlb}"] = ctx.values["nlb_arn"]

    attributes = {
        "stickiness.enabled": "true",
        "stickiness.type": "source_ip",
        "deregistration_delay.timeout_seconds": "30",
    }
    set_attrs = APICall(
        "elbv2",
        "modify_target_group_attributes",
        {
            "TargetGroupArn": Var("tg_arn"),
            "Attributes": [{"Key": k, "Value": val} for k, val in attributes.items()],
        },
    )
    health = {
        "HealthCheckProtocol": "TCP",
        "HealthCheckPort": "traffic-port",
        "HealthCheckIntervalSeconds": 10,
        "HealthyThresholdCount": 3,
        "UnhealthyThresholdCount": 3,
    }
    tg = ctx.aws.target_group(n.target_group)
    if tg is None:
        ctx.change(
            "create",
            "target-group",
            n.target_group,
            [
                APICall(
                    "elbv2",
                    "create_target_group",
                    {
                        "Name": n.target_group,
                        "Protocol": "TCP_UDP",
                        "Port": TURN_PORT,
                        "VpcId": ctx.values["vpc_id"],
                        "TargetType": "ip",
                        "Tags": _tags_list(cfg.tags),
                        **health,
                    },
                    output_var="tg_arn",
                    output_path="TargetGroups.0.TargetGroupArn",
                ),
                set_attrs,
            ],
            "TCP_UDP 3478, health check TCP, stickiness source_ip",
        )
    else:
        ctx.values["tg_arn"] = str(tg["TargetGroupArn"])
        ctx.plan.resources[f"target-group:{n.target_group}"] = ctx.values["tg_arn"]
        have = ctx.aws.target_group_attributes(ctx.values["tg_arn"])
        calls: list[Instruction] = []
        if any(have.get(k) != val for k, val in attributes.items()):
            calls.append(set_attrs)
        if tg.get("HealthCheckProtocol") != "TCP" or tg.get("HealthCheckPort") != "traffic-port":
            calls.append(
                APICall(
                    "elbv2",
                    "modify_target_group",
                    {"TargetGroupArn": ctx.values["tg_arn"], **health},
                )
            )
        if calls:
            ctx.change("update", "target-group", n.target_group, calls, "stickiness/health")

    listeners = ctx.aws.listeners(ctx.values["nlb_arn"]) if "nlb_arn" in ctx.values else []
    ours = [x for x in listeners if x.get("Port") == TURN_PORT]
    forward = [{"Type": "forward", "TargetGroupArn": Var("tg_arn")}]
    if not ours:
        ctx.change(
            "create",
            "listener",
            f"{n.nlb}:{TURN_PORT}",
            [
                APICall(
                    "elbv2",
                    "create_listener",
                    {
                        "LoadBalancerArn": Var("nlb_arn"),
                        "Protocol": "TCP_UDP",
                        "Port": TURN_PORT,
                        "DefaultActions": forward,
                        "Tags": _tags_list(cfg.tags),
                    },
                    output_var="listener_arn",
                    output_path="Listeners.0.ListenerArn",
                )
            ],
            f"TCP_UDP {TURN_PORT} -> {n.target_group}",
        )
        return
    ctx.values["listener_arn"] = str(ours[0]["ListenerArn"])
    ctx.plan.resources[f"listener:{n.nlb}:{TURN_PORT}"] = ctx.values["listener_arn"]
    actions = ours[0].get("DefaultActions", [])
    if (
        ours[0].get("Protocol") != "TCP_UDP"
        or len(actions) != 1
        or actions[0].get("TargetGroupArn") != ctx.values.get("tg_arn")
    ):
        ctx.change(
            "update",
            "listener",
            f"{n.nlb}:{TURN_PORT}",
            [
                APICall(
                    "elbv2",
                    "modify_listener",
                    {
                        "ListenerArn": ctx.values["listener_arn"],
                        "Protocol": "TCP_UDP",
                        "DefaultActions": forward,
                    },
                )
            ],
        )
    for dup in ours[1:]:
        ctx.change(
            "delete",
            "listener",
            str(dup["ListenerArn"]),
            [APICall("elbv2", "delete_listener", {"ListenerArn": dup["ListenerArn"]})],
            "duplicate",
        )


def _plan_cluster(ctx: _Ctx) -> None:
    n = ctx.names
    ctx.values["cluster_arn"] = ctx.arn("ecs", f"cluster/{n.cluster}")
    ctx.plan.resources[f"ecs-cluster:{n.cluster}"] = ctx.values["cluster_arn"]
    if ctx.aws.cluster(n.cluster) is None:
        ctx.change(
            "create",
            "ecs-cluster",
            n.cluster,
            [
                APICall(
                    "ecs",
                    "create_cluster",
                    {
                        "clusterName": n.cluster,
                        "tags": _tags_list(ctx.config.tags, "key", "value"),
                        "capacityProviders": ["FARGATE"],
                    },
                )
            ],
        )


def _task_definitions(ctx: _Ctx) -> dict[str, dict[str, Any]]:
    n, cfg, v = ctx.names, ctx.config, ctx.values

    def logs(kind: str) -> dict[str, Any]:
        return {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": f"/arbiter/{n.prefix}/{kind}",
                "awslogs-region": v["region"],
                "awslogs-stream-prefix": kind,
            },
        }

    common = {
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "executionRoleArn": v["exec_role_arn"],
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "tags": _tags_list(cfg.tags, "key", "value"),
    }
    return {
        "sfu": {
            "family": n.sfu_family,
            "cpu": str(cfg.sfu_cpu),
            "memory": str(cfg.sfu_memory),
            "containerDefinitions": [
                {
                    "name": "sfu",
                    "image": v["sfu_image"],
                    "essential": True,
                    "memory": cfg.sfu_memory,
                    "environment": [{"name": "PYTHONUNBUFFERED", "value": "1"}],
                    "logConfiguration": logs("sfu"),
                    "stopTimeout": 10,
                }
            ],
            **common,
        },
        "turn": {
            "family": n.turn_family,
            "cpu": str(cfg.turn_cpu),
            "memory": str(cfg.turn_memory),
            "containerDefinitions": [
                {
                    "name": "turn",
                    "image": v["coturn_image"],
                    "essential": True,
                    "memory": cfg.turn_memory,
                    "portMappings": [
                        {"containerPort": TURN_PORT, "protocol": "udp"},
                        {"containerPort": TURN_PORT, "protocol": "tcp"},
                    ],
                    "environment": [
                        {"name": "TURN_REALM", "value": f"arbiter-{n.prefix}"},
                        {"name": "TURN_MIN_PORT", "value": str(TURN_RELAY_PORTS[0])},
                        {"name": "TURN_MAX_PORT", "value": str(TURN_RELAY_PORTS[1])},
                    ],
                    "secrets": [{"name": "TURN_SECRET", "valueFrom": v["turn_secret_param_arn"]}],
                    "logConfiguration": logs("turn"),
                }
            ],
            **common,
        },
    }


_TD_KEYS = ("family", "cpu", "memory", "networkMode", "requiresCompatibilities", "executionRoleArn")
_CONTAINER_KEYS = (
    "name",
    "memory",
    "image",
    "essential",
    "environment",
    "secrets",
    "logConfiguration",
    "stopTimeout",
)


def _td_signature(td: dict[str, Any]) -> Any:
    containers = [
        {
            **{k: c.get(k) for k in _CONTAINER_KEYS},
            "portMappings": sorted(
                (int(p["containerPort"]), str(p.get("protocol", "tcp")))
                for p in c.get("portMappings", [])
            ),
        }
        for c in td.get("containerDefinitions", [])
    ]
    return json.dumps(
        {**{k: td.get(k) for k in _TD_KEYS}, "containers": containers}, sort_keys=True
    )


def _plan_task_definitions(ctx: _Ctx) -> None:
    for kind, desired in _task_definitions(ctx).items():
        family = desired["family"]
        var = f"{kind}_td_arn"
        current = ctx.aws.task_definition(family)
        register = APICall(
            "ecs",
            "register_task_definition",
            desired,
            output_var=var,
            output_path="taskDefinition.taskDefinitionArn",
        )
        ctx.plan.resources[f"task-definition:{family}"] = family
        if current is None:
            ctx.change(
                "create",
                "task-definition",
                family,
                [register],
                f"{desired['cpu']} CPU, {desired['memory']} MiB",
            )
        elif _td_signature(current) != _td_signature(desired):
            ctx.change("update", "task-definition", family, [register], "new revision")
        else:
            ctx.values[var] = str(current["taskDefinitionArn"])


def _plan_turn_service(ctx: _Ctx) -> None:
    n, cfg = ctx.names, ctx.config
    network = {
        "awsvpcConfiguration": {
            "subnets": ctx.values["nlb_subnets"].split(","),
            "securityGroups": [Var("turn_sg")],
            "assignPublicIp": "ENABLED",
        }
    }
    service = ctx.aws.service(n.cluster, n.turn_service)
    if service is None:
        ctx.change(
            "create",
            "ecs-service",
            n.turn_service,
            [
                APICall(
                    "ecs",
                    "create_service",
                    {
                        "cluster": n.cluster,
                        "serviceName": n.turn_service,
                        "taskDefinition": Var("turn_td_arn"),
                        "desiredCount": cfg.turn_count,
                        "launchType": "FARGATE",
                        "networkConfiguration": network,
                        "loadBalancers": [
                            {
                                "targetGroupArn": Var("tg_arn"),
                                "containerName": "turn",
                                "containerPort": TURN_PORT,
                            }
                        ],
                        "healthCheckGracePeriodSeconds": 60,
                        "propagateTags": "SERVICE",
                        "tags": _tags_list(cfg.tags, "key", "value"),
                    },
                    retry_on=("InvalidParameterException",),
                )
            ],
            f"{cfg.turn_count} coturn task(s) behind {n.nlb}",
        )
        return
    ctx.plan.resources[f"ecs-service:{n.turn_service}"] = str(service["serviceArn"])
    want_td = ctx.values.get("turn_td_arn")
    if (
        want_td is None
        or service.get("taskDefinition") != want_td
        or (service.get("desiredCount") != cfg.turn_count)
    ):
        ctx.change(
            "update",
            "ecs-service",
            n.turn_service,
            [
                APICall(
                    "ecs",
                    "update_service",
                    {
                        "cluster": n.cluster,
                        "service": n.turn_service,
                        "taskDefinition": Var("turn_td_arn"),
                        "desiredCount": cfg.turn_count,
                    },
                )
            ],
            f"task definition / desired count {cfg.turn_count}",
        )


def _environment(ctx: _Ctx) -> dict[str, Any]:
    n, cfg, v = ctx.names, ctx.config, ctx.values
    ws = "{ws_api_id}.execute-api." + v["region"] + ".amazonaws.com/" + WS_STAGE
    return {
        "ARBITER_TABLE": n.table,
        "ARBITER_PUBLIC_URL": Template(
            "https://{http_api_id}.execute-api." + v["region"] + ".amazonaws.com"
        ),
        "ARBITER_SIGNALING_URL": Template("wss://" + ws),
        "ARBITER_MANAGEMENT_URL": Template("https://" + ws),
        "ARBITER_SECRET_PARAM": n.secret_param,
        "ARBITER_TURN_SECRET_PARAM": n.turn_secret_param,
        "ARBITER_API_KEY_PARAM": n.api_key_param,
        "ARBITER_TURN_HOST": Var("nlb_dns"),
        "ARBITER_CLUSTER": n.cluster,
        "ARBITER_SFU_TASK_FAMILY": n.sfu_family,
        "ARBITER_SUBNETS": v["subnets"],
        "ARBITER_SFU_SECURITY_GROUPS": Var("sfu_sg"),
        "ARBITER_POOL_SIZE": str(cfg.pool_size),
        "ARBITER_MAX_ROOMS": str(cfg.max_rooms),
        "ARBITER_MAX_PARTICIPANTS": str(cfg.max_participants),
        "ARBITER_OPEN_ROOMS": "true" if cfg.open_room_creation else "false",
    }


def _plan_functions(ctx: _Ctx) -> None:
    n, cfg = ctx.names, ctx.config
    env = _environment(ctx)
    for suffix, (handler, timeout) in FUNCTIONS.items():
        name = n.fn(suffix)
        arn = ctx.arn("lambda", f"function:{name}")
        ctx.values[f"fn_{suffix.replace('-', '_')}_arn"] = arn
        ctx.plan.resources[f"lambda-function:{name}"] = arn
        settings: dict[str, Any] = {
            "Role": ctx.values["lambda_role_arn"],
            "Handler": handler,
            "Runtime": RUNTIME,
            "Timeout": timeout,
            "MemorySize": cfg.lambda_memory,
            "Environment": {"Variables": env},
        }
        updated = Wait(f"function {name}", "function_updated", {"name": name})
        current = ctx.aws.function(name)
        if current is None:
            ctx.change(
                "create",
                "lambda-function",
                name,
                [
                    APICall(
                        "lambda",
                        "create_function",
                        {
                            "FunctionName": name,
                            "Code": {"ZipFile": ctx.zip.read()},
                            "Architectures": ["arm64"],
                            "Tags": dict(cfg.tags),
                            **settings,
                        },
                        retry_on=("InvalidParameterValueException",),
                    ),
                    updated,
                ],
                f"{handler}, zip {ctx.zip.size // 1024} KiB",
            )
            continue
        calls: list[Instruction] = []
        details: list[str] = []
        if current.get("CodeSha256") != ctx.zip.sha256:
            calls += [
                APICall(
                    "lambda",
                    "update_function_code",
                    {"FunctionName": name, "ZipFile": ctx.zip.read()},
                ),
                updated,
            ]
            details.append("code")
        have = {
            "Role": current.get("Role"),
            "Handler": current.get("Handler"),
            "Runtime": current.get("Runtime"),
            "Timeout": current.get("Timeout"),
            "MemorySize": current.get("MemorySize"),
            "Environment": {"Variables": current.get("Environment", {}).get("Variables", {})},
        }
        if ctx.known(settings) != have:
            calls += [
                APICall(
                    "lambda",
                    "update_function_configuration",
                    {"FunctionName": name, **settings},
                    retry_on=("InvalidParameterValueException",),
                ),
                updated,
            ]
            details.append("configuration")
        if calls:
            ctx.change("update", "lambda-function", name, calls, " and ".join(details))


def _plan_permissions(ctx: _Ctx) -> None:
    n, v = ctx.names, ctx.values
    p, r, a = v["partition"], v["region"], v["account"]
    specs = [
        ("room-api", "arbiter-http", "apigateway.amazonaws.com", "http_api_id", "/*"),
        ("signaling", "arbiter-ws", "apigateway.amazonaws.com", "ws_api_id", "/*"),
    ]
    for suffix, sid, principal, api_var, tail in specs:
        name = n.fn(suffix)
        if sid in ctx.aws.function_policy_sids(name):
            continue
        ctx.change(
            "create",
            "lambda-permission",
            f"{name}/{sid}",
            [
                APICall(
                    "lambda",
                    "add_permission",
                    {
                        "FunctionName": name,
                        "StatementId": sid,
                        "Action": "lambda:InvokeFunction",
                        "Principal": principal,
                        "SourceArn": Template(f"arn:{p}:execute-api:{r}:{a}:{{{api_var}}}{tail}"),
                    },
                )
            ],
        )
    name = n.fn("maintenance")
    if "arbiter-events" not in ctx.aws.function_policy_sids(name):
        ctx.change(
            "create",
            "lambda-permission",
            f"{name}/arbiter-events",
            [
                APICall(
                    "lambda",
                    "add_permission",
                    {
                        "FunctionName": name,
                        "StatementId": "arbiter-events",
                        "Action": "lambda:InvokeFunction",
                        "Principal": "events.amazonaws.com",
                        "SourceArn": f"arn:{p}:events:{r}:{a}:rule/{n.rule}",
                    },
                )
            ],
        )


def _plan_api_routes(ctx: _Ctx) -> None:
    v = ctx.values
    specs = [
        (
            "http",
            ctx.names.http_api,
            "http_api_id",
            v["fn_room_api_arn"],
            {"PayloadFormatVersion": "2.0"},
            HTTP_ROUTES,
            "$default",
        ),
        (
            "ws",
            ctx.names.ws_api,
            "ws_api_id",
            f"arn:{v['partition']}:apigateway:{v['region']}:lambda:path/2015-03-31/functions/"
            f"{v['fn_signaling_arn']}/invocations",
            {},
            WS_ROUTES,
            WS_STAGE,
        ),
    ]
    for kind, api_name, api_var, uri, extra, route_keys, stage in specs:
        integ_var = f"{kind}_integration_id"
        api_id = v.get(api_var)
        integrations = ctx.aws.integrations(api_id) if api_id else []
        ours = [i for i in integrations if i.get("IntegrationUri") == uri]
        if ours:
            v[integ_var] = str(ours[0]["IntegrationId"])
        else:
            ctx.change(
                "create",
                "api-integration",
                f"{api_name} -> {uri.rsplit(':', 1)[-1].split('/')[0]}",
                [
                    APICall(
                        "apigatewayv2",
                        "create_integration",
                        {
                            "ApiId": Var(api_var),
                            "IntegrationType": "AWS_PROXY",
                            "IntegrationUri": uri,
                            "IntegrationMethod": "POST",
                            **extra,
                        },
                        output_var=integ_var,
                        output_path="IntegrationId",
                    )
                ],
                "AWS_PROXY",
            )
        for dup in integrations:
            if ours and dup["IntegrationId"] != ours[0]["IntegrationId"]:
                ctx.change(
                    "delete",
                    "api-integration",
                    f"{api_name} ({dup['IntegrationId']})",
                    [
                        APICall(
                            "apigatewayv2",
                            "delete_integration",
                            {"ApiId": api_id, "IntegrationId": dup["IntegrationId"]},
                        )
                    ],
                    "not ours",
                )
        routes = ctx.aws.routes(api_id) if api_id else []
        seen: set[str] = set()
        target = Template(f"integrations/{{{integ_var}}}")
        want_target = ctx.known(target)
        for route in routes:
            key = str(route["RouteKey"])
            ok = key in route_keys and key not in seen and route.get("Target") == want_target
            if ok:
                seen.add(key)
                continue
            ctx.change(
                "delete",
                "api-route",
                f"{api_name} {key}",
                [
                    APICall(
                        "apigatewayv2",
                        "delete_route",
                        {"ApiId": api_id, "RouteId": route["RouteId"]},
                    )
                ],
                "duplicate" if key in seen else "not wanted",
            )
        for key in route_keys:
            if key in seen:
                continue
            ctx.change(
                "create",
                "api-route",
                f"{api_name} {key}",
                [
                    APICall(
                        "apigatewayv2",
                        "create_route",
                        {"ApiId": Var(api_var), "RouteKey": key, "Target": target},
                    )
                ],
            )
        stages = [s for s in (ctx.aws.stages(api_id) if api_id else []) if s["StageName"] == stage]
        if not stages:
            ctx.change(
                "create",
                "api-stage",
                f"{api_name} {stage}",
                [
                    APICall(
                        "apigatewayv2",
                        "create_stage",
                        {
                            "ApiId": Var(api_var),
                            "StageName": stage,
                            "AutoDeploy": True,
                            "DefaultRouteSettings": {
                                "ThrottlingBurstLimit": 500,
                                "ThrottlingRateLimit": 1000,
                            },
                            "Tags": dict(ctx.config.tags),
                        },
                    )
                ],
                "AutoDeploy",
            )
        elif not stages[0].get("AutoDeploy"):
            ctx.change(
                "update",
                "api-stage",
                f"{api_name} {stage}",
                [
                    APICall(
                        "apigatewayv2",
                        "update_stage",
                        {"ApiId": api_id, "StageName": stage, "AutoDeploy": True},
                    )
                ],
                "AutoDeploy",
            )


def _plan_schedule(ctx: _Ctx) -> None:
    n, v = ctx.names, ctx.values
    arn = v["fn_maintenance_arn"]
    ctx.plan.resources[f"events-rule:{n.rule}"] = n.rule
    rule = ctx.aws.rule(n.rule)
    put_targets = APICall(
        "events",
        "put_targets",
        {"Rule": n.rule, "Targets": [{"Id": "maintenance", "Arn": arn}]},
    )
    if rule is None:
        ctx.change(
            "create",
            "events-rule",
            n.rule,
            [
                APICall(
                    "events",
                    "put_rule",
                    {
                        "Name": n.rule,
                        "ScheduleExpression": "rate(1 minute)",
                        "State": "ENABLED",
                        "Description": "arbiter: stop idle SFUs, refill the room pool",
                        "Tags": _tags_list(ctx.config.tags),
                    },
                ),
                put_targets,
            ],
            "rate(1 minute) -> maintenance",
        )
        return
    calls: list[Instruction] = []
    if rule.get("State") != "ENABLED" or rule.get("ScheduleExpression") != "rate(1 minute)":
        calls.append(
            APICall(
                "events",
                "put_rule",
                {"Name": n.rule, "ScheduleExpression": "rate(1 minute)", "State": "ENABLED"},
            )
        )
    targets = ctx.aws.rule_targets(n.rule)
    if [(t.get("Id"), t.get("Arn")) for t in targets] != [("maintenance", arn)]:
        extra = [t["Id"] for t in targets if t.get("Id") != "maintenance"]
        if extra:
            calls.append(APICall("events", "remove_targets", {"Rule": n.rule, "Ids": extra}))
        calls.append(put_targets)
    if calls:
        ctx.change("update", "events-rule", n.rule, calls)


PLAN_STEPS: tuple[Callable[[_Ctx], None], ...] = (
    _plan_context,
    _plan_parameters,
    _plan_log_groups,
    _plan_table,
    _plan_repositories,
    _plan_security_groups,
    _plan_apis,
    _plan_roles,
    _plan_load_balancer,
    _plan_cluster,
    _plan_task_definitions,
    _plan_turn_service,
    _plan_functions,
    _plan_permissions,
    _plan_api_routes,
    _plan_schedule,
)
"Plan functions in dependency order."


class Planner:
    """Reads the account and plans the changes that make it match a :class:`DeployConfig`."""

    def __init__(self, aws: AwsClient) -> None:
        self._aws = aws

    def plan(self, config: DeployConfig, lambda_zip: LambdaZip, image_tags: dict[str, str]) -> Plan:
        """The deploy plan (reads only)."""
        ctx = _Ctx(self._aws, config, Names(config.prefix), lambda_zip, image_tags)
        for step in PLAN_STEPS:
            step(ctx)
        return ctx.plan
