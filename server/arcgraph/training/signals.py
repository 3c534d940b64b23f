"""Graceful Ctrl-C / SIGTERM: the first signal asks the loop to stop after the current step
(it then saves a checkpoint and exits non-zero); a second one aborts at once."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulStop:
    """Context manager; `requested` holds the first signal number (checked once per step).

    Signal handlers only exist in the main thread: elsewhere (a language server worker
    thread) this is a no-op and the caller stops training its own way.
    """

    def __init__(self, message: bool = True) -> None:
        self.requested: int | None = None
        self._previous: dict[int, Any] = {}
        self._message = message

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested is not None:
            raise KeyboardInterrupt(f"aborted by a second {signal.Signals(signum).name}")
        self.requested = signum
        if self._message:
            sys.stderr.write(
                f"\n{signal.Signals(signum).name}: finishing the current step and saving a "
                "checkpoint (send it again to abort now)\n"
            )
            sys.stderr.flush()

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
