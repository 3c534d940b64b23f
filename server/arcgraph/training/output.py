"""What the trainer writes can fail (read-only file system, full disk, a file where a folder
should be): each failure becomes one OutputError naming the path and the cause in words."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from arcgraph.training.errors import OutputError

_REASONS = {
    errno.ENOSPC: "no space left on the device; free some space (then continue with --resume)",
    errno.EDQUOT: "the disk quota is exhausted; free some space (then continue with --resume)",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


def _file_in_the_way(path: Path) -> Path | None:
    """The nearest existing ancestor of `path` (or `path` itself) when it is not a folder."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def _not_a_folder(path: Path, blocker: Path) -> str:
    return "it is a file, not a folder" if blocker == path else f"{blocker} is a file, not a folder"


def write_error(path: str | Path, err: OSError) -> OutputError:
    """`err` (raised while writing `path`) as an OutputError with the cause in words."""
    path = Path(path)
    if err.errno in (errno.ENOTDIR, errno.EEXIST):
        blocker = _file_in_the_way(path)
        if blocker is not None:
            return OutputError(str(path), _not_a_folder(path, blocker))
    reason = _REASONS.get(err.errno or 0) or err.strerror or str(err)
    return OutputError(str(path), reason)


def check_out_dir(out: Path) -> None:
    """Before any data is read: --out must be (or be creatable as) a writable folder."""
    blocker = _file_in_the_way(out)
    if blocker is not None:
        raise OutputError(str(out), _not_a_folder(out, blocker) + "; choose a folder for --out")
    existing = next((p for p in (out, *out.parents) if p.exists()), None)
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        code = errno.EROFS if _read_only(existing) else errno.EACCES
        raise OutputError(str(out), _REASONS[code] + "; choose another --out")


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return False
