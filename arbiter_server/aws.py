"""The AWS composition root: the Lambda functions' entry points and the services behind them.

:mod:`arbiter_server.local` wires the handlers to SQLite, the in-process poster and
subprocess SFUs; this module wires the same handlers to DynamoDB, the API Gateway
Management API and ECS, from the environment ``arbiter-server deploy`` sets on every
function. The deployed functions' handlers are :func:`room_api_handler`,
:func:`signaling_handler`, :func:`maintenance_handler` and
:func:`webhook_delivery_handler` (SQS): on a cold start the first call
reads the secrets from SSM, builds the services and installs them with
:func:`~arbiter_server.lambdas.configure`, then every call goes to the handler of
:mod:`arbiter_server.lambdas`.

Environment (all set by the deployer):

``ARBITER_TABLE``, ``ARBITER_PUBLIC_URL``, ``ARBITER_SIGNALING_URL``,
``ARBITER_MANAGEMENT_URL`` (the WebSocket stage's HTTPS URL), ``ARBITER_SECRET_PARAM``,
``ARBITER_TURN_SECRET_PARAM`` and ``ARBITER_API_KEY_PARAM`` (SSM parameter names),
``ARBITER_TURN_HOST``, ``ARBITER_CLUSTER``, ``ARBITER_SFU_TASK_FAMILY``,
``ARBITER_SUBNETS``, ``ARBITER_SFU_SECURITY_GROUPS`` (comma separated),
``ARBITER_POOL_SIZE``, ``ARBITER_MAX_ROOMS``, ``ARBITER_MAX_PARTICIPANTS``,
``ARBITER_OPEN_ROOMS``, ``ARBITER_PRIVATE_ROOMS`` (default ``true``),
``ARBITER_WEBHOOK_URL`` (optional), ``ARBITER_WEBHOOK_QUEUE_URL`` (the SQS FIFO queue
events go to), ``ARBITER_LOG_LEVEL`` (of the functions and the SFUs they start).

Lambda's Python runtime leaves the root logger at WARNING, which would drop the
handlers' INFO lines; the cold start sets it to ``ARBITER_LOG_LEVEL`` (default ``info``).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from typing import Any

from .infra.awsclient import AwsClient
from .lambdas import (
    Services,
    configure,
    is_configured,
    maintenance,
    room_api,
    signaling,
    webhooks,
)
from .lambdas.page import find_web_dir
from .launcher.ecs import EcsLauncher
from .poster.apigw import ApiGatewayPoster
from .settings import Settings
from .store.dynamodb import DynamoDBStore
from .turn import TURN_PORT, turn_ice_servers
from .webhooks import SqsWebhooks, WebhookTarget

__all__ = [
    "maintenance_handler",
    "room_api_handler",
    "services_from_environment",
    "signaling_handler",
    "webhook_delivery_handler",
]


def services_from_environment(env: Mapping[str, str], aws: AwsClient | None = None) -> Services:
    """Store, poster, launcher and settings for a Lambda function of a deployment."""
    aws = aws or AwsClient(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"))
    secret = aws.get_parameter(env["ARBITER_SECRET_PARAM"])
    if not secret:
        raise RuntimeError(f"SSM parameter {env['ARBITER_SECRET_PARAM']} is missing")
    turn_param = env.get("ARBITER_TURN_SECRET_PARAM")
    turn_secret = (aws.get_parameter(turn_param) if turn_param else None) or ""
    key_param = env.get("ARBITER_API_KEY_PARAM")
    api_key = aws.get_parameter(key_param) if key_param else None
    settings = Settings(
        public_url=env["ARBITER_PUBLIC_URL"],
        signaling_url=env["ARBITER_SIGNALING_URL"],
        secret=secret,
        pool_size=int(env.get("ARBITER_POOL_SIZE", "1")),
        max_participants=int(env.get("ARBITER_MAX_PARTICIPANTS", "16")),
        max_sfus=int(env.get("ARBITER_MAX_ROOMS", "20")),
        open_room_creation=env.get("ARBITER_OPEN_ROOMS", "false") == "true",
        api_key=api_key,
        private_rooms=env.get("ARBITER_PRIVATE_ROOMS", "true") == "true",
        webhook_url=env.get("ARBITER_WEBHOOK_URL") or None,
        # each SQS receive tries twice; the queue hands a refused event again later
        webhook_attempts=2,
        webhook_backoff=1.0,
        empty_room_grace=float(env.get("ARBITER_EMPTY_ROOM_GRACE", "60")),
        sfu_start_timeout=float(env.get("ARBITER_SFU_START_TIMEOUT", "180")),
        web_dir=find_web_dir(),
    )
    # an emulator (AWS_ENDPOINT_URL) serves the Management API too; AWS serves it per stage
    management = (
        env.get("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI")
        or env.get("AWS_ENDPOINT_URL")
        or env["ARBITER_MANAGEMENT_URL"]
    )
    turn_host = env.get("ARBITER_TURN_HOST", "")
    launcher = EcsLauncher(
        aws.client("ecs"),
        cluster=env["ARBITER_CLUSTER"],
        task_definition=env["ARBITER_SFU_TASK_FAMILY"],
        subnets=[s for s in env.get("ARBITER_SUBNETS", "").split(",") if s],
        security_groups=[s for s in env.get("ARBITER_SFU_SECURITY_GROUPS", "").split(",") if s],
        signaling_url=settings.signaling_url,
        ice_servers=[{"urls": [f"stun:{turn_host}:{TURN_PORT}"]}] if turn_host else [],
        max_tasks=int(env.get("ARBITER_MAX_ROOMS", "20")),
        log_level=env.get("ARBITER_LOG_LEVEL", "info"),
    )
    store = DynamoDBStore(aws.client("dynamodb"), env["ARBITER_TABLE"])
    target = WebhookTarget(store, settings.webhook_url)
    services = Services(
        store=store,
        poster=ApiGatewayPoster(aws.client("apigatewaymanagementapi", endpoint_url=management)),
        launcher=launcher,
        settings=settings,
        webhook_target=target,
    )
    queue = env.get("ARBITER_WEBHOOK_QUEUE_URL")
    if queue:
        services.webhooks = SqsWebhooks(aws.client("sqs"), queue, target)
    if turn_host:
        services.ice_servers = functools.partial(
            turn_ice_servers,
            turn_host,
            TURN_PORT,
            turn_secret,
            ttl=settings.turn_ttl,
            transports=("udp", "tcp"),
        )
    return services


def _cold_start() -> None:
    """Set the log level, build and install the services, once per execution environment."""
    if not is_configured():
        level = os.environ.get("ARBITER_LOG_LEVEL", "info").upper()
        logging.getLogger().setLevel(getattr(logging, level, logging.INFO))
        configure(services_from_environment(os.environ))


def room_api_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """The Room API function (HTTP API payload 2.0)."""
    _cold_start()
    return room_api.handler(event, context)


def signaling_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """The signaling function (WebSocket API)."""
    _cold_start()
    return signaling.handler(event, context)


def maintenance_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """The maintenance function (EventBridge schedule)."""
    _cold_start()
    return maintenance.handler(event, context)


def webhook_delivery_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """The webhook delivery function (SQS FIFO event source, batch item failures)."""
    _cold_start()
    return webhooks.handler(event, context)
