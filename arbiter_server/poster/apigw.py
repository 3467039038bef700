"""API Gateway poster: replies to WebSocket connections through the Management API."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from arbiter_protocol import MAX_MESSAGE_BYTES, Message, encode_message

from .base import Poster

__all__ = ["ApiGatewayPoster"]

logger = logging.getLogger(__name__)

_RETRYABLE = frozenset(
    {"LimitExceededException", "ThrottlingException", "TooManyRequestsException"}
)


class ApiGatewayPoster(Poster):
    """``post_to_connection`` on an ``apigatewaymanagementapi`` client.

    ``client`` must be built with ``endpoint_url`` set to the stage's HTTPS URL
    (``https://{api_id}.execute-api.{region}.amazonaws.com/{stage}``). A message over
    API Gateway's 128 KB limit is refused with a logged error (the connection stays);
    ``GoneException`` means the client went away, and :meth:`post` returns False so the
    handler cleans the connection up. Throttling is retried a few times.
    """

    def __init__(
        self,
        client: Any,
        *,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._retries = retries
        self._sleep = sleep

    def post(self, connection_id: str, message: Message) -> bool:
        data = encode_message(message).encode("utf-8")
        if len(data) > MAX_MESSAGE_BYTES:
            logger.error(
                "refusing to post %s bytes of %r to %s: API Gateway's limit is %s bytes",
                len(data),
                message.action,
                connection_id,
                MAX_MESSAGE_BYTES,
            )
            return True
        for attempt in range(self._retries + 1):
            try:
                self._client.post_to_connection(ConnectionId=connection_id, Data=data)
                return True
            except ClientError as exc:
                code = _code(exc)
                if code == "GoneException":
                    return False
                if code in _RETRYABLE and attempt < self._retries:
                    self._sleep(0.05 * 2**attempt)
                    continue
                logger.error("post to %s failed: %s", connection_id, exc)
                return True
        return True  # pragma: no cover - the loop always returns

    def close_connection(self, connection_id: str) -> None:
        try:
            self._client.delete_connection(ConnectionId=connection_id)
        except ClientError as exc:
            if _code(exc) != "GoneException":
                logger.warning("closing %s failed: %s", connection_id, exc)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
