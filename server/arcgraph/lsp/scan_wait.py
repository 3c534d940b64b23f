"""Requests that read the whole workspace wait for its first scan.

Until the background scan of the workspace has ended, the registry knows only the files
opened or reported changed: find references of a model right after the server started would
miss the trainers on disk, go to definition of a `model_ref` would find no model. Such
requests await the first scan (on the event loop, which goes on serving everything else),
at most `SCAN_WAIT_S`; then they answer with what is known, and say so in the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

# Long enough for the scan of a large workspace after `workspace/configuration` (itself
# bounded at 10 s); short enough that a stuck scan never hangs a request for good.
SCAN_WAIT_S = 15.0


class ScanWait:
    def __init__(
        self,
        expected: Callable[[], bool],
        tell: Callable[[str], None],
        bound_s: float = SCAN_WAIT_S,
    ) -> None:
        self.expected = expected  # whether a scan is coming (the workspace has roots)
        self.tell = tell  # how a request answered early is reported (the client's log)
        self.bound_s = bound_s
        self.waiters = 0  # requests waiting now (`arcgraph/status`)
        self._done = asyncio.Event()

    def scanned(self) -> None:
        """The first scan's result is in the engine (called on the event loop)."""
        self._done.set()

    async def wait(self, what: str) -> bool:
        """Until the first scan is in, at most `bound_s`; False when the bound ran out."""
        if self._done.is_set() or not self.expected():
            return True
        self.waiters += 1
        try:
            await asyncio.wait_for(self._done.wait(), self.bound_s)
        except asyncio.TimeoutError:
            message = (
                f"arcgraph: {what} answered before the workspace scan ended (waited "
                f"{self.bound_s:g} s): files not opened yet may be missing from the answer"
            )
            log.warning(message)
            self.tell(message)
            return False
        finally:
            self.waiters -= 1
        return True
