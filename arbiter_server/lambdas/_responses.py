"""Building API Gateway HTTP responses (payload 2.0)."""

from __future__ import annotations

from typing import Any

from arbiter_protocol import ErrorBody, ErrorCode, encode_body

HttpResponse = dict[str, Any]


def json_response(status: int, body: Any) -> HttpResponse:
    """A JSON response from a protocol body dataclass."""
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": encode_body(body),
    }


def error_response(status: int, code: ErrorCode, message: str) -> HttpResponse:
    """The uniform error response ``{"error": {"code", "message"}}``."""
    return json_response(status, ErrorBody(code=code.value, message=message))


STATUS_FOR_CODE: dict[ErrorCode, int] = {
    ErrorCode.MALFORMED_JSON: 400,
    ErrorCode.INVALID_MESSAGE: 400,
    ErrorCode.MESSAGE_TOO_LARGE: 413,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.SESSION_EXPIRED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.ROOM_NOT_FOUND: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.PARTICIPANT_NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.ROOM_EXISTS: 409,
    ErrorCode.ROOM_FULL: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.SFU_UNAVAILABLE: 503,
    ErrorCode.STORE_UNAVAILABLE: 503,
    ErrorCode.INTERNAL_ERROR: 500,
}
