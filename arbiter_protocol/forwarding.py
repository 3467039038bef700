"""Messages of what the SFU forwards to a subscriber, and which layers a publisher encodes.

``subscription`` travels on the data channel from a client to its SFU (pagination, tile
sizes); ``layers`` from the SFU to a simulcast publisher. These classes join
:data:`~.messages.ACTIONS` like the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal, get_args

from .messages import ID_FIELD, Message, register_messages

__all__ = ["QUALITIES", "Layers", "Quality", "Subscription"]

Quality = Literal["low", "medium", "high"]
"""A subscriber's wish for one video track: the lowest, middle or highest simulcast layer
(a track published in one layer has only that one)."""
QUALITIES: tuple[Quality, ...] = get_args(Quality)
"Every quality, lowest first."


@dataclass
class Subscription(Message):
    """What a subscriber receives of one participant, or of one of its tracks (data channel).

    For stream pagination and tile sizes: the client sends it on its producer data
    channel. Without ``track_id`` it applies to every track of ``producer_id``: the SFU
    stops forwarding the kinds set to ``False`` (the consumer connection stays up) and
    resumes them when set to ``True`` again, asking for a key frame so video comes back at
    once. With ``track_id`` it applies to that track only, and only the flag of the
    track's kind counts. ``quality`` picks the simulcast layer of video (``None``: leave it
    as it is; ``high`` until asked otherwise); the SFU sends a lower one while the
    subscriber's bandwidth is short. It applies to tracks published later too.
    """

    action: ClassVar[str] = "subscription"
    producer_id: str = field(metadata=ID_FIELD)
    "The participant whose media this is about."
    video: bool = True
    "Whether to receive its video."
    audio: bool = True
    "Whether to receive its audio."
    track_id: str | None = field(default=None, metadata=ID_FIELD)
    "One track of that participant (its ``TrackInfo.id``); ``None``: all its tracks."
    quality: Quality | None = None
    "``low``, ``medium`` or ``high`` for its video; ``None``: unchanged."


@dataclass
class Layers(Message):
    """The SFU tells a simulcast publisher which layers of one of its tracks anybody
    receives (data channel, SFU to client).

    The publisher may stop encoding the layers not listed (the web SDK makes their
    encodings inactive) and encodes them again when a later message lists them. The
    lowest layer is always listed: a subscriber falls back to it at once.
    """

    action: ClassVar[str] = "layers"
    track_id: str = field(metadata=ID_FIELD)
    "The publisher's track (its ``TrackInfo.id``)."
    active: list[str] = field(default_factory=list, metadata={"max_items": 8})
    "The rids (``a=rid``) of the layers to encode, lowest first."


register_messages(Subscription, Layers)
