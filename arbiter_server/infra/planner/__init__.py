"""The planner: reads AWS and returns the :class:`~..models.Plan` that makes it match the config.

It only reads (describe/get/list through an :class:`~.context.AccountView`, in production
:class:`~..awsclient.AwsClient`); every write is an instruction for the executor. Each
resource has one plan step that branches on "does it exist, and does it match?", so
planning an unchanged deployment gives an empty plan. The steps live in one module per
area and run in dependency order (:data:`PLAN_STEPS`):

- :mod:`.names` - every resource name, from the prefix;
- :mod:`.network` - account and VPC, security groups, the TURN load balancer;
- :mod:`.data` - SSM parameters, log groups, the DynamoDB table;
- :mod:`.queues` - the webhook queues and their event source mapping;
- :mod:`.iam` - the two roles and their inline policies;
- :mod:`.apis` - the HTTP and WebSocket APIs, routes, stages, invoke permissions;
- :mod:`.containers` - ECR, the ECS cluster, task definitions, the coturn service;
- :mod:`.functions` - the Lambda functions and their schedule.
"""

from __future__ import annotations

from collections.abc import Callable

from ..models import DeployConfig, Plan
from ..package import LambdaZip
from .apis import plan_api_routes, plan_apis, plan_permissions
from .containers import plan_cluster, plan_repositories, plan_task_definitions, plan_turn_service
from .context import AccountView, PlanContext
from .data import plan_log_groups, plan_parameters, plan_table
from .functions import plan_functions, plan_schedule
from .iam import plan_roles
from .names import FUNCTIONS, WS_STAGE, Names
from .network import (
    plan_context,
    plan_listener,
    plan_load_balancer,
    plan_security_groups,
    plan_target_group,
)
from .queues import plan_queues, plan_webhook_source

__all__ = [
    "FUNCTIONS",
    "PLAN_STEPS",
    "AccountView",
    "Names",
    "PlanContext",
    "Planner",
    "WS_STAGE",
]

PLAN_STEPS: tuple[Callable[[PlanContext], None], ...] = (
    plan_context,
    plan_parameters,
    plan_log_groups,
    plan_table,
    plan_queues,
    plan_repositories,
    plan_security_groups,
    plan_apis,
    plan_roles,
    plan_load_balancer,
    plan_target_group,
    plan_listener,
    plan_cluster,
    plan_task_definitions,
    plan_turn_service,
    plan_functions,
    plan_webhook_source,
    plan_permissions,
    plan_api_routes,
    plan_schedule,
)
"Plan steps in dependency order."


class Planner:
    """Reads the account and plans the changes that make it match a :class:`DeployConfig`."""

    def __init__(self, aws: AccountView) -> None:
        self._aws = aws

    def plan(self, config: DeployConfig, lambda_zip: LambdaZip, image_tags: dict[str, str]) -> Plan:
        """The deploy plan (reads only)."""
        ctx = PlanContext(self._aws, config, Names(config.prefix), lambda_zip, image_tags)
        for step in PLAN_STEPS:
            step(ctx)
        return ctx.plan
