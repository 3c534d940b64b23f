"""The server's scheduler: the one way its features run work later, elsewhere or meanwhile.

pygls runs the handlers on the event loop; checks and probes run on lanes (threads) and hand
their results back to the loop. Everything that crosses goes through the server's
`Scheduler` (as ruff's server hands all its work to one scheduler), so that

- every callback is guarded: one that fails is logged, never raised into the loop;
- work handed back from a thread counts as activity (the idle collection follows it);
- a task started on the loop is kept until it ends: the loop holds tasks only weakly, and an
  unkept task can be garbage-collected mid-flight;
- a lane gets only the newest job of a kind (`Newest`): a burst of edits queues one job, and
  the older ones (with the whole analysis each holds) are freed at once;
- what is still to come is counted (`pending`): callbacks queued or timed, lane results not
  yet handed back, tasks. A count drops only after its callback ran on the loop, so whatever
  that callback published was sent before the count reads zero (`arcgraph/status`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_KINDS = ("soon", "timers", "handed_back", "lane_results")  # what `Scheduler.pending` counts


class Scheduler:
    """Runs callbacks on the server's event loop, from the loop itself or from lane threads."""

    def __init__(
        self, on_activity: Callable[[asyncio.AbstractEventLoop | None], None] | None = None
    ) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tasks: set[asyncio.Task[Any]] = set()  # kept until done (see the module doc)
        self._on_activity = on_activity
        self._pending: Counter[str] = Counter()  # by kind, see `pending`
        self._count_lock = threading.Lock()  # lane threads count too

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """The loop to schedule on (known once the server runs: at `initialize`)."""
        self.loop = loop

    @property
    def running(self) -> bool:
        """Whether there is a loop to schedule on (no: before `initialize`, after exit)."""
        return self.loop is not None and not self.loop.is_closed()

    def now(self) -> float | None:
        """The loop's clock, or None without a loop."""
        return self.loop.time() if self.loop is not None and self.running else None

    def pending(self) -> dict[str, int]:
        """What is still to come: `soon` callbacks, `timers` (`later`), `handed_back`
        callbacks from threads, `lane_results` (lane jobs whose callback has not run yet) and
        running `tasks`; all zero when nothing scheduled here is left to run."""
        with self._count_lock:
            counts = {kind: self._pending[kind] for kind in _KINDS}
        counts["tasks"] = sum(1 for task in self.tasks if not task.done())
        return counts

    def _count(self, kind: str, delta: int) -> None:
        with self._count_lock:
            self._pending[kind] += delta

    def _run(self, kind: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """A counted callback: it runs, then it no longer counts (see the module doc)."""
        try:
            self.guarded(fn, args)
        finally:
            self._count(kind, -1)

    def soon(self, fn: Callable[..., Any], *args: Any) -> bool:
        """`fn(*args)` at the loop's next turn (call on the loop); False without a loop."""
        if self.loop is None or not self.running:
            return False
        self._count("soon", 1)
        self.loop.call_soon(self._run, "soon", fn, args)
        return True

    def later(self, delay: float, fn: Callable[..., Any], *args: Any) -> bool:
        """`fn(*args)` after `delay` seconds (call on the loop); False without a loop."""
        if self.loop is None or not self.running:
            return False
        self._count("timers", 1)
        self.loop.call_later(max(delay, 0.0), self._run, "timers", fn, args)
        return True

    def from_thread(self, fn: Callable[..., Any], *args: Any) -> None:
        """`fn(*args)` on the loop, called from any thread: all publishing happens there."""
        self._count("handed_back", 1)
        self._hand_back("handed_back", fn, args)

    def when_done(self, future: Future[Any], fn: Callable[..., Any], *args: Any) -> None:
        """`fn(*args, future)` on the loop once a lane's `future` is done."""
        self._count("lane_results", 1)
        future.add_done_callback(lambda f: self._hand_back("lane_results", fn, (*args, f)))

    def _hand_back(self, kind: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        loop = self.loop
        try:
            if loop is None or not self.running:
                raise RuntimeError("no loop")
            loop.call_soon_threadsafe(self._handed_back, kind, fn, args)
        except RuntimeError:  # the loop closed meanwhile: session over, nothing will run
            self._count(kind, -1)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        """Run `coro` as a task on the loop, kept until it ends; None (closed) without a loop."""
        if self.loop is None or not self.running:
            coro.close()
            return None
        task = self.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def _handed_back(self, kind: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """Background work handed back counts as activity: the idle collection (and return
        of freed memory) follows the last probe or check, not only the last message."""
        self._run(kind, fn, args)
        if self._on_activity is not None:
            self._on_activity(self.loop)

    @staticmethod
    def guarded(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """`fn(*args)`, logging (not raising) what it raises: the loop must go on."""
        try:
            fn(*args)
        except Exception:
            log.exception("a background callback failed")


class Newest(Generic[T]):
    """A one-place queue that keeps only the newest item put, for one taker at a time.

    `put` replaces the waiting item (the older one is dropped at once, with whatever it
    references) and says whether a taker must be started: none is when one was started and
    has not taken yet, as that one will take the newest item. Thread-safe: items are put on
    the event loop and taken on a lane."""

    def __init__(self) -> None:
        self._item: T | None = None
        self._taker = False  # a taker was started and has not taken yet
        self._lock = threading.Lock()

    def put(self, item: T) -> bool:
        """Wait with `item` (instead of any older one); True: start a taker for it."""
        with self._lock:
            self._item = item
            start, self._taker = not self._taker, True
            return start

    def take(self) -> T | None:
        """The newest item (None: dropped meanwhile); a later `put` needs a new taker."""
        with self._lock:
            item, self._item = self._item, None
            self._taker = False
            return item

    def clear(self) -> None:
        """Drop the waiting item (stale now); a started taker then takes nothing."""
        with self._lock:
            self._item = None

    @property
    def waiting(self) -> T | None:
        """The item waiting to be taken, if any."""
        return self._item
