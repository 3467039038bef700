"""The launcher interface: start and stop one SFU per room."""

from __future__ import annotations

import abc

__all__ = ["DEFAULT_DATA_RATE", "LaunchError", "Launcher", "sfu_command"]


DEFAULT_DATA_RATE = (200, 10.0)
"Data-channel messages per participant per window the SFU allows unless told otherwise."


def sfu_command(
    python: str,
    room_id: str,
    signaling_url: str,
    log_level: str,
    data_rate: tuple[int, float] = DEFAULT_DATA_RATE,
) -> list[str]:
    """The command line of one room's SFU (its bootstrap code goes in the environment)."""
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
        "--data-rate-limit",
        str(data_rate[0]),
        "--data-rate-window",
        f"{data_rate[1]:g}",
    ]


class LaunchError(RuntimeError):
    """The SFU could not be started."""


class Launcher(abc.ABC):
    """Starts SFUs; implementations must be safe to call from several threads."""

    @abc.abstractmethod
    def start(self, room_id: str, sfu_token: str) -> str:
        """Start an SFU for ``room_id``; return a handle.

        ``sfu_token`` is the SFU's bootstrap code: it admits this SFU once, for a few
        minutes; the SFU then holds a refresh credential that never leaves its process.
        """

    @abc.abstractmethod
    def stop(self, handle: str) -> None:
        """Stop the SFU (idempotent)."""

    @abc.abstractmethod
    def is_alive(self, handle: str) -> bool:
        """Whether the SFU behind ``handle`` is still running."""

    def stop_all(self) -> None:  # noqa: B027 - optional
        """Stop every SFU this launcher started (local shutdown)."""
