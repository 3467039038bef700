"""What every plan step gets: the account's reads, the config, the names and the plan so far."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..models import Change, DeployConfig, Instruction, Plan, resolve
from ..package import LambdaZip
from .names import Names

__all__ = ["AccountView", "PlanContext", "tags_list"]


class AccountView(Protocol):
    """The reads the planner makes; :class:`~..awsclient.AwsClient` is the real one.

    Each returns ``None`` (or an empty list) for a resource that does not exist. The
    planner tests give an in-memory account with the same methods.
    """

    @property
    def account_id(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def partition(self) -> str: ...
    def default_vpc(self) -> str | None: ...
    def subnets(self, vpc_id: str) -> list[tuple[str, str]]: ...
    def parameter_exists(self, name: str) -> bool: ...
    def log_group(self, name: str) -> dict[str, Any] | None: ...
    def table(self, name: str) -> dict[str, Any] | None: ...
    def table_ttl(self, name: str) -> dict[str, Any]: ...
    def repository(self, name: str) -> dict[str, Any] | None: ...
    def image_exists(self, repository: str, tag: str) -> bool: ...
    def security_group(self, vpc_id: str, name: str) -> dict[str, Any] | None: ...
    def apis(self, name: str) -> list[dict[str, Any]]: ...
    def role(self, name: str) -> dict[str, Any] | None: ...
    def role_policy(self, role: str, policy: str) -> dict[str, Any] | None: ...
    def role_policy_names(self, name: str) -> list[str]: ...
    def load_balancer(self, name: str) -> dict[str, Any] | None: ...
    def load_balancer_attributes(self, arn: str) -> dict[str, str]: ...
    def target_group(self, name: str) -> dict[str, Any] | None: ...
    def target_group_attributes(self, arn: str) -> dict[str, str]: ...
    def listeners(self, lb_arn: str) -> list[dict[str, Any]]: ...
    def cluster(self, name: str) -> dict[str, Any] | None: ...
    def task_definition(self, family: str) -> dict[str, Any] | None: ...
    def service(self, cluster: str, name: str) -> dict[str, Any] | None: ...
    def function(self, name: str) -> dict[str, Any] | None: ...
    def function_policy(self, name: str) -> list[dict[str, Any]]: ...
    def integrations(self, api_id: str) -> list[dict[str, Any]]: ...
    def integration_responses(self, api_id: str, integration_id: str) -> list[dict[str, Any]]: ...
    def routes(self, api_id: str) -> list[dict[str, Any]]: ...
    def stages(self, api_id: str) -> list[dict[str, Any]]: ...
    def rule(self, name: str) -> dict[str, Any] | None: ...
    def rule_targets(self, name: str) -> list[dict[str, Any]]: ...


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class PlanContext:
    """The state one planning run shares between its steps."""

    aws: AccountView
    config: DeployConfig
    names: Names
    zip: LambdaZip
    image_tags: dict[str, str]
    plan: Plan = field(default_factory=Plan)
    new_secret: Callable[[], str] = _new_secret
    "Makes the value of a generated SSM parameter (fixed in tests)."

    @property
    def values(self) -> dict[str, str]:
        """Ids and ARNs known so far (placeholders resolve against them)."""
        return self.plan.values

    def change(
        self,
        action: Literal["create", "update", "delete"],
        kind: str,
        name: str,
        instructions: list[Instruction],
        detail: str = "",
    ) -> None:
        """Add a change to the plan."""
        self.plan.changes.append(Change(action, kind, name, tuple(instructions), detail))

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        """An ARN in this account (and region, unless ``region`` is false)."""
        v = self.values
        where = v["region"] if region else ""
        return f"arn:{v['partition']}:{service}:{where}:{v['account']}:{resource}"

    def known(self, value: Any) -> Any:
        """``value`` resolved, or None if it needs a value not known yet."""
        try:
            return resolve(value, self.values)
        except KeyError:
            return None


def tags_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    """Tags as AWS's list of ``{Key, Value}`` (or ``{key, value}`` for ECS)."""
    return [{key: k, value: v} for k, v in tags.items()]
