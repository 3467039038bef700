"""Scheduled handler (EventBridge every minute on AWS, a timer locally).

Tells rooms about participants whose socket dropped and who did not come back within the
reconnect grace; stops SFUs of rooms left empty past the grace period (and SFUs that died or
never identified); starts a new SFU for rooms that still have participants; refills the pool
of ready rooms.
"""

from __future__ import annotations

import logging
from typing import Any

from .rooms import refill_pool, restart_lost_sfus, stop_idle_sfus
from .services import get_services
from .signaling import expire_away

__all__ = ["handler"]

logger = logging.getLogger(__name__)


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Run one maintenance pass; returns what it did."""
    services = get_services()
    gone = expire_away(services)
    stopped = stop_idle_sfus(services)
    restarted = restart_lost_sfus(services)
    created = refill_pool(services)
    if gone or stopped or restarted or created:
        logger.info(
            "maintenance: left %s; stopped SFUs of %s; restarted SFUs of %s; new pooled rooms %s",
            gone,
            stopped,
            restarted,
            created,
        )
    return {"left": gone, "stopped": stopped, "restarted": restarted, "created": created}
