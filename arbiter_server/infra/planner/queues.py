"""Plan steps for webhooks on AWS: the SQS FIFO queue the handlers put room events in, its
dead-letter queue, and the event source mapping that hands them to the delivery function.

One message group per room keeps each room's events in order; the delivery function
reports refused events as batch item failures, so SQS hands them again after the
visibility timeout, and moves them to the dead-letter queue after ``WEBHOOK_RECEIVES``.
"""

from __future__ import annotations

import json
from typing import Any

from ..models import APICall, Instruction, Var
from .context import PlanContext
from .names import WEBHOOK_RECEIVES, WEBHOOK_VISIBILITY

__all__ = ["plan_queues", "plan_webhook_source"]

_RETENTION = {"main": 4 * 24 * 3600, "dlq": 14 * 24 * 3600}


def _queue_arn(ctx: PlanContext, name: str) -> str:
    return ctx.arn("sqs", name)


def _attributes(ctx: PlanContext, dlq: bool) -> dict[str, str]:
    attrs = {
        "FifoQueue": "true",
        "MessageRetentionPeriod": str(_RETENTION["dlq" if dlq else "main"]),
        "VisibilityTimeout": str(WEBHOOK_VISIBILITY),
    }
    if not dlq:
        attrs["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": _queue_arn(ctx, ctx.names.webhook_dlq),
                "maxReceiveCount": WEBHOOK_RECEIVES,
            },
            sort_keys=True,
        )
    return attrs


def plan_queues(ctx: PlanContext) -> None:
    """The dead-letter queue, then the webhook queue; their URLs become plan values."""
    n = ctx.names
    for name, var, dlq in (
        (n.webhook_dlq, "webhook_dlq_url", True),
        (n.webhook_queue, "webhook_queue_url", False),
    ):
        ctx.plan.resources[f"sqs-queue:{name}"] = _queue_arn(ctx, name)
        wanted = _attributes(ctx, dlq)
        found = ctx.aws.queue(name)
        if found is None:
            ctx.change(
                "create",
                "sqs-queue",
                name,
                [
                    APICall(
                        "sqs",
                        "create_queue",
                        {
                            "QueueName": name,
                            "Attributes": wanted,
                            "tags": dict(ctx.config.tags),
                        },
                        output_var=var,
                        output_path="QueueUrl",
                    )
                ],
                "FIFO" + ("" if dlq else f", {WEBHOOK_RECEIVES} receives, then the DLQ"),
            )
            continue
        ctx.values[var] = str(found["QueueUrl"])
        have = found.get("Attributes", {})
        changed = {k: v for k, v in wanted.items() if k != "FifoQueue" and not _same(k, have, v)}
        if changed:
            ctx.change(
                "update",
                "sqs-queue",
                name,
                [
                    APICall(
                        "sqs",
                        "set_queue_attributes",
                        {"QueueUrl": Var(var), "Attributes": changed},
                    )
                ],
                ", ".join(sorted(changed)),
            )


def _same(key: str, have: dict[str, Any], value: str) -> bool:
    if key == "RedrivePolicy" and key in have:
        return bool(json.loads(have[key]) == json.loads(value))
    return str(have.get(key)) == value


def plan_webhook_source(ctx: PlanContext) -> None:
    """The webhook queue hands its events, one at a time per room, to the delivery function."""
    n = ctx.names
    function = n.fn("webhooks")
    source = _queue_arn(ctx, n.webhook_queue)
    settings: dict[str, Any] = {
        "BatchSize": 1,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    ctx.plan.resources[f"event-source-mapping:{function}"] = source
    mappings = [
        m for m in ctx.aws.event_source_mappings(function) if m.get("EventSourceArn") == source
    ]
    if not mappings:
        ctx.change(
            "create",
            "event-source-mapping",
            f"{n.webhook_queue} -> {function}",
            [
                APICall(
                    "lambda",
                    "create_event_source_mapping",
                    {"EventSourceArn": source, "FunctionName": function, **settings},
                    retry_on=("InvalidParameterValueException",),
                )
            ],
            "batch 1, batch item failures",
        )
        return
    mapping = mappings[0]
    calls: list[Instruction] = []
    if mapping.get("BatchSize") != 1 or list(mapping.get("FunctionResponseTypes") or []) != [
        "ReportBatchItemFailures"
    ]:
        calls.append(
            APICall("lambda", "update_event_source_mapping", {"UUID": mapping["UUID"], **settings})
        )
    if calls:
        ctx.change("update", "event-source-mapping", f"{n.webhook_queue} -> {function}", calls)
