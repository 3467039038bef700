"""HeapKeeper: frozen objects are left out of collections, and a connection's cyclic
garbage is still collected once connections went away."""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import Iterator

import pytest

from arbiter_server.sfu.heap import CLEANUP_AFTER, CLEANUP_EVERY, FREEZE_EVERY, HeapKeeper


class Node:
    """An object in a reference cycle (only the collector frees it)."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the collector is the whole test process's


def test_frozen_garbage_waits_for_the_cleanup_after_connections_went_away() -> None:
    connections = [10]
    keeper = HeapKeeper(lambda: connections[0])
    node = Node()
    gone = weakref.ref(node)
    keeper.tick(0.0)  # freezes what exists, the node too
    assert gc.get_freeze_count() > 0
    del node
    gc.collect()
    assert gone() is not None  # frozen objects are not scanned: the pauses stay short
    connections[0] = 9  # a connection went away
    keeper.tick(1.0)
    keeper.tick(CLEANUP_AFTER)
    assert gone() is not None and keeper.cleanups == 0
    keeper.tick(1.0 + CLEANUP_AFTER)
    assert gone() is None and keeper.cleanups == 1
    assert gc.get_freeze_count() > 0  # frozen again


def test_new_objects_are_frozen_every_few_seconds_and_all_collected_now_and_then() -> None:
    start = time.monotonic()
    keeper = HeapKeeper(lambda: 4)  # its clock for the periodic cleanup starts now
    keeper.tick(start)
    gc.unfreeze()
    keeper.tick(start + FREEZE_EVERY / 2)
    assert gc.get_freeze_count() == 0  # not yet
    keeper.tick(start + FREEZE_EVERY)
    assert gc.get_freeze_count() > 0
    node = Node()
    gone = weakref.ref(node)
    keeper.tick(start + 2 * FREEZE_EVERY)
    del node
    assert keeper.cleanups == 0
    keeper.tick(start + CLEANUP_EVERY + 1)
    assert gone() is None and keeper.cleanups == 1


def test_without_periodic_cleanup_only_an_explicit_one_collects() -> None:
    keeper = HeapKeeper(lambda: 0, cleanup_every=None)
    node = Node()
    gone = weakref.ref(node)
    keeper.tick(0.0)
    del node
    keeper.tick(10 * CLEANUP_EVERY)
    assert gone() is not None
    assert keeper.cleanup() >= 1 and gone() is None
