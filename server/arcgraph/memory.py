"""Hand the C heap's free memory back to the operating system (glibc's `malloc_trim`).

CPython frees objects into the C allocator, and glibc keeps freed memory for reuse instead
of returning it: after the language server parses a 4.5 MB spec (~300 MB of objects) or the
worker builds that model on `meta`, tens of megabytes stay counted in the process's RSS for
good although nothing uses them. `malloc_trim(0)` returns every free page (in the middle of
the heap too); called when a piece of work is done (a parse, a probe, a streamed training
window), never per item (it walks the heap: a few milliseconds). Elsewhere (macOS, Windows,
musl) there is no such call and this does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from collections.abc import Callable

# Set with PYTHONMALLOC by `use_c_allocator`, so children (the torch worker, a training run)
# get Python's default allocator back: only the long-lived server needs the switch.
SET_BY_US = "ARCGRAPH_SET_PYTHONMALLOC"


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(None)  # the symbols the process already has: its C library's
        trim = libc.malloc_trim
    except Exception:  # no C library by that call (Windows: CDLL(None) is refused)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system. -> whether the platform can (glibc)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def use_c_allocator() -> None:
    """Re-execute this process with `PYTHONMALLOC=malloc` (Linux with glibc; once).

    The language server's Python heap after many edits of a big spec is the size it was after
    the open (tracemalloc: 32.0 vs 32.1 MB after 6 edits of a 0.5 MB model), yet its RSS stayed
    ~1.3x higher: pymalloc returns a 256 KiB arena only when every object in it is gone, and a
    few survivors of each parse pin many. With the C allocator every freed object is glibc's,
    and `malloc_trim` at idle returns its pages: RSS back to 0.99x (bench/bench_memory.py).
    The cost is ~10-20% on a parse of a 5,000-line spec. Set `ARCGRAPH_KEEP_PYMALLOC=1`, or any
    PYTHONMALLOC, to keep the process as started. Done before anything reads stdin."""
    if sys.platform != "linux" or _malloc_trim() is None:
        return
    if os.environ.get("PYTHONMALLOC") or os.environ.get("ARCGRAPH_KEEP_PYMALLOC"):
        return
    argv = list(getattr(sys, "orig_argv", []) or [sys.executable, *sys.argv])
    env = dict(os.environ, PYTHONMALLOC="malloc", **{SET_BY_US: "1"})
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, argv, env)
    except OSError:
        return  # cannot re-execute (no such interpreter path any more): run as started


def child_allocator_env(env: dict[str, str]) -> dict[str, str]:
    """`env` without the allocator switch `use_c_allocator` made for this process only."""
    if env.pop(SET_BY_US, None):
        env.pop("PYTHONMALLOC", None)
    return env
