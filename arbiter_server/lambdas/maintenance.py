"""Scheduled handler (EventBridge every minute on AWS, a timer locally).

Stops SFUs of rooms left empty past the grace period (and SFUs that died or never
identified), then refills the pool of ready rooms.
"""

from __future__ import annotations

import logging
from typing import Any

from .rooms import refill_pool, stop_idle_sfus
from .services import get_services

__all__ = ["handler"]

logger = logging.getLogger(__name__)


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Run one maintenance pass; returns what it did."""
    services = get_services()
    stopped = stop_idle_sfus(services)
    created = refill_pool(services)
    if stopped or created:
        logger.info("maintenance: stopped SFUs of %s, new pooled rooms %s", stopped, created)
    return {"stopped": stopped, "created": created}
