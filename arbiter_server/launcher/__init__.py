"""Starting and stopping SFUs: the interface and its implementations."""

from .base import Launcher, LaunchError
from .subprocess import SubprocessLauncher

__all__ = ["LaunchError", "Launcher", "SubprocessLauncher"]
