"""What a subscriber asked for, per publisher and per track (``subscription`` messages)."""

from __future__ import annotations

from arbiter_protocol import Subscription
from arbiter_server.sfu.subscriptions import DEFAULT_WISH, Subscriptions, Wish


def test_default_is_everything_at_high_quality() -> None:
    wishes = Subscriptions()
    assert wishes.wish("alice", "camera") == DEFAULT_WISH == Wish(True, True, "high")
    assert DEFAULT_WISH.receives("video") and DEFAULT_WISH.receives("audio")


def test_track_wish_overrides_the_participant_wish() -> None:
    wishes = Subscriptions()
    wishes.apply(Subscription(producer_id="alice", audio=False))
    wishes.apply(Subscription(producer_id="alice", track_id="screen", quality="low"))
    assert wishes.wish("alice", "camera") == Wish(video=True, audio=False, quality="high")
    assert wishes.wish("alice", "screen") == Wish(video=True, audio=True, quality="low")
    assert not wishes.wish("alice", "microphone").receives("audio")
    assert wishes.wish("bob", "camera") == DEFAULT_WISH


def test_quality_none_keeps_the_quality_and_a_participant_wish_reaches_its_tracks() -> None:
    wishes = Subscriptions()
    wishes.apply(Subscription(producer_id="alice", quality="medium"))
    wishes.apply(Subscription(producer_id="alice", video=False))  # quality unchanged
    assert wishes.wish("alice", "camera") == Wish(video=False, audio=True, quality="medium")
    wishes.apply(Subscription(producer_id="alice", track_id="camera", quality="low"))
    # a later participant-wide message turns the camera's video back on, keeps its quality
    wishes.apply(Subscription(producer_id="alice", video=True))
    assert wishes.wish("alice", "camera") == Wish(video=True, audio=True, quality="low")
    assert wishes.wish("alice", "screen") == Wish(video=True, audio=True, quality="medium")
    wishes.forget("alice")
    assert wishes.wish("alice", "camera") == DEFAULT_WISH
