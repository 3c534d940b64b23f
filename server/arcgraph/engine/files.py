"""Reading spec files from disk: regular files only, never blocking.

A FIFO named `x.model.yaml` blocks a read until something writes to it (for ever, in a
checker), a device may never end, and a folder cannot be read at all. The checker, the
registry and the language server read through `read_regular`, which refuses such a path
without reading it and says what it is, so the caller can tell the user why it was skipped.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISDIR, "folder"),
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)
# Opening a FIFO without a writer returns at once with O_NONBLOCK (it blocks without it).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_OPEN_FLAGS |= getattr(os, "O_BINARY", 0)


class NotRegularFile(OSError):
    """The path is a FIFO, socket, device or folder: it is skipped, never read."""

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        super().__init__(f"{os.fspath(path)}: not a regular file ({kind}); skipped")
        self.path = os.fspath(path)
        self.kind = kind

    @property
    def reason(self) -> str:
        """The words for a diagnostic on the file itself."""
        return f"not a regular file ({self.kind}); skipped"


def file_kind(mode: int) -> str:
    """What a stat mode is, in words ('regular file' for a plain file)."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "regular file" if stat.S_ISREG(mode) else "special file"


def not_regular(path: str | os.PathLike[str]) -> str | None:
    """What `path` is when it exists and is not a regular file (symlinks followed), else None."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    return None if stat.S_ISREG(mode) else file_kind(mode)


def read_regular(path: str | os.PathLike[str], max_bytes: int | None = None) -> bytes | None:
    """The bytes of a regular file; None when it is larger than `max_bytes`.

    Raises NotRegularFile for anything else (looked at before opening, and again on the
    opened descriptor, so a FIFO swapped in between cannot block), OSError when unreadable.
    """
    kind = not_regular(path)
    if kind is not None:
        raise NotRegularFile(path, kind)
    fd = os.open(path, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(path, file_kind(st.st_mode))
        if max_bytes is not None and st.st_size > max_bytes:
            return None
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            return fh.read()
    finally:
        if fd >= 0:
            os.close(fd)


def read_regular_text(path: str | os.PathLike[str], max_bytes: int | None = None) -> str | None:
    """`read_regular` decoded as UTF-8 (undecodable bytes replaced): for indexing by name."""
    data = read_regular(Path(path), max_bytes)
    return None if data is None else data.decode("utf-8", errors="replace")
