"""The server's scheduler: the one way its features run work later, elsewhere or meanwhile.

pygls runs the handlers on the event loop; checks and probes run on lanes (threads) and hand
their results back to the loop. Everything that crosses goes through the server's
`Scheduler` (as ruff's server hands all its work to one scheduler), so that

- every callback is guarded: one that fails is logged, never raised into the loop;
- work handed back from a thread counts as activity (the idle collection follows it);
- a task started on the loop is kept until it ends: the loop holds tasks only weakly, and an
  unkept task can be garbage-collected mid-flight;
- a lane gets only the newest job of a kind (`Newest`): a burst of edits queues one job, and
  the older ones (with the whole analysis each holds) are freed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Scheduler:
    """Runs callbacks on the server's event loop, from the loop itself or from lane threads."""

    def __init__(
        self, on_activity: Callable[[asyncio.AbstractEventLoop | None], None] | None = None
    ) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tasks: set[asyncio.Task[Any]] = set()  # kept until done (see the module doc)
        self._on_activity = on_activity

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

    def soon(self, fn: Callable[..., Any], *args: Any) -> bool:
        """`fn(*args)` at the loop's next turn (call on the loop); False without a loop."""
        if self.loop is None or not self.running:
            return False
        self.loop.call_soon(self.guarded, fn, args)
        return True

    def later(self, delay: float, fn: Callable[..., Any], *args: Any) -> bool:
        """`fn(*args)` after `delay` seconds (call on the loop); False without a loop."""
        if self.loop is None or not self.running:
            return False
        self.loop.call_later(max(delay, 0.0), self.guarded, fn, args)
        return True

    def from_thread(self, fn: Callable[..., Any], *args: Any) -> None:
        """`fn(*args)` on the loop, called from any thread: all publishing happens there."""
        loop = self.loop
        if loop is None or not self.running:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: session over
            loop.call_soon_threadsafe(self._handed_back, fn, args)

    def when_done(self, future: Future[Any], fn: Callable[..., Any], *args: Any) -> None:
        """`fn(*args, future)` on the loop once a lane's `future` is done."""
        future.add_done_callback(lambda f: self.from_thread(fn, *args, f))

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        """Run `coro` as a task on the loop, kept until it ends; None (closed) without a loop."""
        if self.loop is None or not self.running:
            coro.close()
            return None
        task = self.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def _handed_back(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """Background work handed back counts as activity: the idle collection (and return
        of freed memory) follows the last probe or check, not only the last message."""
        self.guarded(fn, args)
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
