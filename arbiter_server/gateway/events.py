"""Build API Gateway's own event shapes from local requests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = ["http_event", "websocket_event"]


def http_event(
    route_key: str,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    path_parameters: dict[str, str],
    body: str | None,
    source_ip: str,
) -> dict[str, Any]:
    """An HTTP API payload format 2.0 event."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "accountId": "local",
            "apiId": "local",
            "domainName": headers.get("Host", "localhost"),
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("User-Agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body is not None:
        event["body"] = body
    return event


def websocket_event(
    route_key: str,
    connection_id: str,
    domain: str,
    body: str | None = None,
    headers: Mapping[str, str] | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """A WebSocket API event (CONNECT, DISCONNECT or MESSAGE)."""
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE")
    ctx: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "connectionId": connection_id,
        "domainName": domain,
        "stage": "local",
        "apiId": "local",
        "requestId": uuid.uuid4().hex,
        "requestTimeEpoch": int(time.time() * 1000),
        "identity": {"sourceIp": source_ip},
    }
    if event_type == "MESSAGE":
        ctx["messageId"] = uuid.uuid4().hex
    event: dict[str, Any] = {"requestContext": ctx, "isBase64Encoded": False}
    if body is not None:
        event["body"] = body
    if headers is not None:
        event["headers"] = dict(headers)
    return event
