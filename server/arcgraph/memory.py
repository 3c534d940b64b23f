"""Hand the C heap's free memory back to the operating system (glibc's `malloc_trim`).

CPython frees objects into the C allocator, and glibc keeps freed memory for reuse instead
of returning it: after the language server parses a 4.5 MB spec (~300 MB of objects) or the
worker builds that model on `meta`, tens of megabytes stay counted in the process's RSS for
good although nothing uses them. `malloc_trim(0)` returns every free page (in the middle of
the heap too); called when the work is done, not in a hot path (it walks the heap: a few
milliseconds). Elsewhere (macOS, Windows, musl) there is no such call and this does nothing.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(None)  # the symbols the process already has: its C library's
        trim = libc.malloc_trim
    except Exception:  # no C library by that call (Windows: CDLL(None) is refused)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system. -> whether the platform can (glibc)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
