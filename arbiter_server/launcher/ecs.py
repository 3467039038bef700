"""ECS launcher: one Fargate task per room's SFU; handles are task ARNs."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from .base import Launcher, LaunchError, sfu_command

__all__ = ["SFU_STARTED_BY", "EcsLauncher"]

logger = logging.getLogger(__name__)

SFU_STARTED_BY = "arbiter-sfu"
"``startedBy`` of every SFU task, used to count and list them."

_GONE_STATES = frozenset({"STOPPED", "STOPPING", "DEPROVISIONING", "DEACTIVATING"})


class EcsLauncher(Launcher):
    """Runs ``python -m arbiter_server.sfu`` as a Fargate task (awsvpc, public IP).

    The SFU's bootstrap code travels in the container's environment override
    (``ARBITER_SFU_TOKEN``), never in the task definition. ``DescribeTasks`` and CloudTrail
    show it, but it admits that one SFU once and expires minutes after the start
    (``Settings.sfu_bootstrap_ttl``); the refresh credential the SFU gets in exchange
    never leaves the task. ``max_tasks`` caps the SFU tasks running at once (a backstop
    for ``Settings.max_sfus``); ``client`` is a botocore ECS client.
    """

    def __init__(
        self,
        client: Any,
        *,
        cluster: str,
        task_definition: str,
        subnets: Sequence[str],
        security_groups: Sequence[str],
        signaling_url: str,
        container_name: str = "sfu",
        ice_servers: list[dict[str, object]] | None = None,
        assign_public_ip: bool = True,
        max_tasks: int | None = None,
        log_level: str = "info",
    ) -> None:
        self._ecs = client
        self.cluster = cluster
        self.task_definition = task_definition
        self.subnets = list(subnets)
        self.security_groups = list(security_groups)
        self.signaling_url = signaling_url
        self.container_name = container_name
        self.ice_servers = ice_servers or []
        self.assign_public_ip = assign_public_ip
        self.max_tasks = max_tasks
        self.log_level = log_level

    def start(self, room_id: str, sfu_token: str) -> str:
        if self.max_tasks is not None and len(self.running_tasks()) >= self.max_tasks:
            raise LaunchError(
                f"could not start the SFU for room {room_id}: "
                f"{self.max_tasks} SFUs are running already (max rooms)"
            )
        command = sfu_command("python", room_id, self.signaling_url, self.log_level)
        environment = [
            {"name": "ARBITER_SFU_TOKEN", "value": sfu_token},
            {"name": "ARBITER_ICE_SERVERS", "value": json.dumps(self.ice_servers)},
        ]
        try:
            resp = self._ecs.run_task(
                cluster=self.cluster,
                taskDefinition=self.task_definition,
                launchType="FARGATE",
                count=1,
                startedBy=SFU_STARTED_BY,
                networkConfiguration={
                    "awsvpcConfiguration": {
                        "subnets": self.subnets,
                        "securityGroups": self.security_groups,
                        "assignPublicIp": "ENABLED" if self.assign_public_ip else "DISABLED",
                    }
                },
                overrides={
                    "containerOverrides": [
                        {
                            "name": self.container_name,
                            "command": command,
                            "environment": environment,
                        }
                    ]
                },
                tags=[{"key": "arbiter:room", "value": room_id}],
                propagateTags="TASK_DEFINITION",
            )
        except ClientError as exc:
            raise LaunchError(f"could not start the SFU for room {room_id}: {exc}") from exc
        tasks = resp.get("tasks") or []
        if not tasks:
            reasons = ", ".join(str(f.get("reason")) for f in resp.get("failures") or [])
            raise LaunchError(f"could not start the SFU for room {room_id}: {reasons or '?'}")
        handle = str(tasks[0]["taskArn"])
        logger.info("started SFU task %s for room %s", handle, room_id)
        return handle

    def stop(self, handle: str) -> None:
        try:
            self._ecs.stop_task(cluster=self.cluster, task=handle, reason="arbiter: room idle")
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code not in ("InvalidParameterException", "ClientException"):
                raise
            logger.info("stopping %s: %s", handle, exc)

    def is_alive(self, handle: str) -> bool:
        try:
            task = self._describe(handle)
        except ClientError as exc:  # unknown is not dead: the next pass asks again
            logger.warning("describing %s failed: %s", handle, exc)
            return True
        if task is not None and task.get("healthStatus") == "UNHEALTHY":
            logger.warning("SFU task %s is unhealthy (no heartbeat)", handle)
            return False
        return task is not None and task.get("lastStatus") not in _GONE_STATES

    def task_address(self, handle: str) -> str | None:
        """The task's private IPv4 address (from its ENI attachment), or None."""
        try:
            task = self._describe(handle)
        except ClientError:
            return None
        if task is None:
            return None
        for attachment in task.get("attachments") or []:
            for detail in attachment.get("details") or []:
                if detail.get("name") == "privateIPv4Address":
                    return str(detail.get("value"))
        return None

    def running_tasks(self) -> list[str]:
        """ARNs of the SFU tasks of this cluster that are not stopped."""
        arns: list[str] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {
                "cluster": self.cluster,
                "startedBy": SFU_STARTED_BY,
                "desiredStatus": "RUNNING",
            }
            if token:
                params["nextToken"] = token
            resp = self._ecs.list_tasks(**params)
            arns.extend(resp.get("taskArns") or [])
            token = resp.get("nextToken")
            if not token:
                return arns

    def _describe(self, handle: str) -> dict[str, Any] | None:
        resp = self._ecs.describe_tasks(cluster=self.cluster, tasks=[handle])
        tasks = resp.get("tasks") or []
        return dict(tasks[0]) if tasks else None
