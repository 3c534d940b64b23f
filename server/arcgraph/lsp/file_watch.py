"""The server's own file watching, for clients that cannot watch files for it.

A client that offers no dynamic `workspace/didChangeWatchedFiles` registration (Neovim on
Linux, Neovim 0.7) never tells the server that a YAML file changed outside the editor (git
checkout, another tool), so a model created on disk stayed "not found". For those clients
the server polls the YAML files the registry indexes and feeds what changed into the same
path as `didChangeWatchedFiles` (registry update, rechecks).

Why polling and not inotify (watchdog): a recursive inotify watch adds one kernel watch per
folder of the workspace, `.venv` and `node_modules` included (torch alone has thousands), and
needs native code per platform; the poll walks only what the registry walks (its excluded and
hidden folders skipped: `.git`, `.venv`, `node_modules`, `__pycache__`...), stats each YAML
file, works with the pure-Python bundle everywhere, and keeps its own cost bounded: the
interval grows with the time a walk takes (at most `MAX_SHARE` of one core).

Debounced: once a poll sees changes, the folders are polled again every `SETTLE_S` until
nothing more changed (a checkout writes many files), then the changes go out as one batch.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from lsprotocol import types

from arcgraph.engine.kinds import YAML_SUFFIXES
from arcgraph.engine.registry import walked_into

log = logging.getLogger(__name__)

POLL_S = 1.0  # seconds between polls of a small workspace
SETTLE_S = 0.2  # seconds between the polls of a burst of changes
MAX_SETTLE_POLLS = 10  # a burst still going on after this many polls is sent as it is
MAX_SHARE = 0.05  # a walk may take at most this share of the time

Snapshot = dict[str, tuple[int, int]]  # path -> (mtime_ns, size)
# what to watch, asked before each poll: the roots and the folder names to skip
Folders = Callable[[], tuple[Iterable[Path], Iterable[str]]]


class FileWatcher:
    """Polls the YAML files below `folders()` on a daemon thread; `on_changes` gets each
    batch (on that thread)."""

    def __init__(
        self,
        folders: Folders,
        on_changes: Callable[[list[types.FileEvent]], None],
        interval: float = POLL_S,
    ) -> None:
        self._folders = folders
        self._on_changes = on_changes
        self._base_interval = interval
        self.interval = interval
        self._stop = threading.Event()
        self.ready = threading.Event()  # set once the first snapshot is taken
        self._thread = threading.Thread(target=self._run, name="arcgraph-file-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=1)

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def snapshot(self) -> Snapshot:
        """Every regular YAML file with its mtime and size; the walk's cost sets the next
        interval."""
        started = time.monotonic()
        roots, exclude = self._folders()
        snap = yaml_files(roots, frozenset(exclude))
        took = time.monotonic() - started
        self.interval = max(self._base_interval, took / MAX_SHARE)
        return snap

    def _run(self) -> None:
        try:
            known = self.snapshot()
            self.ready.set()
            while not self._stop.wait(self.interval):
                now = self.snapshot()
                if now == known:
                    continue
                for _ in range(MAX_SETTLE_POLLS):  # debounce: until a poll sees no more
                    if self._stop.wait(SETTLE_S):
                        return
                    later = self.snapshot()
                    if later == now:
                        break
                    now = later
                events = changes(known, now)
                known = now
                if events:
                    self._on_changes(events)
        except Exception:
            log.exception("watching the workspace files failed; changes on disk go unnoticed")


def yaml_files(roots: Iterable[Path], exclude: frozenset[str]) -> Snapshot:
    """The .yaml/.yml regular files below `roots` as the registry walks them (excluded and
    hidden folders skipped, folder links not followed), with mtime and size; one `scandir`
    per folder and one `stat` per YAML file, no path resolution."""
    snap: Snapshot = {}
    stack = [str(r) for r in roots]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue  # gone, or unreadable
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if walked_into(entry.name, exclude):
                            stack.append(entry.path)
                    elif entry.name.endswith(YAML_SUFFIXES):
                        st = entry.stat()
                        if stat.S_ISREG(st.st_mode):
                            snap[entry.path] = (st.st_mtime_ns, st.st_size)
                except OSError:
                    continue  # gone meanwhile: as if absent
    return snap


def changes(before: Snapshot, after: Snapshot) -> list[types.FileEvent]:
    """What `didChangeWatchedFiles` would have said between two snapshots."""

    def event(path: str, kind: types.FileChangeType) -> types.FileEvent:
        return types.FileEvent(Path(path).as_uri(), kind)

    events = [event(p, types.FileChangeType.Deleted) for p in before if p not in after]
    for path, sig in after.items():
        old = before.get(path)
        if old is None:
            events.append(event(path, types.FileChangeType.Created))
        elif old != sig:
            events.append(event(path, types.FileChangeType.Changed))
    return events
