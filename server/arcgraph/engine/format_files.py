"""`arcgraph format`: format spec files in place (or say which would change), never losing one.

A file is written to a temporary file beside it and renamed over it, so a crash or a full
disk leaves the old file or the new one, never half of each; the file's mode is kept.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from arcgraph.engine.files import read_regular
from arcgraph.engine.formatting import format_spec
from arcgraph.engine.kinds import SpecKind, detect_kind
from arcgraph.engine.source import decode, parse_yaml


@dataclass(frozen=True, slots=True)
class Outcome:
    """What formatting one file did: 'changed', 'unchanged', 'skipped' (not a spec) or
    'refused' (not formattable: `why` says so), 'error' (not read or written)."""

    path: Path
    status: str
    why: str = ""


def format_file(path: Path, tab_size: int = 2, check: bool = False) -> Outcome:
    """Format one file (with `check`: only say whether it would change)."""
    try:
        data = read_regular(path)
    except OSError as err:
        return Outcome(path, "error", f"cannot read it: {err.strerror or err}")
    if data is None:
        return Outcome(path, "skipped", "not a regular file")
    text, problem = decode(data, str(path))
    if text is None:
        return Outcome(path, "refused", problem.message if problem else "not UTF-8 text")
    kind = detect_kind(path, parse_yaml(text).root, text)
    if kind is SpecKind.NONE:
        return Outcome(path, "skipped", "not a model or trainer spec")
    out = format_spec(text, kind, tab_size)
    if out is None:
        return Outcome(
            path,
            "refused",
            "not formatted: it has a YAML error, an anchor, alias or tag, or is too large"
            " (`arcgraph check` says which)",
        )
    if out == text and not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data:
        return Outcome(path, "unchanged")
    if check:
        return Outcome(path, "changed")
    try:
        write_atomic(path, out)
    except OSError as err:
        return Outcome(path, "error", f"cannot write it: {err.strerror or err}")
    return Outcome(path, "changed")


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` by `text` through a temporary file in the same folder and a rename.
    A read-only file is refused (as editors do), not replaced behind the user's back."""
    st = path.stat()
    if not st.st_mode & 0o200 or not os.access(path, os.W_OK):  # root may write any file
        raise PermissionError(13, "the file is read-only", str(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, st.st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
