"""The handlers' services on Lambda, built from the environment the deployer sets.

Imported lazily by :func:`arbiter_server.lambdas.services.from_environment` on a cold
start; needs boto3 (in the Lambda runtime) and nothing the SFU needs.

Environment (all set by ``arbiter-server deploy``):

``ARBITER_TABLE``, ``ARBITER_PUBLIC_URL``, ``ARBITER_SIGNALING_URL``,
``ARBITER_MANAGEMENT_URL`` (the WebSocket stage's HTTPS URL), ``ARBITER_SECRET_PARAM`` and
``ARBITER_TURN_SECRET_PARAM`` (SSM SecureString names), ``ARBITER_TURN_HOST``,
``ARBITER_CLUSTER``, ``ARBITER_SFU_TASK_FAMILY``, ``ARBITER_SUBNETS``,
``ARBITER_SFU_SECURITY_GROUPS`` (comma separated), ``ARBITER_POOL_SIZE``,
``ARBITER_MAX_ROOMS``, ``ARBITER_MAX_PARTICIPANTS``, ``ARBITER_OPEN_ROOMS``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from arbiter_protocol import IceServer

from ..lambdas.services import Services
from ..launcher.ecs import EcsLauncher
from ..poster.apigw import ApiGatewayPoster
from ..settings import Settings
from ..store.dynamodb import DynamoDBStore
from .awsclient import AwsClient

__all__ = [
    "TURN_PORT",
    "TURN_TTL",
    "ice_servers_for",
    "services_from_environment",
    "turn_credentials",
]

TURN_PORT = 3478
"STUN/TURN port of the NLB listener."

TURN_TTL = 6 * 3600
"Seconds TURN credentials stay valid."


def turn_credentials(secret: str, user: str, ttl: int, now: float) -> tuple[str, str]:
    """coturn ``use-auth-secret`` credentials: ``(<expiry>:<user>, base64(HMAC-SHA1))``."""
    username = f"{int(now) + ttl}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers_for(
    turn_host: str, secret: str, clock: Callable[[], float] = time.time
) -> Callable[[str], list[IceServer]]:
    """The ``Services.ice_servers`` callable: STUN plus TURN (UDP and TCP) via the NLB."""

    def ice_servers(user: str) -> list[IceServer]:
        if not turn_host:
            return []
        username, credential = turn_credentials(secret, user, TURN_TTL, clock())
        return [
            IceServer(urls=[f"stun:{turn_host}:{TURN_PORT}"]),
            IceServer(
                urls=[
                    f"turn:{turn_host}:{TURN_PORT}?transport=udp",
                    f"turn:{turn_host}:{TURN_PORT}?transport=tcp",
                ],
                username=username,
                credential=credential,
            ),
        ]

    return ice_servers


def services_from_environment(env: Mapping[str, str], aws: AwsClient | None = None) -> Services:
    """Store, poster, launcher and settings for a Lambda of a deployment."""
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
        empty_room_grace=float(env.get("ARBITER_EMPTY_ROOM_GRACE", "60")),
        sfu_start_timeout=float(env.get("ARBITER_SFU_START_TIMEOUT", "180")),
    )
    # an emulator (AWS_ENDPOINT_URL) serves the Management API too; AWS serves it per stage
    management = (
        env.get("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI")
        or env.get("AWS_ENDPOINT_URL")
        or env["ARBITER_MANAGEMENT_URL"]
    )
    turn_host = env.get("ARBITER_TURN_HOST", "")
    ice = ice_servers_for(turn_host, turn_secret)
    launcher = EcsLauncher(
        aws.client("ecs"),
        cluster=env["ARBITER_CLUSTER"],
        task_definition=env["ARBITER_SFU_TASK_FAMILY"],
        subnets=[s for s in env.get("ARBITER_SUBNETS", "").split(",") if s],
        security_groups=[s for s in env.get("ARBITER_SFU_SECURITY_GROUPS", "").split(",") if s],
        signaling_url=settings.signaling_url,
        ice_servers=[{"urls": [f"stun:{turn_host}:{TURN_PORT}"]}] if turn_host else [],
        max_tasks=int(env.get("ARBITER_MAX_ROOMS", "20")),
    )
    return Services(
        store=DynamoDBStore(aws.client("dynamodb"), env["ARBITER_TABLE"]),
        poster=ApiGatewayPoster(aws.client("apigatewaymanagementapi", endpoint_url=management)),
        launcher=launcher,
        settings=settings,
        ice_servers=ice,
    )
