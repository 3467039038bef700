"""Every name of a deployment, derived from its prefix, and the constants the plan uses."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "FUNCTIONS",
    "SFU_MEDIA_PORTS",
    "LOAD_BALANCER_WAIT",
    "NETWORK_INTERFACES_WAIT",
    "TASKS_STOP_WAIT",
    "POLICY_NAME",
    "RUNTIME",
    "TURN_RELAY_PORTS",
    "WEBHOOK_RECEIVES",
    "WEBHOOK_VISIBILITY",
    "WS_STAGE",
    "Names",
]

LOAD_BALANCER_WAIT = 600.0
"Seconds a network load balancer may take to come up or to go (usually 2-5 minutes)."

TASKS_STOP_WAIT = 600.0
"Seconds Fargate tasks may take to stop (stop timeout, then releasing their ENIs)."

NETWORK_INTERFACES_WAIT = 1200.0
"Seconds a security group may stay in use while AWS releases task and NLB interfaces."

SFU_MEDIA_PORTS = (40000, 49999)
"""UDP ports open to SFU tasks; their task definition confines the SFU's sockets to them
(``net.ipv4.ip_local_port_range``) and the SFU refuses to start if they are not."""

WS_STAGE = "prod"
"Stage of the WebSocket API."

FUNCTIONS: dict[str, tuple[str, int]] = {
    "room-api": ("arbiter_server.aws.room_api_handler", 30),
    "signaling": ("arbiter_server.aws.signaling_handler", 30),
    "maintenance": ("arbiter_server.aws.maintenance_handler", 60),
    "webhooks": ("arbiter_server.aws.webhook_delivery_handler", 20),
}
"Lambda functions: suffix -> (handler, timeout seconds)."

WEBHOOK_VISIBILITY = 120
"""Seconds SQS hides a webhook event handed to the delivery function (6 x its timeout, as
AWS advises); a refused event comes back after it."""

WEBHOOK_RECEIVES = 5
"Receives of one webhook event before SQS moves it to the dead-letter queue."

POLICY_NAME = "arbiter"
RUNTIME = "python3.11"
TURN_RELAY_PORTS = (49152, 65535)


@dataclass(frozen=True)
class Names:
    """Every resource name of a deployment, derived from its prefix."""

    prefix: str

    def fn(self, suffix: str) -> str:
        """A Lambda function name."""
        return f"{self.prefix}-{suffix}"

    @property
    def secret_param(self) -> str:
        """SSM parameter of the token secret."""
        return f"/arbiter/{self.prefix}/secret"

    @property
    def turn_secret_param(self) -> str:
        """SSM parameter of coturn's ``static-auth-secret``."""
        return f"/arbiter/{self.prefix}/turn-secret"

    @property
    def api_key_param(self) -> str:
        """SSM parameter of the API key that room creation needs (unless rooms are open)."""
        return f"/arbiter/{self.prefix}/api-key"

    @property
    def log_groups(self) -> list[str]:
        """Log groups: one per function, SFU and TURN tasks."""
        return [f"/aws/lambda/{self.fn(s)}" for s in FUNCTIONS] + [
            f"/arbiter/{self.prefix}/sfu",
            f"/arbiter/{self.prefix}/turn",
        ]

    @property
    def table(self) -> str:
        """DynamoDB table."""
        return f"{self.prefix}-state"

    @property
    def repositories(self) -> dict[str, str]:
        """ECR repositories: image -> repository name."""
        return {"sfu": f"{self.prefix}/sfu", "coturn": f"{self.prefix}/coturn"}

    @property
    def lambda_role(self) -> str:
        """Role of the Lambda functions."""
        return f"{self.prefix}-lambda"

    @property
    def execution_role(self) -> str:
        """ECS task execution role (pull images, write logs, read the TURN secret)."""
        return f"{self.prefix}-task-execution"

    @property
    def sfu_task_role(self) -> str:
        """Role of the SFU tasks themselves (look up their own public address)."""
        return f"{self.prefix}-sfu-task"

    @property
    def sfu_sg(self) -> str:
        """Security group of SFU tasks."""
        return f"{self.prefix}-sfu"

    @property
    def turn_sg(self) -> str:
        """Security group of coturn tasks."""
        return f"{self.prefix}-turn"

    @property
    def http_api(self) -> str:
        """HTTP API (Room API)."""
        return f"{self.prefix}-http"

    @property
    def ws_api(self) -> str:
        """WebSocket API (signaling)."""
        return f"{self.prefix}-ws"

    @property
    def nlb(self) -> str:
        """Network Load Balancer in front of coturn."""
        return f"{self.prefix}-turn"

    @property
    def target_group(self) -> str:
        """Target group of the coturn tasks."""
        return f"{self.prefix}-turn"

    @property
    def cluster(self) -> str:
        """ECS cluster."""
        return self.prefix

    @property
    def sfu_family(self) -> str:
        """Task definition family of the SFU."""
        return f"{self.prefix}-sfu"

    @property
    def turn_family(self) -> str:
        """Task definition family of coturn."""
        return f"{self.prefix}-turn"

    @property
    def turn_service(self) -> str:
        """ECS service running coturn."""
        return f"{self.prefix}-turn"

    @property
    def webhook_queue(self) -> str:
        """SQS FIFO queue of webhook events (one message group per room)."""
        return f"{self.prefix}-webhooks.fifo"

    @property
    def webhook_dlq(self) -> str:
        """Dead-letter queue of webhook events given up."""
        return f"{self.prefix}-webhooks-dlq.fifo"

    @property
    def rule(self) -> str:
        """EventBridge rule running maintenance every minute."""
        return f"{self.prefix}-maintenance"
