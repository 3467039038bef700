"""An in-memory view of an AWS account for the planner tests.

It has the planner's read methods (:class:`arbiter_server.infra.planner.AccountView`) over
plain dicts the tests fill in, so each plan step can be checked against exactly the
account state it should react to, without a server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class InMemoryAccount:
    """Resources by name; every read returns what is there, or None/empty."""

    account_id: str = "123456789012"
    region: str = "eu-west-1"
    partition: str = "aws"
    vpc: str | None = "vpc-1"
    subnet_zones: list[tuple[str, str]] = field(
        default_factory=lambda: [
            ("subnet-a", "eu-west-1a"),
            ("subnet-b", "eu-west-1b"),
            ("subnet-c", "eu-west-1c"),
        ]
    )
    parameters: set[str] = field(default_factory=set)
    log_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    ttls: dict[str, dict[str, Any]] = field(default_factory=dict)
    repositories: dict[str, dict[str, Any]] = field(default_factory=dict)
    images: set[tuple[str, str]] = field(default_factory=set)
    security_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    api_list: list[dict[str, Any]] = field(default_factory=list)
    api_integrations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    api_integration_responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    "Integration id -> its integration responses."
    api_routes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    api_stages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    inline_policies: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    load_balancers: dict[str, dict[str, Any]] = field(default_factory=dict)
    lb_attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    target_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    tg_attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    lb_listeners: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    clusters: dict[str, dict[str, Any]] = field(default_factory=dict)
    task_definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    function_policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    targets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    queues: dict[str, dict[str, Any]] = field(default_factory=dict)
    mappings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def default_vpc(self) -> str | None:
        return self.vpc

    def subnets(self, vpc_id: str) -> list[tuple[str, str]]:
        return list(self.subnet_zones) if vpc_id == self.vpc else []

    def parameter_exists(self, name: str) -> bool:
        return name in self.parameters

    def log_group(self, name: str) -> dict[str, Any] | None:
        return self.log_groups.get(name)

    def table(self, name: str) -> dict[str, Any] | None:
        return self.tables.get(name)

    def table_ttl(self, name: str) -> dict[str, Any]:
        return self.ttls.get(name, {})

    def repository(self, name: str) -> dict[str, Any] | None:
        return self.repositories.get(name)

    def image_exists(self, repository: str, tag: str) -> bool:
        return (repository, tag) in self.images

    def security_group(self, vpc_id: str, name: str) -> dict[str, Any] | None:
        return self.security_groups.get(name) if vpc_id == self.vpc else None

    def apis(self, name: str) -> list[dict[str, Any]]:
        return [a for a in self.api_list if a["Name"] == name]

    def integrations(self, api_id: str) -> list[dict[str, Any]]:
        return self.api_integrations.get(api_id, [])

    def integration_responses(self, api_id: str, integration_id: str) -> list[dict[str, Any]]:
        return self.api_integration_responses.get(integration_id, [])

    def routes(self, api_id: str) -> list[dict[str, Any]]:
        return self.api_routes.get(api_id, [])

    def stages(self, api_id: str) -> list[dict[str, Any]]:
        return self.api_stages.get(api_id, [])

    def role(self, name: str) -> dict[str, Any] | None:
        return self.roles.get(name)

    def role_policy(self, role: str, policy: str) -> dict[str, Any] | None:
        return self.inline_policies.get(role, {}).get(policy)

    def role_policy_names(self, name: str) -> list[str]:
        return sorted(self.inline_policies.get(name, {}))

    def load_balancer(self, name: str) -> dict[str, Any] | None:
        return self.load_balancers.get(name)

    def load_balancer_attributes(self, arn: str) -> dict[str, str]:
        return self.lb_attributes.get(arn, {})

    def target_group(self, name: str) -> dict[str, Any] | None:
        return self.target_groups.get(name)

    def target_group_attributes(self, arn: str) -> dict[str, str]:
        return self.tg_attributes.get(arn, {})

    def listeners(self, lb_arn: str) -> list[dict[str, Any]]:
        return self.lb_listeners.get(lb_arn, [])

    def cluster(self, name: str) -> dict[str, Any] | None:
        return self.clusters.get(name)

    def task_definition(self, family: str) -> dict[str, Any] | None:
        return self.task_definitions.get(family)

    def service(self, cluster: str, name: str) -> dict[str, Any] | None:
        return self.services.get(name)

    def function(self, name: str) -> dict[str, Any] | None:
        return self.functions.get(name)

    def function_policy(self, name: str) -> list[dict[str, Any]]:
        return self.function_policies.get(name, [])

    def rule(self, name: str) -> dict[str, Any] | None:
        return self.rules.get(name)

    def rule_targets(self, name: str) -> list[dict[str, Any]]:
        return self.targets.get(name, [])

    def queue(self, name: str) -> dict[str, Any] | None:
        return self.queues.get(name)

    def event_source_mappings(self, function: str) -> list[dict[str, Any]]:
        return list(self.mappings.get(function, []))
