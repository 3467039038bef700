"""Plan steps for the deployment's data: SSM parameters, log groups and the DynamoDB table."""

from __future__ import annotations

from ..models import APICall, Wait
from .context import PlanContext, tags_list

__all__ = ["plan_log_groups", "plan_parameters", "plan_table"]


def plan_parameters(ctx: PlanContext) -> None:
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
                        "Value": ctx.new_secret(),
                        "Tags": tags_list(ctx.config.tags),
                    },
                )
            ],
            "SecureString (generated)",
        )


def plan_log_groups(ctx: PlanContext) -> None:
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


def plan_table(ctx: PlanContext) -> None:
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
                        "Tags": tags_list(ctx.config.tags),
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
