"""Lambda handlers: ``handler(event, context)`` functions taking API Gateway's event shapes.

- :mod:`.room_api` - the HTTP Room API (payload 2.0);
- :mod:`.signaling` - the WebSocket API;
- :mod:`.maintenance` - the scheduled clean-up and pool refill.
"""

from .services import Services, configure, get_services, is_configured

__all__ = ["Services", "configure", "get_services", "is_configured"]
