"""Arbiter's wire protocol: every signaling message, HTTP body and error code.

Standard library only, so the Lambda handlers, the SFU and every client share it.
"""

from .errors import ErrorCode, ProtocolError
from .http import (
    CreateRoomRequest,
    ErrorBody,
    IceServer,
    JoinRequest,
    JoinResponse,
    RoomInfo,
    decode_body,
    encode_body,
)
from .messages import (
    ACTIONS,
    MAX_FRAME_BYTES,
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    DataMessage,
    Error,
    Handshake,
    IceCandidate,
    Identified,
    Identify,
    Leave,
    Message,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLeft,
    SessionDescription,
    SfuReady,
    encode_message,
    error_message,
    is_valid_id,
    message_from_dict,
    parse_message,
)

__version__ = "0.1.0"

__all__ = [
    "ACTIONS",
    "MAX_FRAME_BYTES",
    "MAX_MESSAGE_BYTES",
    "PROTOCOL_VERSION",
    "CreateRoomRequest",
    "DataMessage",
    "Error",
    "ErrorBody",
    "ErrorCode",
    "Handshake",
    "IceCandidate",
    "IceServer",
    "Identified",
    "Identify",
    "JoinRequest",
    "JoinResponse",
    "Leave",
    "Message",
    "ParticipantInfo",
    "ParticipantJoined",
    "ParticipantLeft",
    "ProtocolError",
    "RoomInfo",
    "SessionDescription",
    "SfuReady",
    "__version__",
    "decode_body",
    "encode_body",
    "encode_message",
    "error_message",
    "is_valid_id",
    "message_from_dict",
    "parse_message",
]
