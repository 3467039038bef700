"""Roles: what a participant may do (its grants) and who acts on it.

Shared by the messages, join grants and moderation; :mod:`.messages` re-exports them.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["ALL_GRANTS", "BY_APP", "DEFAULT_GRANTS", "MAX_METADATA", "Grant", "MediaKind"]

Grant = Literal["publish", "subscribe", "data", "screen", "moderator"]
"""One permission in a join token: send media, receive media, send data messages, share a
screen, moderate the room (remove, mute, end it for all, admit from its lobby)."""
ALL_GRANTS: tuple[Grant, ...] = ("publish", "subscribe", "data", "screen", "moderator")
"Every grant there is (only a grant minted by the app's backend can hold ``moderator``)."
DEFAULT_GRANTS: tuple[Grant, ...] = ("publish", "subscribe", "data", "screen")
"What a plain join of an open room gets, unless the joiner asked for fewer."

MAX_METADATA = 1024
"Largest participant metadata, in UTF-8 bytes (the app's own data, e.g. JSON)."

BY_APP = "app"
"""``by`` of a moderation done by the app's backend through the server API (a moderator
client's is its participant id, which never equals this)."""

MediaKind = Literal["audio", "video"]
"The kind of a media track."
