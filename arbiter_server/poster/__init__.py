"""Sending messages to signaling connections: the interface and its implementations."""

from typing import TYPE_CHECKING

from .base import Poster
from .local import LocalPoster

if TYPE_CHECKING:  # imported lazily below (needs botocore)
    from .apigw import ApiGatewayPoster

__all__ = ["ApiGatewayPoster", "LocalPoster", "Poster"]


def __getattr__(name: str) -> object:
    # the AWS adapter needs botocore: import it only when asked for
    if name == "ApiGatewayPoster":
        from .apigw import ApiGatewayPoster

        return ApiGatewayPoster
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
