"""One process trains in a run directory at a time.

`<run_dir>/run.lock` is locked (flock, exclusive) for the whole run and holds the owner's PID
for the message a second process gets. The kernel drops the lock when the process ends, killed
or not, so a crash never leaves a run that cannot be resumed. The file itself stays (removing
it would let a third process lock a new file while a second still holds the old one).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from types import TracebackType

from arcgraph.training.errors import RunDirBusyError
from arcgraph.training.output import write_error

LOCK_FILE = "run.lock"


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - no fcntl on Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        os.lseek(fd, 0, os.SEEK_SET)
        return int(os.read(fd, 32).decode("ascii").strip())
    return None


class RunLock:
    """`with RunLock(run_dir):` trains; entering raises RunDirBusyError when another process
    holds it and OutputError when the lock file cannot be created (read-only, full disk)."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as err:
            raise write_error(self.path, err) from None
        if not _try_lock(fd):
            pid = _holder(fd)
            os.close(fd)
            raise RunDirBusyError(str(self.path.parent), pid)
        # The PID only names the owner in another process's message: a full disk that cannot
        # take it must not stop the run (the file is emptied first, never naming a stale PID).
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
