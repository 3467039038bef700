"""Arbiter's server half: Room API and signaling handlers, SFU, adapters and deployer."""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
