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
from ..webhooks import NullSink, WebhookSink, WebhookTarget

__all__ = ["Services", "configure", "get_services", "is_configured"]


def _no_ice_servers(participant_id: str) -> list[IceServer]:
    return []


@dataclass
class Services:
    """Everything at the edge of the handlers: store, poster, launcher, settings, webhooks."""

    store: Store
    poster: Poster
    launcher: Launcher
    settings: Settings
    ice_servers: Callable[[str], list[IceServer]] = field(default=_no_ice_servers)
    "ICE servers (with fresh TURN credentials) for a participant or SFU id."
    clock: Callable[[], float] = field(default=time.time)
    webhooks: WebhookSink = field(default_factory=NullSink)
    "Where events for the app's webhook go (never waits for the app)."
    webhook_target: WebhookTarget | None = None
    "The webhook URL, read from the store and the settings (None: webhooks are off)."


_services: Services | None = None


def configure(services: Services | None) -> None:
    """Install the services the handlers of this process use (None to reset).

    The composition roots call it: :mod:`arbiter_server.local` for ``dev`` and
    :mod:`arbiter_server.aws` on a Lambda cold start.
    """
    global _services
    _services = services


def is_configured() -> bool:
    """Whether :func:`configure` has installed services in this process."""
    return _services is not None


def get_services() -> Services:
    """The configured services; raises ``RuntimeError`` if no composition root ran."""
    if _services is None:
        raise RuntimeError(
            "arbiter handlers are not configured: run them through arbiter_server.local "
            "or arbiter_server.aws, or call arbiter_server.lambdas.configure()"
        )
    return _services
