"""What the parts of a room share: its progress, its first fatal error, its log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar

from arbiter_protocol import IceCandidate
from arbiter_rtc import PeerConnection

from ._exceptions import ArbiterError

__all__ = [
    "Progress",
    "RoomLog",
    "apply_candidate",
    "fail_future",
    "read_exception",
    "set_result",
]

T = TypeVar("T")


class RoomLog(logging.LoggerAdapter[logging.Logger]):
    """The ``arbiter_client`` logger, every line prefixed with ``room(<room> <participant>)``."""

    def __init__(self, ident: Callable[[], str]) -> None:
        super().__init__(logging.getLogger("arbiter_client"), {})
        self._ident = ident

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        """Prefix ``msg`` with the room's identity as it is now."""
        return f"room({self._ident()}) {msg}", kwargs


class Progress:
    """Shared by a room's session, producer and consumers.

    :meth:`until` waits for one thing unless the room fails first; :meth:`fail` records
    the first fatal error and wakes every such wait. ``step`` names what the join waits
    for now, for the :class:`~arbiter_client.JoinTimeout` message.
    """

    def __init__(self) -> None:
        self._failure: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._failure.add_done_callback(read_exception)
        self.step = "the join request"
        "What the join is waiting for now."

    @property
    def failed(self) -> bool:
        """True once :meth:`fail` was called."""
        return self._failure.done()

    def fail(self, exc: ArbiterError) -> bool:
        """Record ``exc`` as the room's failure; False if one was recorded already."""
        if self._failure.done():
            return False
        self._failure.set_exception(exc)
        return True

    async def until(self, waited: asyncio.Future[T]) -> T:
        """Wait for ``waited``, unless the room fails first (then raise why)."""
        await asyncio.wait((waited, self._failure), return_when=asyncio.FIRST_COMPLETED)
        if waited.done():
            return waited.result()
        exc = self._failure.exception()
        assert exc is not None
        raise exc

    async def wait_failed(self) -> None:
        """Return once the room has failed (or closed: closing fails it too)."""
        await asyncio.wait((self._failure,))


def set_result(future: asyncio.Future[T], value: T) -> None:
    """Resolve ``future`` unless it is done already."""
    if not future.done():
        future.set_result(value)


def fail_future(future: asyncio.Future[Any], exc: BaseException) -> None:
    """Fail ``future`` unless it is done already."""
    if not future.done():
        future.set_exception(exc)


def read_exception(future: asyncio.Future[Any]) -> None:
    """Read a finished future's error, so an unawaited failure is not reported as lost."""
    if not future.cancelled():
        future.exception()


async def apply_candidate(
    connection: PeerConnection, candidate: IceCandidate, log: logging.LoggerAdapter[Any]
) -> None:
    """Apply a trickled candidate from the SFU; one it refuses is logged and ignored."""
    try:
        await connection.add_candidate(candidate)
    except Exception as exc:  # a bad candidate must not break the connection
        log.warning("ignoring ICE candidate %r: %s", candidate.candidate, exc)
