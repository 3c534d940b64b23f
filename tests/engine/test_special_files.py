"""The registry and the reader on paths that are not regular files: skipped, never read."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from arcgraph.engine.files import NotRegularFile, read_regular
from arcgraph.engine.registry import Registry

from .conftest import MODEL

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")


def within(ws: Path, fn: Callable[[], Any], timeout: float = 60) -> Any:
    """`fn()`, failing (not hanging) if it blocks: a read of a FIFO waits for a writer, so
    after `timeout` each FIFO gets one that closes at once, and the read ends."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as err:  # raised again in the test's thread
            errors.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        for fifo in (ws / "models").iterdir():
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"blocked for {timeout} s reading a FIFO")
    if errors:
        raise errors[0]
    return result[0]


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tiny-v1.model.yaml").write_text(MODEL)
    os.mkfifo(tmp_path / "models" / "piped-v1.model.yaml")
    os.mkfifo(tmp_path / "models" / "plain.yaml")  # kind known only by reading it
    return tmp_path


def test_read_regular_refuses_a_fifo_and_a_folder_without_reading(ws: Path) -> None:
    with pytest.raises(NotRegularFile) as fifo:
        within(ws, lambda: read_regular(ws / "models" / "piped-v1.model.yaml"))
    assert (fifo.value.kind, fifo.value.reason) == ("FIFO", "not a regular file (FIFO); skipped")
    with pytest.raises(NotRegularFile) as folder:
        read_regular(ws / "models")
    assert folder.value.kind == "folder"
    assert read_regular(ws / "models" / "tiny-v1.model.yaml") == MODEL.encode()


def test_scan_skips_fifos_and_remembers_them(ws: Path) -> None:
    reg = within(ws, lambda: Registry.scan([ws], index_trainers=True))
    models = ws.resolve() / "models"
    assert reg.ids() == ["tiny-v1"]
    assert reg.skipped_of("piped-v1") == [(models / "piped-v1.model.yaml", "FIFO")]
    assert reg.skipped_of("plain") == [(models / "plain.yaml", "FIFO")]
    assert within(ws, lambda: reg.parsed(models / "piped-v1.model.yaml")) is None


def test_an_update_for_a_fifo_drops_the_model_and_a_file_again_restores_it(ws: Path) -> None:
    reg = within(ws, lambda: Registry.scan([ws], index_trainers=True))
    path = ws.resolve() / "models" / "tiny-v1.model.yaml"
    path.unlink()
    os.mkfifo(path)
    within(ws, lambda: reg.update(path))
    assert (reg.ids(), reg.skipped_of("tiny-v1")) == ([], [(path, "FIFO")])
    path.unlink()
    path.write_text(MODEL)
    reg.update(path)
    assert (reg.ids(), reg.skipped_of("tiny-v1")) == (["tiny-v1"], [])
