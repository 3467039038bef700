"""Wiring of the deploy pipeline: build -> plan -> (display | execute) -> record.

:class:`Deployer` takes its collaborators in the constructor; :func:`create_deployer`
wires the real ones. ``deploy`` and ``destroy`` plan first (reads only) so that the CLI
can show the plan and ask before anything changes; :func:`status` only reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .awsclient import AwsClient, AwsError, Progress
from .executor import ChangeCallback, Executor
from .images import image_tags
from .models import Change, DeployConfig, Plan
from .package import build_lambda_zip
from .planner import WS_STAGE, Names, Planner
from .state import DeployState, default_state_path
from .sweeper import Sweeper

__all__ = ["Deployer", "Outputs", "create_deployer", "status"]


@dataclass(frozen=True)
class Outputs:
    """Where a deployment answers."""

    room_api: str | None
    signaling: str | None
    turn_host: str | None

    def to_dict(self) -> dict[str, str | None]:
        """As JSON-ready dict."""
        return {"room_api": self.room_api, "signaling": self.signaling, "turn": self.turn_host}


class Deployer:
    """Plans and applies (or destroys) one deployment."""

    def __init__(
        self,
        aws: AwsClient,
        config: DeployConfig,
        *,
        state_path: Path,
        cache_dir: Path,
        planner: Planner | None = None,
        sweeper: Sweeper | None = None,
        executor_factory: Callable[..., Executor] = Executor,
    ) -> None:
        self.aws = aws
        self.config = config
        self.state_path = state_path
        self.cache_dir = cache_dir
        self._planner = planner or Planner(aws)
        self._sweeper = sweeper or Sweeper(aws)
        self._executor_factory = executor_factory
        self.failures: list[tuple[Change, AwsError]] = []
        "Changes the last :meth:`apply` could not make (destroy goes on past them)."

    def plan_deploy(self) -> Plan:
        """Build the Lambda zip (local, cached) and plan against AWS (reads only)."""
        self.aws.check_credentials()
        lambda_zip = build_lambda_zip(self.cache_dir)
        return self._planner.plan(self.config, lambda_zip, image_tags())

    def plan_destroy(self) -> Plan:
        """Plan deleting everything the deployment made (reads only)."""
        self.aws.check_credentials()
        return self._sweeper.plan(self.config, DeployState.load(self.state_path))

    def apply(
        self,
        plan: Plan,
        *,
        on_start: ChangeCallback | None = None,
        on_done: ChangeCallback | None = None,
        on_progress: Progress | None = None,
        destroying: bool = False,
    ) -> dict[str, str]:
        """Execute ``plan``, recording the state after every change.

        A deploy stops at the first error. A destroy goes on past a change that fails
        (it is kept in :attr:`failures` and in the state file) so everything that can
        go, goes; plan the destroy again to see exactly what is left.
        """
        state = DeployState.load(self.state_path) or DeployState(
            self.config.prefix, self.aws.region
        )
        state.resources.update(plan.resources)

        def done(index: int, change: Any) -> None:
            state.values.update(executor.values)
            if destroying:
                state.resources = {
                    k: v for k, v in state.resources.items() if not k.endswith(change.name)
                }
            state.save(self.state_path)
            if on_done:
                on_done(index, change)

        executor = self._executor_factory(
            self.aws,
            on_start=on_start,
            on_done=done,
            on_progress=on_progress,
            keep_going=destroying,
        )
        values = executor.execute(plan)
        self.failures = list(executor.failures)
        state.values.update(values)
        if destroying and not self.failures:
            if self.state_path.exists():
                self.state_path.unlink()
        else:
            state.save(self.state_path)
        return values

    def outputs(self, values: dict[str, str]) -> Outputs:
        """Endpoints from the plan/apply values."""
        region = self.aws.region
        http, ws = values.get("http_api_id"), values.get("ws_api_id")
        return Outputs(
            room_api=f"https://{http}.execute-api.{region}.amazonaws.com" if http else None,
            signaling=f"wss://{ws}.execute-api.{region}.amazonaws.com/{WS_STAGE}" if ws else None,
            turn_host=values.get("nlb_dns"),
        )


def create_deployer(
    config: DeployConfig,
    *,
    state_path: Path | None = None,
    cache_dir: Path | None = None,
    sleep: Callable[[float], None] | None = None,
    aws: AwsClient | None = None,
) -> Deployer:
    """A deployer with the real AWS client (or ``aws``), planner, sweeper and executor."""
    if aws is None:
        kwargs: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
        aws = AwsClient(config.region, **kwargs)
    return Deployer(
        aws,
        config,
        state_path=state_path or default_state_path(config.prefix, config.region),
        cache_dir=cache_dir or Path(".arbiter") / "build",
    )


def status(aws: AwsClient, config: DeployConfig) -> dict[str, Any]:
    """Endpoints, functions, the TURN service, SFU and TURN tasks and their health."""
    aws.check_credentials()
    n = Names(config.prefix)
    region = aws.region
    out: dict[str, Any] = {"prefix": config.prefix, "region": region, "deployed": False}
    http = aws.apis(n.http_api)
    ws = aws.apis(n.ws_api)
    out["endpoints"] = {
        "room_api": f"https://{http[0]['ApiId']}.execute-api.{region}.amazonaws.com"
        if http
        else None,
        "signaling": f"wss://{ws[0]['ApiId']}.execute-api.{region}.amazonaws.com/{WS_STAGE}"
        if ws
        else None,
    }
    lb = aws.load_balancer(n.nlb)
    out["endpoints"]["turn"] = str(lb["DNSName"]) if lb else None
    functions = {}
    for suffix in ("room-api", "signaling", "maintenance"):
        fn = aws.function(n.fn(suffix))
        functions[suffix] = None if fn is None else fn.get("State", "Active")
    out["functions"] = functions
    table = aws.table(n.table)
    out["table"] = None if table is None else table.get("TableStatus")
    service = aws.service(n.cluster, n.turn_service)
    out["turn_service"] = (
        None
        if service is None
        else {
            "desired": service.get("desiredCount"),
            "running": service.get("runningCount"),
            "pending": service.get("pendingCount"),
        }
    )
    health: dict[str, str] = {}
    tg = aws.target_group(n.target_group)
    if tg is not None:
        for desc in aws.target_health(str(tg["TargetGroupArn"])):
            target = desc.get("Target", {})
            health[str(target.get("Id"))] = str(desc.get("TargetHealth", {}).get("State"))
    tasks = []
    for task in aws.tasks(n.cluster):
        ip = None
        for attachment in task.get("attachments", []):
            for detail in attachment.get("details", []):
                if detail.get("name") == "privateIPv4Address":
                    ip = detail.get("value")
        group = str(task.get("group", ""))
        kind = "turn" if group == f"service:{n.turn_service}" else "sfu"
        room = next(
            (t.get("value") for t in task.get("tags", []) if t.get("key") == "arbiter:room"), None
        )
        tasks.append(
            {
                "kind": kind,
                "arn": task.get("taskArn"),
                "status": task.get("lastStatus"),
                "health": health.get(str(ip), task.get("healthStatus", "UNKNOWN"))
                if kind == "turn"
                else task.get("healthStatus", "UNKNOWN"),
                "ip": ip,
                "room": room,
            }
        )
    out["tasks"] = tasks
    out["deployed"] = bool(http and ws and table is not None)
    return out
