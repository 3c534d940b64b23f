"""Durable checkpoint files: nothing a crash can leave half-written.

Every file goes to a temp file in the same directory, is flushed and fsynced, renamed over the
target with os.replace (atomic on POSIX), and the directory is fsynced so the rename itself
survives a power cut. Loading uses torch.load(weights_only=True): a checkpoint is data, never
code.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

from arcgraph.training.errors import ResumeError
from arcgraph.training.output import write_error

CHECKPOINT_DIR = "checkpoints"
# The layout of a checkpoint's dict (Loop.state_dict); a resume refuses any other.
CHECKPOINT_FORMAT = 1
_NAME = re.compile(r"^epoch-(\d{4,})(?:-batch-(\d{5,}))?\.pt$")
TEMP_SUFFIX = ".tmp"
# atomic_write's temp files: ".<target name>.<8 random characters from mkstemp>.tmp"
_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[IO[bytes]], object], *, durable: bool = True) -> None:
    """Readers see the old file or the new one, never a mix. `durable=False` skips the fsyncs,
    for files rebuilt from a checkpoint anyway (metrics.csv): still atomic, not crash-proof."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    except OSError as err:
        raise write_error(path, err) from err
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; run files are ordinary, shareable files
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError):  # a full disk, mostly: the old file is still there
            raise write_error(path, err) from err
        raise
    if durable:
        try:
            _fsync_dir(path.parent)
        except OSError as err:
            raise write_error(path, err) from err


def atomic_write_text(path: Path, text: str, *, durable: bool = True) -> None:
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")), durable=durable)


def save(obj: Any, path: Path) -> None:
    # Serialised first: a write that fails (full disk) then fails in atomic_write as an
    # OSError, not inside torch's zip writer as a RuntimeError.
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write(path, lambda fh: fh.write(buf.getbuffer()))


def remove_temp_files(run_dir: Path) -> list[Path]:
    """Delete the temp files a killed process left mid-write (in the run directory and its
    checkpoints/). Only for a caller holding the run's lock: no one else is writing them."""
    removed = []
    for directory in (Path(run_dir), Path(run_dir) / CHECKPOINT_DIR):
        if not directory.is_dir():
            continue
        for entry in directory.iterdir():
            if _TEMP.match(entry.name) and entry.is_file():
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
                    removed.append(entry)
    return removed


def load(path: Path, map_location: str | torch.device | None = "cpu") -> Any:
    return torch.load(path, map_location=map_location, weights_only=True)


def checkpoint_name(epoch: int, batch: int = 0) -> str:
    """`epoch-0003.pt` after epoch 3; `epoch-0004-batch-00017.pt` after 17 batches of epoch 4."""
    if batch:
        return f"epoch-{epoch:04d}-batch-{batch:05d}.pt"
    return f"epoch-{epoch:04d}.pt"


def progress_of(name: str) -> tuple[int, int] | None:
    """A checkpoint file name -> (completed epochs, batches done in the next epoch)."""
    m = _NAME.match(name)
    if not m:
        return None
    epoch, batch = int(m.group(1)), int(m.group(2) or 0)
    return (epoch - 1, batch) if batch else (epoch, 0)


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoints of a run, latest progress first (temp files are never listed)."""
    directory = Path(run_dir) / CHECKPOINT_DIR
    if not directory.is_dir():
        return []
    found = [(progress_of(p.name), p) for p in directory.iterdir()]
    return [p for key, p in sorted((f for f in found if f[0]), reverse=True)]


def check_format(path: Path, state: Any) -> None:
    """A checkpoint of another layout (another arcgraph version) is refused, not misread."""
    fmt = state.get("format") if isinstance(state, dict) else None
    if type(fmt) is int and fmt == CHECKPOINT_FORMAT:
        return
    has = "no checkpoint format" if fmt is None else f"checkpoint format {fmt!r}"
    raise ResumeError(
        f"{path} has {has}; this arcgraph reads format {CHECKPOINT_FORMAT} (resume it with "
        "the arcgraph version that wrote it, or start a new run)"
    )


def latest_checkpoint(run_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that loads completely; a damaged file is skipped, one of another
    format refused (falling back to an older one would silently drop progress)."""
    for path in list_checkpoints(run_dir):
        try:
            state = load(path)
        except Exception:  # a truncated/corrupt file: fall back to an older one
            continue
        check_format(path, state)
        if "model" in state and "epoch" in state:
            return path, state
    return None


class BackgroundWriter:
    """Writes checkpoints on a worker thread, so the fsyncs overlap the next epoch.

    The state is serialised synchronously (a consistent snapshot), only the durable write runs
    in the background. At most one write is in flight: `submit` first waits for the previous
    one, `flush` waits for the last (the loop flushes before it reports the run's end or an
    interrupt). A crash before a write finishes leaves the previous checkpoint, still complete.
    """

    def __init__(self) -> None:
        import threading

        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _run(self, path: Path, data: bytes) -> None:
        try:
            atomic_write(path, lambda fh: fh.write(data))
        except BaseException as err:  # re-raised in the training thread
            self._error = err

    def submit(self, obj: Any, path: Path) -> None:
        import io
        import threading

        buf = io.BytesIO()
        torch.save(obj, buf)
        self.flush()
        self._thread = threading.Thread(
            target=self._run,
            args=(Path(path), buf.getvalue()),
            name="arcgraph-checkpoint",
            daemon=True,
        )
        self._thread.start()

    def flush(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            err, self._error = self._error, None
            raise err
