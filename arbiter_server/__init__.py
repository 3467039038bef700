"""Arbiter's server half: Room API and signaling handlers, SFU, adapters and deployer."""

import logging

from arbiter_protocol import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
