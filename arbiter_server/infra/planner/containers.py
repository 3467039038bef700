"""Plan steps for containers: ECR repositories and images, the ECS cluster, the task
definitions of the SFU and of coturn, and the coturn service behind the load balancer.
"""

from __future__ import annotations

import json
from typing import Any

from ...turn import TURN_PORT
from ..models import APICall, BuildImage, Var
from .context import PlanContext, tags_list
from .names import LOAD_BALANCER_WAIT, SFU_MEDIA_PORTS, TURN_RELAY_PORTS

__all__ = [
    "TURN_DEPLOYMENT",
    "SFU_HEALTH_CHECK",
    "SFU_STATE_FILE",
    "TURN_HEALTH_CHECK",
    "plan_cluster",
    "plan_repositories",
    "plan_task_definitions",
    "plan_turn_service",
]


SFU_STATE_FILE = "/tmp/arbiter-sfu-state.json"
"Where the SFU container keeps its state file, whose age is its heartbeat."
SFU_HEALTH_CHECK: dict[str, Any] = {
    "command": [
        "CMD",
        "python",
        "-m",
        "arbiter_server.heartbeat",
        SFU_STATE_FILE,
        "--max-age",
        "10",
    ],
    "interval": 10,
    "timeout": 5,
    "retries": 2,
    "startPeriod": 30,
}
"""The SFU container's health check: its heartbeat at most 10 s old
(:mod:`arbiter_server.heartbeat`); a frozen SFU turns ``UNHEALTHY`` and maintenance
replaces it."""
TURN_HEALTH_CHECK: dict[str, Any] = {
    "command": ["CMD", "/usr/local/bin/arbiter-turn-health"],
    "interval": 15,
    "timeout": 10,
    "retries": 3,
    "startPeriod": 20,
}
"The coturn container's health check (``deploy/coturn-healthcheck.sh``)."


def plan_repositories(ctx: PlanContext) -> None:
    """One ECR repository per image; build and push an image whose tag is missing."""
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
                            "tags": tags_list(ctx.config.tags),
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


def plan_cluster(ctx: PlanContext) -> None:
    """The ECS cluster (Fargate)."""
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
                        "tags": tags_list(ctx.config.tags, "key", "value"),
                        "capacityProviders": ["FARGATE"],
                    },
                )
            ],
        )


def _task_definitions(ctx: PlanContext) -> dict[str, dict[str, Any]]:
    n, cfg, v = ctx.names, ctx.config, ctx.values
    low, high = SFU_MEDIA_PORTS

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
        "tags": tags_list(cfg.tags, "key", "value"),
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
                    "environment": [
                        {"name": "PYTHONUNBUFFERED", "value": "1"},
                        {"name": "ARBITER_SFU_PORTS", "value": f"{low}-{high}"},
                        {"name": "ARBITER_SFU_STATE_FILE", "value": SFU_STATE_FILE},
                    ],
                    # the SFU's sockets take ephemeral ports: keep them in the open range
                    "systemControls": [
                        {"namespace": "net.ipv4.ip_local_port_range", "value": f"{low} {high}"}
                    ],
                    "logConfiguration": logs("sfu"),
                    "stopTimeout": 10,
                    "healthCheck": SFU_HEALTH_CHECK,
                }
            ],
            # finds the task's public address (ec2:DescribeNetworkInterfaces)
            "taskRoleArn": v["sfu_task_role_arn"],
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
                    # STUN over UDP to the task's own coturn (the NLB checks only TCP)
                    "healthCheck": TURN_HEALTH_CHECK,
                }
            ],
            **common,
        },
    }


_TD_KEYS = (
    "family",
    "cpu",
    "memory",
    "networkMode",
    "requiresCompatibilities",
    "executionRoleArn",
    "taskRoleArn",
)
_CONTAINER_KEYS = (
    "name",
    "memory",
    "image",
    "essential",
    "environment",
    "secrets",
    "logConfiguration",
    "stopTimeout",
    "systemControls",
    "healthCheck",
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


def plan_task_definitions(ctx: PlanContext) -> None:
    """A new revision of the SFU or coturn task definition when it differs."""
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


TURN_DEPLOYMENT: dict[str, Any] = {
    "minimumHealthyPercent": 100,
    "maximumPercent": 200,
    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
}
"""A new coturn revision starts beside the old one, which drains (the target group keeps
its flows for 50 minutes) before it stops; a revision whose tasks fail their health check
is rolled back instead of replacing working ones."""


def plan_turn_service(ctx: PlanContext) -> None:
    """The coturn service: task definition, count, network, target group, rolling deploys."""
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
                        "deploymentConfiguration": TURN_DEPLOYMENT,
                        "propagateTags": "SERVICE",
                        "tags": tags_list(cfg.tags, "key", "value"),
                    },
                    retry_on=("InvalidParameterException",),
                    retry_for=LOAD_BALANCER_WAIT,
                )
            ],
            f"{cfg.turn_count} coturn task(s) behind {n.nlb}",
        )
        return
    ctx.plan.resources[f"ecs-service:{n.turn_service}"] = str(service["serviceArn"])
    want_td = ctx.values.get("turn_td_arn")
    deployment = service.get("deploymentConfiguration")
    if (
        want_td is None
        or service.get("taskDefinition") != want_td
        or (service.get("desiredCount") != cfg.turn_count)
        or (deployment is not None and _deployment_differs(deployment))
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
                        "deploymentConfiguration": TURN_DEPLOYMENT,
                    },
                )
            ],
            f"task definition / desired count {cfg.turn_count} / rolling deploys",
        )


def _deployment_differs(have: dict[str, Any]) -> bool:
    """Whether a described service's deployment configuration is not :data:`TURN_DEPLOYMENT`."""
    return any(have.get(k) != v for k, v in TURN_DEPLOYMENT.items())
