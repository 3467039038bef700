"""The local gateway that stands in for API Gateway."""

from .limits import SocketLimits
from .server import LocalGateway
from .stats import GatewayStats

__all__ = ["GatewayStats", "LocalGateway", "SocketLimits"]
