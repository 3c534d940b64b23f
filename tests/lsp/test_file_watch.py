"""The server's own file watching (for clients without a watcher), on a real folder."""

from __future__ import annotations

import queue
from pathlib import Path

from lsprotocol import types

from arcgraph.engine.registry import DEFAULT_EXCLUDE, Registry
from arcgraph.lsp.file_watch import FileWatcher

MODEL = "graph:\n  nodes: []\n"


def _folders(root: Path):
    return lambda: ([root], DEFAULT_EXCLUDE)


def test_ignored_folders_are_not_watched(tmp_path: Path):
    for folder in (".git", ".venv", "node_modules", "__pycache__", "models"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.model.yaml").write_text(MODEL)
    (tmp_path / "models" / "notes.txt").write_text("not YAML")
    (tmp_path / "models" / "b.yml").write_text(MODEL)
    (tmp_path / "models" / "folder.yaml").mkdir()  # a folder named like YAML: not a file
    watcher = FileWatcher(_folders(tmp_path), lambda events: None)
    expected = sorted(str(tmp_path / "models" / n) for n in ("a.model.yaml", "b.yml"))
    assert sorted(watcher.snapshot()) == expected
    # what the registry reads is what is watched
    assert sorted(str(p) for p in Registry([tmp_path]).yaml_files()) == expected


def test_created_changed_deleted_in_batches_and_stopped(tmp_path: Path):
    (tmp_path / "models").mkdir()
    batches: queue.Queue[list[types.FileEvent]] = queue.Queue()
    watcher = FileWatcher(_folders(tmp_path), batches.put, interval=0.05)
    watcher.start()
    try:
        # the watcher's first look happens on its thread: wait until it has one
        assert watcher.ready.wait(30)
        model = tmp_path / "models" / "m.model.yaml"
        uri = model.as_uri()
        model.write_text(MODEL)
        assert batches.get(timeout=30) == [types.FileEvent(uri, types.FileChangeType.Created)]
        model.write_text(MODEL + "# changed, one byte longer at least\n")
        assert batches.get(timeout=30) == [types.FileEvent(uri, types.FileChangeType.Changed)]
        model.unlink()
        assert batches.get(timeout=30) == [types.FileEvent(uri, types.FileChangeType.Deleted)]
    finally:
        watcher.stop()
    assert not watcher.running
