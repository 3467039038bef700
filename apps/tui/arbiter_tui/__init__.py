"""Arbiter in the terminal: a Textual meeting app built on :mod:`arbiter_client`.

Run ``arbiter-tui URL --name NAME`` (or ``python -m arbiter_tui``).
"""

from .app import CHAT_TOPIC, ArbiterTUI, grid_columns
from .cli import main

__all__ = ["CHAT_TOPIC", "ArbiterTUI", "grid_columns", "main"]
