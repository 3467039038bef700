"""What a deployment is (:class:`DeployConfig`) and what the planner asks the executor to do.

A :class:`Plan` is a list of :class:`Change` s, each with frozen instruction dataclasses:
:class:`APICall` (one mutating AWS call), :class:`Wait` (poll a read until true) and
:class:`BuildImage` (docker build + push). Parameters may hold :class:`Var` or
:class:`Template` placeholders for ids that only exist once an earlier call has run; the
executor resolves them from the values the planner found (:attr:`Plan.values`) and the
outputs of earlier calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "DEFAULT_RETRY_FOR",
    "DEFAULT_WAIT",
    "APICall",
    "BuildImage",
    "Change",
    "DeployConfig",
    "Instruction",
    "Plan",
    "TAG_KEY",
    "Template",
    "Var",
    "Wait",
    "resolve",
]

DEFAULT_RETRY_FOR = 120.0
"Seconds a write keeps retrying propagation errors unless its instruction says otherwise."

DEFAULT_WAIT = 300.0
"Seconds a wait polls unless its instruction says otherwise."

TAG_KEY = "arbiter:deployment"
"Tag on every resource a deployment makes; its value is the prefix."


@dataclass(frozen=True)
class DeployConfig:
    """The options of ``arbiter-server deploy`` (and what ``status``/``destroy`` need)."""

    region: str
    "AWS region."
    prefix: str = "arbiter"
    "Name prefix of every resource; one prefix is one deployment."
    sfu_cpu: int = 1024
    "CPU units of an SFU task (1024 = 1 vCPU)."
    sfu_memory: int = 2048
    "MiB of an SFU task."
    turn_cpu: int = 256
    "CPU units of a coturn task."
    turn_memory: int = 512
    "MiB of a coturn task."
    turn_count: int = 1
    "coturn tasks behind the NLB."
    pool_size: int = 1
    "Ready rooms kept with an SFU started."
    max_rooms: int = 20
    "Most SFU tasks running at once."
    max_participants: int = 16
    "Most participants in one room."
    log_retention_days: int = 14
    "CloudWatch log retention."
    lambda_memory: int = 256
    "MiB of each Lambda function."
    open_room_creation: bool = False
    "Anyone may create rooms (otherwise an API key is needed)."
    vpc_id: str | None = None
    "VPC for tasks and the NLB (default: the account's default VPC)."
    subnets: tuple[str, ...] = ()
    "Public subnets (default: those of the VPC)."
    skip_images: bool = False
    "Do not build and push the container images."
    log_level: str = "info"
    "Log level of the Lambda functions and the SFU tasks."
    private_rooms: bool = True
    "Rooms made without saying need a grant minted by the app (``--public-rooms``: not)."
    webhook_url: str | None = None
    "Where room events are posted (``--webhook-url``; the server API can change it)."

    def name(self, suffix: str) -> str:
        """``<prefix>-<suffix>``."""
        return f"{self.prefix}-{suffix}"

    @property
    def tags(self) -> dict[str, str]:
        """Tags put on every resource."""
        return {TAG_KEY: self.prefix}


@dataclass(frozen=True)
class Var:
    """A value known only at apply time: the output of an earlier call, or a found id."""

    name: str


@dataclass(frozen=True)
class Template:
    """A string with ``{var}`` placeholders, formatted at apply time."""

    text: str


class Instruction:
    """Base of the plan's instructions."""

    def describe(self) -> str:
        """One line for ``--dry-run``."""
        raise NotImplementedError


@dataclass(frozen=True)
class APICall(Instruction):
    """Call ``service.method(**params)`` (through :meth:`AwsClient.call`)."""

    service: str
    method: str
    params: dict[str, Any]
    output_var: str | None = None
    "Store part of the response under this name."
    output_path: str | None = None
    "Dotted path into the response for ``output_var`` (e.g. ``LoadBalancers.0.LoadBalancerArn``)."
    retry_on: tuple[str, ...] = ()
    "Error codes that mean 'not yet' (e.g. a role not yet assumable)."
    ignore: tuple[str, ...] = ()
    "Error codes that mean 'already done' (e.g. not found when deleting)."
    retry_for: float = DEFAULT_RETRY_FOR
    "Seconds to keep retrying propagation errors and ``retry_on`` before giving up."

    def describe(self) -> str:
        secret = self.params.get("Type") == "SecureString"  # a generated secret: never shown
        shown = ", ".join(
            f"{k}=<secret>" if secret and k == "Value" else f"{k}={_short(v)}"
            for k, v in self.params.items()
        )
        return f"{self.service}.{self.method}({shown})"


@dataclass(frozen=True)
class Wait(Instruction):
    """Wait until a read says a resource is ready (or gone)."""

    what: str
    check: str
    "A name in :data:`arbiter_server.infra.executor.CHECKS`."
    params: dict[str, Any]
    output_var: str | None = None
    "Store the value the check returns under this name."
    timeout: float = DEFAULT_WAIT
    "Seconds to wait before giving up (sized to how long AWS really takes)."

    def describe(self) -> str:
        return f"wait for {self.what} (at most {self.timeout:.0f} s)"


@dataclass(frozen=True)
class BuildImage(Instruction):
    """``docker build`` a Dockerfile of ``deploy/`` and push it to an ECR repository."""

    dockerfile: str
    repository_uri: Any
    "A :class:`Var`/:class:`Template` or string."
    tag: str

    def describe(self) -> str:
        return f"docker build -f deploy/{self.dockerfile} and push :{self.tag}"


@dataclass(frozen=True)
class Change:
    """One resource created, updated or deleted, and the calls that do it."""

    action: Literal["create", "update", "delete"]
    kind: str
    name: str
    instructions: tuple[Instruction, ...]
    detail: str = ""


@dataclass
class Plan:
    """What applying would do."""

    changes: list[Change] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    "Ids of resources that exist already (placeholders resolve against them)."
    resources: dict[str, str] = field(default_factory=dict)
    "``kind:name`` -> id of every resource of the deployment (for the state file)."
    messages: list[str] = field(default_factory=list)
    "Notes for the user (e.g. resources skipped because they are not ours)."

    @property
    def empty(self) -> bool:
        """Nothing to change."""
        return not self.changes

    def summary(self) -> dict[str, int]:
        """Count of changes per action."""
        out = {"create": 0, "update": 0, "delete": 0}
        for change in self.changes:
            out[change.action] += 1
        return out


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def resolve(value: Any, values: dict[str, str]) -> Any:
    """Replace :class:`Var`/:class:`Template` placeholders in ``value`` (recursively)."""
    if isinstance(value, Var):
        if value.name not in values:
            raise KeyError(f"no value for {value.name!r} yet")
        return values[value.name]
    if isinstance(value, Template):

        def sub(m: re.Match[str]) -> str:
            if m.group(1) not in values:
                raise KeyError(f"no value for {m.group(1)!r} yet")
            return values[m.group(1)]

        return _PLACEHOLDER.sub(sub, value.text)
    if isinstance(value, dict):
        return {k: resolve(v, values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, values) for v in value]
    return value


def _short(value: Any) -> str:
    if isinstance(value, Var):
        return f"<{value.name}>"
    if isinstance(value, Template):
        return repr(value.text)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
