"""The server's collector: full collections when idle; a parse's objects kept out of the young
generations, cyclic garbage among them still freed at the next idle moment."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from arcgraph.lsp.idle_gc import FULL_EVERY, IdleCollector


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def collector() -> Iterator[IdleCollector]:
    threshold = gc.get_threshold()
    c = IdleCollector(idle_s=0.2)
    c.install()
    yield c
    gc.unfreeze()
    gc.set_threshold(*threshold)


def cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


async def test_full_collection_runs_once_the_server_is_idle(collector: IdleCollector) -> None:
    assert gc.get_threshold()[2] == FULL_EVERY
    loop = asyncio.get_running_loop()
    gc.collect()
    gc.disable()  # only the idle collector may collect in this test
    try:
        garbage = cycle()
        collector.touch(loop)
        await asyncio.sleep(0.1)
        collector.touch(loop)  # activity again: the quiet period starts over (until 0.3 s)
        await asyncio.sleep(0.15)
        assert collector.collections == 0 and garbage() is not None
        await asyncio.sleep(0.35)
        assert collector.collections == 1 and garbage() is None
        await asyncio.sleep(0.3)
        assert collector.collections == 1  # nothing happened since: no second collection
    finally:
        gc.enable()


async def test_settled_objects_leave_the_young_generations_until_idle(
    collector: IdleCollector,
) -> None:
    loop = asyncio.get_running_loop()
    gc.disable()
    try:
        garbage = cycle()
        collector.settle()  # as after a parse: everything alive now is frozen
        assert gc.get_freeze_count() > 0
        gc.collect()  # an ordinary collection does not see frozen objects
        assert garbage() is not None
        collector.touch(loop)
        await asyncio.sleep(0.5)
        assert garbage() is None  # the idle collection unfroze and collected them
        assert gc.get_freeze_count() > 0  # and froze what is still alive
    finally:
        gc.enable()


def test_settle_does_nothing_outside_the_server() -> None:
    gc.unfreeze()
    IdleCollector().settle()
    assert gc.get_freeze_count() == 0
