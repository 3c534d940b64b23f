"""Full garbage collections while the server is idle, not in the middle of a request.

With the torch catalog and a big document's outline loaded the server holds some 100k
objects, and a full (generation 2) collection walks all of them: 35-50 ms, measured in the
server during bench/bench_lsp.py. CPython starts one whenever enough young objects have
survived, which means: during whichever request happens to allocate at that moment (a
completion list of 288 items allocates thousands of objects to serialise), and that request
is late by the whole pause. Here automatic full collections are made ten times rarer (a
safety net for long sessions without a pause), and a full collection runs once the server
has received nothing for IDLE_S seconds after some activity.

Young collections have the same problem on a smaller scale: a parse of the 5,000-line spec
builds ~100k objects (acyclic: reference counting frees them), and the next generation-0 and
generation-1 collections walk them all again (3-13 ms each, measured). `settle` therefore
freezes what is alive right after a parse (`gc.freeze`: moved out of the collector's view,
still freed by reference counting), and the idle collection unfreezes, collects everything
and freezes again, so cyclic garbage among frozen objects lives at most until the next idle
moment.

After that collection the C heap's free memory goes back to the system (`arcgraph.memory`):
the last parse's tree, freed, would otherwise stay in the process's RSS.
"""

from __future__ import annotations

import asyncio
import gc

from arcgraph.memory import release_free_memory

IDLE_S = 1.0
FULL_EVERY = 100  # generation-1 collections between automatic full ones (CPython: 10)


class IdleCollector:
    def __init__(self, idle_s: float = IDLE_S) -> None:
        self.idle_s = idle_s
        self.last = 0.0  # loop time of the last message
        self.dirty = False  # a message arrived since the last idle collection
        self.collections = 0
        self.installed = False
        self._timer: asyncio.TimerHandle | None = None

    def install(self) -> None:
        """Only in the server process (`arcgraph lsp`): a library user's collector is theirs."""
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, FULL_EVERY)
        self.installed = True

    def settle(self) -> None:
        """A parse just built a document's tree: keep it out of the young collections."""
        if self.installed:
            gc.freeze()

    def touch(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """A message arrived (called on the event loop; no allocation beyond a float)."""
        if loop is None:
            return
        self.last = loop.time()
        self.dirty = True
        if self._timer is None:
            self._timer = loop.call_later(self.idle_s, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        if not self.dirty:
            return
        quiet = loop.time() - self.last
        if quiet < self.idle_s:
            self._timer = loop.call_later(self.idle_s - quiet, self._tick, loop)
            return
        self.dirty = False
        gc.unfreeze()
        gc.collect()
        release_free_memory()
        gc.freeze()
        self.collections += 1
