"""The event registry is the one list of events: names, classes and ``Room.on``'s typing."""

from __future__ import annotations

import typing
from typing import get_args

from arbiter_client import EVENTS, Event, EventType, Room


def test_every_event_is_registered_once_under_its_name() -> None:
    assert set(get_args(EventType)) == set(EVENTS)
    assert set(get_args(Event)) == set(EVENTS.values())
    assert all(cls.type == name for name, cls in EVENTS.items())


def test_room_on_has_one_typed_overload_per_event() -> None:
    typed: dict[str, object] = {}
    for overload in typing.get_overloads(Room.on):
        hints = typing.get_type_hints(overload)
        (name,) = get_args(hints["event"])
        (argument,), _ = get_args(hints["callback"])
        assert name not in typed, f"two overloads for {name}"
        typed[name] = argument
    assert typed == dict(EVENTS)


def test_room_on_documents_every_event() -> None:
    doc = Room.on.__doc__ or ""
    for name, cls in EVENTS.items():
        assert f"``{name}``" in doc and f":class:`{cls.__name__}`" in doc
