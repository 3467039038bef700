"""Plan step for IAM: the Lambda role, the ECS task execution role and the SFU task role.

One inline policy each, scoped to this deployment's table, API, task family, cluster,
parameters, repositories and log groups (the SFU's one read of its own network interface
cannot be scoped by resource).
"""

from __future__ import annotations

import json
from typing import Any

from ..models import APICall, Template
from .context import PlanContext, tags_list
from .names import FUNCTIONS, POLICY_NAME, WS_STAGE

__all__ = ["plan_roles"]


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


def _lambda_policy(ctx: PlanContext) -> dict[str, Any]:
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
                "Resource": [
                    f"arn:{p}:iam::{a}:role/{n.execution_role}",
                    f"arn:{p}:iam::{a}:role/{n.sfu_task_role}",
                ],
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
                "Sid": "Webhooks",
                "Effect": "Allow",
                "Action": [
                    "sqs:SendMessage",
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes",
                ],
                "Resource": [f"arn:{p}:sqs:{r}:{a}:{n.webhook_queue}"],
            },
            {
                "Sid": "DynamoDBTransactions",
                "Effect": "Allow",
                "Action": ["dynamodb:ConditionCheckItem"],
                "Resource": [v["table_arn"]],
            },
        ],
    }


def _execution_policy(ctx: PlanContext) -> dict[str, Any]:
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


def _sfu_task_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # the SFU asks for its own interface's public address; this action takes
                # no resource-level scoping, and only reads
                "Sid": "OwnAddress",
                "Effect": "Allow",
                "Action": ["ec2:DescribeNetworkInterfaces"],
                "Resource": ["*"],
            }
        ],
    }


def plan_roles(ctx: PlanContext) -> None:
    """The three roles, their trust policies and their one inline policy each."""
    n = ctx.names
    specs = [
        (n.lambda_role, "lambda.amazonaws.com", _lambda_policy(ctx), "lambda_role_arn"),
        (n.execution_role, "ecs-tasks.amazonaws.com", _execution_policy(ctx), "exec_role_arn"),
        (n.sfu_task_role, "ecs-tasks.amazonaws.com", _sfu_task_policy(), "sfu_task_role_arn"),
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
                            "Tags": tags_list(ctx.config.tags),
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
