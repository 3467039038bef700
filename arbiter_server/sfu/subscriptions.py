"""Subscriptions: what one subscriber wants of each participant's tracks.

A ``subscription`` message sets, for one publisher or one of its tracks, whether video
and audio are received and at which quality. A track's wish is its own entry if the
subscriber named that track, else the publisher's entry, else the default (received, at
``high`` quality). Wishes outlive the tracks they name: a track published later (or again)
starts with what was asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from arbiter_protocol import Quality, Subscription

__all__ = ["DEFAULT_WISH", "Subscriptions", "Wish"]


@dataclass(frozen=True)
class Wish:
    """What a subscriber wants of one track."""

    video: bool = True
    "Receive it if it is a video track."
    audio: bool = True
    "Receive it if it is an audio track."
    quality: Quality = "high"
    "Which simulcast layer, for video."

    def receives(self, kind: str) -> bool:
        """Whether a track of ``kind`` (``audio`` or ``video``) is received."""
        return self.video if kind == "video" else self.audio


DEFAULT_WISH = Wish()
"Everything received, at high quality."


class Subscriptions:
    """One subscriber's wishes, by publisher id and track id (``None``: all its tracks)."""

    def __init__(self) -> None:
        self._wishes: dict[str, dict[str | None, Wish]] = {}

    def apply(self, message: Subscription) -> Wish:
        """Record ``message``; returns the wish it leaves for what it names."""
        entries = self._wishes.setdefault(message.producer_id, {})
        previous = entries.get(message.track_id) or entries.get(None) or DEFAULT_WISH
        wish = Wish(
            video=message.video,
            audio=message.audio,
            quality=message.quality or previous.quality,
        )
        if message.track_id is None:
            # a participant-wide wish replaces what was said of its tracks before, except
            # the quality of tracks it does not mention
            for track_id, old in list(entries.items()):
                if track_id is not None:
                    entries[track_id] = Wish(
                        video=wish.video,
                        audio=wish.audio,
                        quality=message.quality or old.quality,
                    )
        entries[message.track_id] = wish
        return wish

    def wish(self, publisher_id: str, track_id: str | None) -> Wish:
        """The wish for one track of ``publisher_id``."""
        entries = self._wishes.get(publisher_id)
        if not entries:
            return DEFAULT_WISH
        return entries.get(track_id) or entries.get(None) or DEFAULT_WISH

    def forget(self, publisher_id: str) -> None:
        """Drop every wish about ``publisher_id`` (it left the room)."""
        self._wishes.pop(publisher_id, None)
