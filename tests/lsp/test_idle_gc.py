"""The server's collector: full collections when idle; a parse's objects kept out of the young
generations, cyclic garbage among them still freed at the next idle moment."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

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


class FullCollections:
    """Full collections as they happen (gc.callbacks), with the loop time each one started:
    the tests wait for this state, not for a guessed duration."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.times: list[float] = []
        self.done = asyncio.Event()

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self.times.append(self.loop.time())
        else:
            self.done.set()

    async def first(self) -> float:
        await asyncio.wait_for(self.done.wait(), timeout=30)
        return self.times[0]


@pytest_asyncio.fixture
async def full() -> AsyncIterator[FullCollections]:
    """Only the idle collector may collect while it is watched: automatic collections off."""
    gc.collect()
    gc.disable()
    watch = FullCollections(asyncio.get_running_loop())
    gc.callbacks.append(watch)
    yield watch
    gc.callbacks.remove(watch)
    gc.enable()


async def at(loop: asyncio.AbstractEventLoop, when: float) -> None:
    """Resume once the loop has run every callback due before `when` (loop order, not speed)."""
    reached = loop.create_future()
    loop.call_at(when, reached.set_result, None)
    await reached


async def test_full_collection_runs_once_the_server_is_idle(
    collector: IdleCollector, full: FullCollections
) -> None:
    assert gc.get_threshold()[2] == FULL_EVERY
    loop = asyncio.get_running_loop()
    assert full.loop is loop
    garbage = cycle()
    collector.touch(loop)
    seen: dict[str, object] = {}

    def activity_again() -> None:  # due before the first quiet period ends
        seen["before"] = (collector.collections, garbage() is not None)
        collector.touch(loop)
        seen["touched"] = collector.last

    loop.call_at(collector.last + collector.idle_s / 2, activity_again)
    collected_at = await full.first()
    assert seen["before"] == (0, True)
    assert (collector.collections, garbage()) == (1, None)
    # the quiet period started over at the second message
    assert isinstance(touched := seen["touched"], float)
    assert collected_at - touched >= collector.idle_s
    # nothing happened since: a second collection would have come one quiet period later
    await at(loop, collected_at + 2 * collector.idle_s)
    assert (collector.collections, len(full.times)) == (1, 1)


async def test_settled_objects_leave_the_young_generations_until_idle(
    collector: IdleCollector, full: FullCollections
) -> None:
    loop = asyncio.get_running_loop()
    garbage = cycle()
    collector.settle()  # as after a parse: everything alive now is frozen
    assert gc.get_freeze_count() > 0
    gc.collect(1)  # an ordinary (young) collection does not see frozen objects
    assert garbage() is not None
    collector.touch(loop)
    await full.first()
    assert garbage() is None  # the idle collection unfroze and collected them
    assert gc.get_freeze_count() > 0  # and froze what is still alive


def test_settle_does_nothing_outside_the_server() -> None:
    gc.unfreeze()
    IdleCollector().settle()
    assert gc.get_freeze_count() == 0
