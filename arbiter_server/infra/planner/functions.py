"""Plan steps for the Lambda functions (code, configuration, environment) and their schedule."""

from __future__ import annotations

from typing import Any

from ..models import APICall, Instruction, Template, Var, Wait
from .context import PlanContext, tags_list
from .names import FUNCTIONS, RUNTIME, WS_STAGE

__all__ = ["lambda_environment", "plan_functions", "plan_schedule"]


def lambda_environment(ctx: PlanContext) -> dict[str, Any]:
    """The ``ARBITER_*`` variables :mod:`arbiter_server.aws` reads on a cold start."""
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
        "ARBITER_PRIVATE_ROOMS": "true" if cfg.private_rooms else "false",
        "ARBITER_WEBHOOK_URL": cfg.webhook_url or "",
        "ARBITER_WEBHOOK_QUEUE_URL": Var("webhook_queue_url"),
        "ARBITER_LOG_LEVEL": cfg.log_level,
    }


def plan_functions(ctx: PlanContext) -> None:
    """The three functions: created, or updated where code or configuration differ."""
    n, cfg = ctx.names, ctx.config
    env = lambda_environment(ctx)
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


def plan_schedule(ctx: PlanContext) -> None:
    """The EventBridge rule running maintenance every minute."""
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
                        "Tags": tags_list(ctx.config.tags),
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
