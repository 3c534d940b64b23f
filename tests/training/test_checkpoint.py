"""Checkpoint files: atomic, durable, data-only; the newest complete one wins."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from arcgraph.training.checkpoint import (
    atomic_write_text,
    checkpoint_name,
    latest_checkpoint,
    list_checkpoints,
    load,
    progress_of,
    save,
)
from arcgraph.training.errors import OutputError, ResumeError


def test_atomic_write_replaces_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "c.pt"
    save({"model": {"w": torch.ones(2)}, "epoch": 1}, target)

    class Boom:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save({"model": Boom(), "epoch": 2}, target)
    assert load(target)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_names_sort_by_progress() -> None:
    assert checkpoint_name(3) == "epoch-0003.pt"
    assert checkpoint_name(4, 17) == "epoch-0004-batch-00017.pt"
    assert progress_of("epoch-0003.pt") == (3, 0)
    assert progress_of("epoch-0004-batch-00017.pt") == (3, 17)
    assert progress_of(".epoch-0005.pt.abc.tmp") is None


def test_latest_complete_checkpoint_skips_a_damaged_one(tmp_path: Path) -> None:
    ckpts = tmp_path / "checkpoints"
    ckpts.mkdir()
    for epoch in (1, 2):
        save({"format": 1, "model": {}, "epoch": epoch}, ckpts / checkpoint_name(epoch))
    save({"format": 1, "model": {}, "epoch": 2, "batch": 5}, ckpts / checkpoint_name(3, 5))
    assert [p.name for p in list_checkpoints(tmp_path)] == [
        "epoch-0003-batch-00005.pt",
        "epoch-0002.pt",
        "epoch-0001.pt",
    ]
    data = (ckpts / "epoch-0003-batch-00005.pt").read_bytes()
    (ckpts / "epoch-0003-batch-00005.pt").write_bytes(data[: len(data) // 2])
    path, state = latest_checkpoint(tmp_path)
    assert (path.name, state["epoch"]) == ("epoch-0002.pt", 2)


@pytest.mark.parametrize(
    ("state", "has"),
    [
        ({"format": 2, "model": {}, "epoch": 2}, "checkpoint format 2"),
        ({"format": "1", "model": {}, "epoch": 2}, "checkpoint format '1'"),
        ({"model": {}, "epoch": 2}, "no checkpoint format"),
        ([1, 2], "no checkpoint format"),
    ],
)
def test_a_checkpoint_of_another_format_is_refused_not_skipped(
    tmp_path: Path, state: object, has: str
) -> None:
    """The newest checkpoint loads but has another layout: refused by name (an older one of
    the right format is not silently used instead)."""
    ckpts = tmp_path / "checkpoints"
    ckpts.mkdir()
    save({"format": 1, "model": {}, "epoch": 1}, ckpts / checkpoint_name(1))
    save(state, ckpts / checkpoint_name(2))
    with pytest.raises(ResumeError) as info:
        latest_checkpoint(tmp_path)
    assert str(info.value) == (
        f"{ckpts / 'epoch-0002.pt'} has {has}; this arcgraph reads format 1 (resume it with "
        "the arcgraph version that wrote it, or start a new run)"
    )


def test_load_refuses_pickled_code(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "epoch": 1, "x": Path("/etc")}, path)
    with pytest.raises(Exception, match="Weights only load failed"):
        load(path)


def test_background_writer_writes_and_reports_failures(tmp_path: Path) -> None:
    from arcgraph.training.checkpoint import BackgroundWriter

    writer = BackgroundWriter()
    state = {"model": {"w": torch.ones(3)}, "epoch": 1}
    writer.submit(state, tmp_path / "a.pt")
    state["model"]["w"].add_(1)  # later changes do not leak into the snapshot
    writer.flush()
    assert load(tmp_path / "a.pt")["model"]["w"].tolist() == [1.0, 1.0, 1.0]
    writer.submit(state, tmp_path / "missing" / "b.pt")
    with pytest.raises(
        OutputError, match=f"^cannot write {tmp_path / 'missing' / 'b.pt'}: No such"
    ):
        writer.flush()
    writer.flush()  # reported once
