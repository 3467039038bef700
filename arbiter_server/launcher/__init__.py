"""Starting and stopping SFUs: the interface and its implementations."""

from typing import TYPE_CHECKING

from .base import Launcher, LaunchError
from .subprocess import SubprocessLauncher

if TYPE_CHECKING:  # imported lazily below (needs botocore)
    from .ecs import EcsLauncher

__all__ = ["EcsLauncher", "LaunchError", "Launcher", "SubprocessLauncher"]


def __getattr__(name: str) -> object:
    # the AWS adapter needs botocore: import it only when asked for
    if name == "EcsLauncher":
        from .ecs import EcsLauncher

        return EcsLauncher
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
