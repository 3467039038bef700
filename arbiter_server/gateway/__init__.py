"""The local gateway that stands in for API Gateway."""

from .server import LocalGateway

__all__ = ["LocalGateway"]
