"""The one exception the server SDK raises for a refused or failed request."""

from __future__ import annotations

__all__ = ["ApiError"]


class ApiError(Exception):
    """The server API refused the request, or could not be reached.

    ``code`` is the protocol's :class:`~arbiter_protocol.ErrorCode` value
    (``unauthorized`` for a wrong API key, ``room_not_found``, ``participant_not_found``,
    ``rate_limited`` ...) or ``network_error``; ``status_code`` the HTTP status, if any.
    """

    def __init__(self, code: str, message: str, status_code: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        "What went wrong, for programs."
        self.message = message
        "What went wrong, for people."
        self.status_code = status_code
        "The HTTP status (None when nothing answered)."
