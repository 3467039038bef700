"""Every exception the Arbiter client raises has one root, :class:`ArbiterError`.

The tree::

    * ArbiterError
      + RoomNotFound        the room does not exist (HTTP 404 / ``room_not_found``)
      + Unauthorized        the token or request was refused (``unauthorized``, ``forbidden``)
      + RoomFull            the room has as many participants as it may have
      + JoinTimeout         ``Room.join`` did not finish within ``timeout`` (also a TimeoutError)
      + ConnectionLost      the server could not be reached, or a connection failed or dropped
      + ProtocolMismatch    the server sent something this client cannot read
      + ServerError         any other error the server reported (``.code`` says which)
      + RoomClosed          the room was used after it was left or disconnected (a RuntimeError)
      + NotPublishing       muting or replacing a kind of track the room does not publish
                            (a RuntimeError)
      + MediaSourceError    a file, stream or device to publish cannot be opened
        + DeviceNotFound    a camera or microphone is missing or cannot be opened
      + AdmissionDenied     a moderator refused to let this client in from the lobby
      + MutedByModerator    unmuting a track a moderator holds muted (a RuntimeError)

Every exception carries ``code`` (the protocol's :class:`~arbiter_protocol.ErrorCode` value,
when the server sent one) and ``status_code`` (the HTTP status, when there was one).
"""

from __future__ import annotations

from arbiter_protocol import ErrorCode

__all__ = [
    "AdmissionDenied",
    "ArbiterError",
    "ConnectionLost",
    "DeviceNotFound",
    "JoinTimeout",
    "MediaSourceError",
    "MutedByModerator",
    "NotPublishing",
    "ProtocolMismatch",
    "RoomClosed",
    "RoomFull",
    "RoomNotFound",
    "ServerError",
    "Unauthorized",
    "error_from_code",
]


class ArbiterError(Exception):
    """Base class of every error raised by :mod:`arbiter_client`."""

    def __init__(
        self, message: str, *, code: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        "What went wrong, for people."
        self.code = code
        "The server's error code (an :class:`~arbiter_protocol.ErrorCode` value), if any."
        self.status_code = status_code
        "The HTTP status of the failed request, if the error came from the Room API."


class RoomNotFound(ArbiterError):
    """Raised by ``Room.join`` when the room does not exist."""


class Unauthorized(ArbiterError):
    """Raised when the server refuses the join token or the request (401/403)."""


class RoomFull(ArbiterError):
    """Raised by ``Room.join`` when the room cannot take another participant."""


class JoinTimeout(ArbiterError, TimeoutError):
    """Raised by ``Room.join`` when joining took longer than its ``timeout``."""


class ConnectionLost(ArbiterError):
    """Raised when the server cannot be reached or a connection to it fails or drops."""


class ProtocolMismatch(ArbiterError):
    """Raised when the server sends a message or body this client cannot read."""


class ServerError(ArbiterError):
    """Raised for any other error the server reports; ``code`` says which."""


class RoomClosed(ArbiterError, RuntimeError):
    """Raised when a room is used after it was left or disconnected."""


class NotPublishing(ArbiterError, RuntimeError):
    """Raised when muting or replacing audio or video that the room does not publish.

    Join with a source of that kind (``publish="test"`` has both) to use it.
    """


class MediaSourceError(ArbiterError):
    """Raised when a file, stream or device to publish cannot be opened (``publish="file:PATH"``
    naming a missing or unreadable file, :class:`FileSource`)."""


class DeviceNotFound(MediaSourceError):
    """Raised when a camera or microphone does not exist or cannot be opened."""


class AdmissionDenied(ArbiterError):
    """Raised by ``Room.join`` when a moderator refused to admit this client from the lobby
    (``by`` says who: a moderator's participant id, or ``app``)."""

    def __init__(self, message: str, *, by: str | None = None) -> None:
        super().__init__(message, code="denied")
        self.by = by
        "Who refused: a moderator's participant id, or ``app``."


class MutedByModerator(ArbiterError, RuntimeError):
    """Raised when unmuting audio or video that a moderator holds muted."""


_BY_CODE: dict[str, type[ArbiterError]] = {
    ErrorCode.ROOM_NOT_FOUND.value: RoomNotFound,
    ErrorCode.UNAUTHORIZED.value: Unauthorized,
    ErrorCode.FORBIDDEN.value: Unauthorized,
    ErrorCode.ROOM_FULL.value: RoomFull,
    ErrorCode.UNSUPPORTED_VERSION.value: ProtocolMismatch,
}


def error_from_code(
    code: str | None, message: str, *, status_code: int | None = None
) -> ArbiterError:
    """The exception for a server error ``code`` (from an HTTP body or an ``error`` message)."""
    cls = _BY_CODE.get(code) if code is not None else None
    if cls is None:
        if status_code == 404:
            cls = RoomNotFound
        elif status_code in (401, 403):
            cls = Unauthorized
        else:
            cls = ServerError
    return cls(message, code=code, status_code=status_code)
