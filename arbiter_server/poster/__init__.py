"""Sending messages to signaling connections: the interface and its implementations."""

from .base import Poster
from .local import LocalPoster

__all__ = ["LocalPoster", "Poster"]
