"""Scheduled handler (EventBridge every minute on AWS, a timer locally).

Ends participants whose session is over and tells rooms about participants whose socket
dropped and who did not come back within the reconnect grace; stops SFUs nobody uses (and
SFUs that died or never came); starts a new SFU for rooms that still have participants;
deletes rooms idle past their TTL; refills the pool of ready rooms; lets the store forget
what expired and repair its counts.
"""

from __future__ import annotations

import logging
from typing import Any

from .rooms import expire_rooms, refill_pool, restart_lost_sfus, stop_idle_sfus
from .services import get_services
from .signaling import expire_connections

__all__ = ["handler"]

logger = logging.getLogger(__name__)


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Run one maintenance pass; returns what it did."""
    services = get_services()
    gone, ended = expire_connections(services)
    stopped = stop_idle_sfus(services)
    restarted = restart_lost_sfus(services)
    expired = expire_rooms(services)
    created = refill_pool(services)
    services.store.sweep(services.clock())
    done = {
        "left": gone,
        "ended": ended,
        "stopped": stopped,
        "restarted": restarted,
        "expired": expired,
        "created": created,
    }
    if any(done.values()):
        logger.info("maintenance: %s", ", ".join(f"{k} {v}" for k, v in done.items() if v))
    return done
