"""Error codes shared by the HTTP Room API, the signaling handlers, the SFU and clients.

Every error that crosses a process boundary carries one of these codes, so a client can
react to the code and show the message.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ErrorCode", "ProtocolError"]


class ErrorCode(StrEnum):
    """Machine-readable reason carried by every ``error`` message and HTTP error body."""

    MALFORMED_JSON = "malformed_json"
    "The message or body is not valid JSON (or not a JSON object)."
    INVALID_MESSAGE = "invalid_message"
    "A field is missing, has the wrong type, or is out of range."
    UNKNOWN_ACTION = "unknown_action"
    "The ``action`` names no message this server handles."
    UNSUPPORTED_VERSION = "unsupported_version"
    "The message's protocol version ``v`` is not the server's."
    MESSAGE_TOO_LARGE = "message_too_large"
    "The message is larger than the transport allows."
    NOT_IDENTIFIED = "not_identified"
    "The connection sent something other than ``identify`` before identifying."
    ALREADY_IDENTIFIED = "already_identified"
    "The connection sent ``identify`` twice."
    UNAUTHORIZED = "unauthorized"
    "The token or refresh credential is malformed, forged, expired, spent or for another room."
    SESSION_EXPIRED = "session_expired"
    "The session reached its lifetime; join again for a new one."
    FORBIDDEN = "forbidden"
    "The token is valid but does not allow this action."
    ROOM_NOT_FOUND = "room_not_found"
    "The room does not exist."
    ROOM_EXISTS = "room_exists"
    "A room with that id exists already."
    ROOM_FULL = "room_full"
    "The room has as many participants as it may have."
    SFU_UNAVAILABLE = "sfu_unavailable"
    "The room's SFU is not (yet) connected to signaling."
    PARTICIPANT_NOT_FOUND = "participant_not_found"
    "The message names a participant who is not connected to this room."
    RATE_LIMITED = "rate_limited"
    "The sender (connection, participant or address) sent more than it may; retry later."
    NOT_FOUND = "not_found"
    "The HTTP route does not exist."
    METHOD_NOT_ALLOWED = "method_not_allowed"
    "The HTTP route exists but not with this method."
    STORE_UNAVAILABLE = "store_unavailable"
    "The server's state store cannot serve the request now (locked or full); try again later."
    INTERNAL_ERROR = "internal_error"
    "The server failed; the message says no more than is safe."


class ProtocolError(ValueError):
    """Raised when a message cannot be parsed or validated.

    ``code`` is an :class:`ErrorCode`; ``action`` is the action of the offending message
    when it could be read.
    """

    def __init__(self, code: ErrorCode, message: str, action: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.action = action
