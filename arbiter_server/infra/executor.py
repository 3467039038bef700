"""Executors: :class:`Executor` applies a plan; :class:`DisplayOnlyExecutor` only shows it.

The executor is the only place that writes. It resolves placeholders, runs each
instruction through :class:`~.awsclient.AwsClient`, keeps the outputs for later
instructions, and reports progress and results to the callbacks it was given (the CLI
draws them with rich; the state file records them). With ``keep_going`` (destroy) a
change that fails is recorded in :attr:`Executor.failures` and the next one is tried,
so one resource AWS will not let go of yet does not keep the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .awsclient import AwsClient, AwsError, Progress
from .images import build_and_push
from .models import APICall, BuildImage, Change, Instruction, Plan, Wait, resolve

__all__ = ["CHECKS", "DisplayOnlyExecutor", "Executor", "format_plan"]


def _table_active(aws: AwsClient, name: str) -> str | None:
    table = aws.table(name)
    return "ACTIVE" if table is not None and table.get("TableStatus") == "ACTIVE" else None


def _table_gone(aws: AwsClient, name: str) -> str | None:
    return "gone" if aws.table(name) is None else None


def _load_balancer_dns(aws: AwsClient, name: str) -> str | None:
    lb = aws.load_balancer(name)
    if lb is None or lb.get("State", {}).get("Code") == "failed":
        return None
    return str(lb["DNSName"])


def _load_balancer_gone(aws: AwsClient, name: str) -> str | None:
    return "gone" if aws.load_balancer(name) is None else None


def _function_updated(aws: AwsClient, name: str) -> str | None:
    fn = aws.function(name)
    if fn is None:
        return None
    if fn.get("State", "Active") != "Active" or fn.get("LastUpdateStatus") == "InProgress":
        return None
    return "Active"


def _tasks_stopped(aws: AwsClient, cluster: str) -> str | None:
    running = [t for t in aws.tasks(cluster) if t.get("lastStatus") != "STOPPED"]
    return None if running else "stopped"


CHECKS: dict[str, Callable[..., str | None]] = {
    "table_active": _table_active,
    "table_gone": _table_gone,
    "load_balancer_dns": _load_balancer_dns,
    "load_balancer_gone": _load_balancer_gone,
    "function_updated": _function_updated,
    "tasks_stopped": _tasks_stopped,
}
"What :class:`~.models.Wait` instructions may poll: return a value once ready, else None."

ChangeCallback = Callable[[int, Change], None]


def _dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


class Executor:
    """Runs a plan's instructions in order."""

    def __init__(
        self,
        aws: AwsClient,
        *,
        on_start: ChangeCallback | None = None,
        on_done: ChangeCallback | None = None,
        on_progress: Progress | None = None,
        build_image: Callable[[AwsClient, str, str, str], None] = build_and_push,
        keep_going: bool = False,
    ) -> None:
        self._aws = aws
        self._on_start = on_start
        self._on_done = on_done
        self._on_progress = on_progress
        self._build_image = build_image
        self._keep_going = keep_going
        self.values: dict[str, str] = {}
        self.failures: list[tuple[Change, AwsError]] = []
        "Changes that failed (only with ``keep_going``), with their error."

    def execute(self, plan: Plan) -> dict[str, str]:
        """Apply every change; returns the values (ids) known at the end."""
        self.values = dict(plan.values)
        for index, change in enumerate(plan.changes):
            if self._on_start:
                self._on_start(index, change)
            try:
                for instruction in change.instructions:
                    self._run(instruction)
            except AwsError as exc:
                if not self._keep_going:
                    raise
                self.failures.append((change, exc))
                continue
            if self._on_done:
                self._on_done(index, change)
        return self.values

    def _run(self, instruction: Instruction) -> None:
        if isinstance(instruction, APICall):
            params = resolve(instruction.params, self.values)
            result = self._aws.call(
                instruction.service,
                instruction.method,
                params,
                retry_on=instruction.retry_on,
                ignore=instruction.ignore,
                retry_for=instruction.retry_for,
                progress=self._on_progress,
            )
            if instruction.output_var and instruction.output_path:
                self.values[instruction.output_var] = str(_dig(result, instruction.output_path))
        elif isinstance(instruction, Wait):
            params = resolve(instruction.params, self.values)
            check = CHECKS[instruction.check]
            found: list[str] = []

            def ready() -> bool:
                value = check(self._aws, **params)
                if value is not None:
                    found.append(value)
                return value is not None

            self._aws.wait(
                instruction.what, ready, timeout=instruction.timeout, progress=self._on_progress
            )
            if instruction.output_var:
                self.values[instruction.output_var] = found[-1]
        elif isinstance(instruction, BuildImage):
            if self._on_progress is not None:
                self._on_progress(instruction.describe())
            uri = resolve(instruction.repository_uri, self.values)
            self._build_image(self._aws, instruction.dockerfile, str(uri), instruction.tag)
        else:  # pragma: no cover - a new instruction type without a branch
            raise TypeError(f"unknown instruction {instruction!r}")


class DisplayOnlyExecutor:
    """``--dry-run``: returns the plan as text, calls nothing."""

    def execute(self, plan: Plan) -> str:
        """The plan, one line per change and one per call."""
        return format_plan(plan, verbose=True)


_SIGN = {"create": "+", "update": "~", "delete": "-"}


def format_plan(plan: Plan, verbose: bool = False) -> str:
    """Human-readable plan (``+`` create, ``~`` update, ``-`` delete)."""
    if plan.empty:
        return "No changes: the deployment matches the configuration."
    lines = []
    for change in plan.changes:
        detail = f"  ({change.detail})" if change.detail else ""
        lines.append(f"{_SIGN[change.action]} {change.kind:<18} {change.name}{detail}")
        if verbose:
            lines.extend(f"      {i.describe()}" for i in change.instructions)
    counts = plan.summary()
    lines.append(
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete."
    )
    return "\n".join(lines)
