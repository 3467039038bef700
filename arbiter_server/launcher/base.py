"""The launcher interface: start and stop one SFU per room."""

from __future__ import annotations

import abc

__all__ = ["LaunchError", "Launcher", "sfu_command"]


def sfu_command(python: str, room_id: str, signaling_url: str, log_level: str) -> list[str]:
    """The command line of one room's SFU (its credential goes in the environment)."""
    return [
        python,
        "-m",
        "arbiter_server.sfu",
        "--room",
        room_id,
        "--signaling",
        signaling_url,
        "--log-level",
        log_level,
    ]


class LaunchError(RuntimeError):
    """The SFU could not be started."""


class Launcher(abc.ABC):
    """Starts SFUs; implementations must be safe to call from several threads."""

    @abc.abstractmethod
    def start(self, room_id: str, sfu_token: str) -> str:
        """Start an SFU for ``room_id`` that identifies with ``sfu_token``; return a handle."""

    @abc.abstractmethod
    def stop(self, handle: str) -> None:
        """Stop the SFU (idempotent)."""

    @abc.abstractmethod
    def is_alive(self, handle: str) -> bool:
        """Whether the SFU behind ``handle`` is still running."""

    def stop_all(self) -> None:  # noqa: B027 - optional
        """Stop every SFU this launcher started (local shutdown)."""
