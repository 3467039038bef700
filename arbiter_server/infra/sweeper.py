"""The destroy plan: every resource of a deployment, deleted in reverse dependency order.

Resources are found by their names (from the prefix) and must carry the deployment's
``arbiter:deployment`` tag where the service supports tags, so ``destroy`` never
removes something it did not make. The order: schedule, the coturn service scaled to 0
then deleted, SFU tasks stopped, APIs, event source mappings, functions, the webhook
queues, listener before target group and load
balancer, task definitions and cluster, security groups (retried for up to 20 minutes
while AWS releases the task and load balancer ENIs), repositories, table, parameters,
log groups, and inline policies before roles.
"""

from __future__ import annotations

from .awsclient import AwsClient
from .models import TAG_KEY, APICall, Change, DeployConfig, Instruction, Plan, Wait
from .planner.names import (
    FUNCTIONS,
    LOAD_BALANCER_WAIT,
    NETWORK_INTERFACES_WAIT,
    TASKS_STOP_WAIT,
    Names,
)
from .state import DeployState

__all__ = ["Sweeper"]


class Sweeper:
    """Plans the deletion of a deployment (reads only)."""

    def __init__(self, aws: AwsClient) -> None:
        self._aws = aws

    def plan(self, config: DeployConfig, state: DeployState | None = None) -> Plan:
        """The destroy plan."""
        aws, n, plan = self._aws, Names(config.prefix), Plan()
        prefix = config.prefix

        def ours(tags: dict[str, str], what: str) -> bool:
            if tags.get(TAG_KEY) == prefix:
                return True
            plan.messages.append(f"skipping {what}: not tagged {TAG_KEY}={prefix}")
            return False

        def delete(kind: str, name: str, *calls: Instruction, detail: str = "") -> None:
            plan.changes.append(Change("delete", kind, name, tuple(calls), detail))

        # schedule
        rule = aws.rule(n.rule)
        if rule is not None and ours(aws.events_tags(str(rule["Arn"])), n.rule):
            targets = [t["Id"] for t in aws.rule_targets(n.rule)]
            calls: list[Instruction] = []
            if targets:
                calls.append(APICall("events", "remove_targets", {"Rule": n.rule, "Ids": targets}))
            calls.append(APICall("events", "delete_rule", {"Name": n.rule}))
            delete("events-rule", n.rule, *calls)

        # ECS: service to 0, then deleted; SFU tasks stopped
        cluster = aws.cluster(n.cluster)
        cluster_ours = cluster is not None and ours(
            {t["key"]: t["value"] for t in cluster.get("tags", [])}, n.cluster
        )
        if cluster_ours:
            service = aws.service(n.cluster, n.turn_service)
            if service is not None:
                drained = aws.target_group(n.target_group)
                # coturn tasks would drain for 50 minutes (a redeploy keeps relayed sessions):
                # nobody is kept when the whole deployment goes
                no_drain = [
                    APICall(
                        "elbv2",
                        "modify_target_group_attributes",
                        {
                            "TargetGroupArn": drained["TargetGroupArn"],
                            "Attributes": [
                                {"Key": "deregistration_delay.timeout_seconds", "Value": "0"}
                            ],
                        },
                    )
                    for _ in [drained]
                    if drained is not None
                ]
                delete(
                    "ecs-service",
                    n.turn_service,
                    *no_drain,
                    APICall(
                        "ecs",
                        "update_service",
                        {"cluster": n.cluster, "service": n.turn_service, "desiredCount": 0},
                    ),
                    APICall(
                        "ecs",
                        "delete_service",
                        {"cluster": n.cluster, "service": n.turn_service, "force": True},
                    ),
                    detail="scaled to 0 first",
                )
            running = [t for t in aws.tasks(n.cluster) if t.get("lastStatus") != "STOPPED"]
            if running:
                delete(
                    "ecs-tasks",
                    f"{len(running)} task(s) in {n.cluster}",
                    *[
                        APICall(
                            "ecs",
                            "stop_task",
                            {"cluster": n.cluster, "task": t["taskArn"], "reason": "destroy"},
                            ignore=("InvalidParameterException",),
                        )
                        for t in running
                    ],
                    Wait(
                        f"tasks of {n.cluster} to stop",
                        "tasks_stopped",
                        {"cluster": n.cluster},
                        timeout=TASKS_STOP_WAIT,
                    ),
                )

        # APIs (routes, integrations and stages go with them)
        for name in (n.http_api, n.ws_api):
            for api in aws.apis(name):
                if ours(api.get("Tags", {}), name):
                    delete(
                        "api",
                        f"{name} ({api['ApiId']})",
                        APICall(
                            "apigatewayv2",
                            "delete_api",
                            {"ApiId": api["ApiId"]},
                            ignore=("NotFoundException",),
                        ),
                    )

        # functions (their resource policies go with them; event source mappings first)
        for suffix in FUNCTIONS:
            name = n.fn(suffix)
            fn = aws.function(name)
            if fn is not None and ours(aws.function_tags(str(fn["FunctionArn"])), name):
                for mapping in aws.event_source_mappings(name):
                    delete(
                        "event-source-mapping",
                        f"{mapping.get('EventSourceArn')} -> {name}",
                        APICall(
                            "lambda",
                            "delete_event_source_mapping",
                            {"UUID": mapping["UUID"]},
                            ignore=("ResourceNotFoundException",),
                        ),
                    )
                delete(
                    "lambda-function",
                    name,
                    APICall("lambda", "delete_function", {"FunctionName": name}),
                )

        # the webhook queues (the dead-letter queue last)
        for queue_name in (n.webhook_queue, n.webhook_dlq):
            queue = aws.queue(queue_name)
            if queue is not None and ours(aws.queue_tags(str(queue["QueueUrl"])), queue_name):
                delete(
                    "sqs-queue",
                    queue_name,
                    APICall(
                        "sqs",
                        "delete_queue",
                        {"QueueUrl": queue["QueueUrl"]},
                        ignore=("AWS.SimpleQueueService.NonExistentQueue",),
                    ),
                )

        # load balancing: listener, load balancer, then target group
        lb = aws.load_balancer(n.nlb)
        if lb is not None and ours(aws.elbv2_tags(str(lb["LoadBalancerArn"])), n.nlb):
            for listener in aws.listeners(str(lb["LoadBalancerArn"])):
                delete(
                    "listener",
                    f"{n.nlb}:{listener.get('Port')}",
                    APICall("elbv2", "delete_listener", {"ListenerArn": listener["ListenerArn"]}),
                )
            delete(
                "load-balancer",
                n.nlb,
                APICall(
                    "elbv2", "delete_load_balancer", {"LoadBalancerArn": lb["LoadBalancerArn"]}
                ),
                Wait(
                    f"load balancer {n.nlb} to go",
                    "load_balancer_gone",
                    {"name": n.nlb},
                    timeout=LOAD_BALANCER_WAIT,
                ),
            )
        tg = aws.target_group(n.target_group)
        if tg is not None and ours(aws.elbv2_tags(str(tg["TargetGroupArn"])), n.target_group):
            delete(
                "target-group",
                n.target_group,
                APICall(
                    "elbv2",
                    "delete_target_group",
                    {"TargetGroupArn": tg["TargetGroupArn"]},
                    retry_on=("ResourceInUse",),
                    retry_for=LOAD_BALANCER_WAIT,
                ),
            )

        # task definitions, then the cluster
        for family in (n.sfu_family, n.turn_family):
            td = aws.task_definition(family)
            if td is None:
                continue
            if not ours({t["key"]: t["value"] for t in td.get("tags", [])}, family):
                continue
            delete(
                "task-definition",
                family,
                *[
                    APICall("ecs", "deregister_task_definition", {"taskDefinition": arn})
                    for arn in aws.task_definition_arns(family)
                ],
                detail="every revision",
            )
        if cluster_ours:
            delete(
                "ecs-cluster",
                n.cluster,
                APICall(
                    "ecs",
                    "delete_cluster",
                    {"cluster": n.cluster},
                    retry_on=("ClusterContainsTasksException", "ClusterContainsServicesException"),
                    retry_for=TASKS_STOP_WAIT,
                ),
            )

        # security groups (in use until the task and NLB ENIs are released)
        vpc = config.vpc_id or (state.values.get("vpc_id") if state else None) or aws.default_vpc()
        if vpc:
            for name in (n.sfu_sg, n.turn_sg):
                group = aws.security_group(vpc, name)
                if group is not None and ours(
                    {t["Key"]: t["Value"] for t in group.get("Tags", [])}, name
                ):
                    delete(
                        "security-group",
                        name,
                        APICall(
                            "ec2",
                            "delete_security_group",
                            {"GroupId": group["GroupId"]},
                            retry_on=("DependencyViolation",),
                            retry_for=NETWORK_INTERFACES_WAIT,
                        ),
                    )

        for repo in n.repositories.values():
            found = aws.repository(repo)
            if found is not None and ours(aws.ecr_tags(str(found["repositoryArn"])), repo):
                delete(
                    "ecr-repository",
                    repo,
                    APICall("ecr", "delete_repository", {"repositoryName": repo, "force": True}),
                    detail="with its images",
                )

        table = aws.table(n.table)
        if table is not None and ours(aws.dynamodb_tags(str(table["TableArn"])), n.table):
            delete(
                "dynamodb-table",
                n.table,
                APICall("dynamodb", "delete_table", {"TableName": n.table}),
                Wait(f"table {n.table} to go", "table_gone", {"name": n.table}),
            )

        for param in (n.secret_param, n.turn_secret_param, n.api_key_param):
            if aws.parameter_exists(param) and ours(aws.parameter_tags(param), param):
                delete(
                    "ssm-parameter",
                    param,
                    APICall(
                        "ssm", "delete_parameter", {"Name": param}, ignore=("ParameterNotFound",)
                    ),
                )

        for name in n.log_groups:
            group = aws.log_group(name)
            if group is not None and ours(aws.log_group_tags(str(group["arn"])), name):
                delete(
                    "log-group",
                    name,
                    APICall(
                        "logs",
                        "delete_log_group",
                        {"logGroupName": name},
                        ignore=("ResourceNotFoundException",),
                    ),
                )

        for name in (n.lambda_role, n.execution_role, n.sfu_task_role):
            role = aws.role(name)
            if role is None:
                continue
            tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
            if not ours(tags, name):
                continue
            calls = [
                APICall("iam", "delete_role_policy", {"RoleName": name, "PolicyName": p})
                for p in aws.role_policy_names(name)
            ]
            calls += [
                APICall("iam", "detach_role_policy", {"RoleName": name, "PolicyArn": arn})
                for arn in aws.attached_role_policies(name)
            ]
            calls.append(APICall("iam", "delete_role", {"RoleName": name}))
            delete("iam-role", name, *calls, detail="inline policies first")

        return plan
