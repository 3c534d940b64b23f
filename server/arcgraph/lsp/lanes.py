"""Background lanes: one-thread executors that stay quiet during shutdown.

Work can still be handed over while the server shuts down (a check that finishes, a catalog
that arrives). A closed lane answers it with a cancelled future, which every caller already
treats as "nothing to do", instead of raising `RuntimeError: cannot schedule new futures`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Lane:
    def __init__(self, name: str) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._closed = False
        self._lock = threading.Lock()
        self._waiting = 0
        self._running = 0

    @property
    def waiting(self) -> int:
        """Jobs handed over and not started yet (what a burst of edits has queued)."""
        return self._waiting

    @property
    def running(self) -> int:
        """Jobs started and not ended (0 or 1: one thread)."""
        return self._running

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        with self._lock:
            if not self._closed:
                self._waiting += 1
                return self._pool.submit(self._started, fn, args)
        dropped: Future[T] = Future()
        dropped.cancel()
        return dropped

    def _started(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self._lock:
            self._waiting -= 1
            self._running += 1
        try:
            return fn(*args)
        finally:
            with self._lock:
                self._running -= 1

    def shutdown(self, wait: bool = False, cancel_futures: bool = True) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)
