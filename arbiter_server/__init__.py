"""Arbiter's server half: Room API and signaling handlers, SFU, adapters and deployer."""

import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]


def __getattr__(name: str) -> object:
    # the version is arbiter_protocol's, read on demand: importing this package stays
    # standard library only (the coturn image runs arbiter_server.turn_config without it)
    if name == "__version__":
        from arbiter_protocol import __version__

        return __version__
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
