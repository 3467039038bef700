"""The adapters and settings the handlers use, configured once per process."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from arbiter_protocol import IceServer

from ..launcher import Launcher
from ..poster import Poster
from ..settings import Settings
from ..store import Store

__all__ = ["Services", "configure", "from_environment", "get_services"]


def _no_ice_servers(participant_id: str) -> list[IceServer]:
    return []


@dataclass
class Services:
    """Everything at the edge of the handlers: store, poster, launcher, settings."""

    store: Store
    poster: Poster
    launcher: Launcher
    settings: Settings
    ice_servers: Callable[[str], list[IceServer]] = field(default=_no_ice_servers)
    "ICE servers (with fresh TURN credentials) for a participant or SFU id."
    clock: Callable[[], float] = field(default=time.time)


_services: Services | None = None


def configure(services: Services | None) -> None:
    """Install the services the handlers of this process use (None to reset)."""
    global _services
    _services = services


def get_services() -> Services:
    """The configured services, else those of :func:`from_environment` (on Lambda)."""
    global _services
    if _services is None:
        _services = from_environment()
    return _services


def from_environment() -> Services:
    """Services from the ``ARBITER_*`` variables the AWS deployer sets on its Lambdas.

    Imported lazily so the local stack never loads the AWS adapters; raises if the
    process was neither configured nor deployed.
    """
    import os

    if "ARBITER_TABLE" not in os.environ:
        raise RuntimeError("arbiter handlers are not configured: call services.configure()")
    from ..infra.runtime import services_from_environment

    return services_from_environment(os.environ)
