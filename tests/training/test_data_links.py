"""Links in a Parquet data folder: a linked file counts by its path in the folder (the
fingerprint compared a link's resolved target against the folder and raised ValueError);
a link to a folder, a broken link and two names for one file are refused by name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import arcgraph
from arcgraph.training.data import fingerprint
from arcgraph.training.errors import DataError
from arcgraph.training.streaming import StreamingTable, parquet_files

from .conftest import Events, base_config, make_workspace
from .test_streamed_training import _parquet_folder


def _write(path: Path, first: int, n: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"x": [float(i) for i in range(first, first + n)]}), path)
    return path


def test_a_linked_file_counts_by_its_path_in_the_folder(tmp_path: Path) -> None:
    shared = _write(tmp_path / "elsewhere" / "rows.parquet", 100, 30)  # outside the folder
    linked = tmp_path / "linked"
    _write(linked / "a.parquet", 0, 20)
    (linked / "sub").mkdir()
    (linked / "sub" / "b.parquet").symlink_to(shared)
    copied = tmp_path / "copied"  # the same files, really in the folder
    _write(copied / "a.parquet", 0, 20)
    _write(copied / "sub" / "b.parquet", 100, 30)

    assert parquet_files(linked) == [linked / "a.parquet", linked / "sub" / "b.parquet"]
    got, want = fingerprint(linked), fingerprint(copied)
    assert (got["files"], got["size"], got["sha256"]) == (2, want["size"], want["sha256"])
    data = StreamingTable(linked, ["x"], seed=1, memory_mb=1)
    assert data.files == parquet_files(linked)
    assert data.n_rows == 50
    rows = pa.concat_tables(p.table for p in data.train_rows(0))["x"].to_pylist()
    assert sorted(rows) == [float(i) for i in [*range(20), *range(100, 130)]]


def test_links_that_would_drop_or_repeat_rows_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _write(outside / "c.parquet", 0, 5)
    folder = tmp_path / "d"
    _write(folder / "a.parquet", 0, 5)

    (folder / "more").symlink_to(outside)
    with pytest.raises(DataError) as err:
        fingerprint(folder)
    assert str(err.value) == (
        f"data folder {folder}: more is a link to a folder ({outside}), which is not read; "
        "move or link that folder's Parquet files into the data folder"
    )
    (folder / "more").unlink()

    (folder / "gone.parquet").symlink_to(tmp_path / "no.parquet")
    with pytest.raises(DataError) as err:
        StreamingTable(folder, ["x"], seed=1)
    assert str(err.value) == (
        f"data folder {folder}: gone.parquet is a link to {tmp_path / 'no.parquet'}, "
        "which does not exist; fix or remove the link"
    )
    (folder / "gone.parquet").unlink()

    (folder / "z.parquet").symlink_to("a.parquet")
    with pytest.raises(DataError) as err:
        fingerprint(folder)
    assert str(err.value) == (
        f"data folder {folder}: a.parquet and z.parquet are the same file (a link), "
        "so its rows would be read twice; remove one"
    )
    (folder / "z.parquet").unlink()
    assert fingerprint(folder)["files"] == 1


def test_a_streamed_run_over_a_folder_with_a_linked_file(
    tmp_path: Path, events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCGRAPH_DATA_MEMORY_MB", "0.2")
    folder = _parquet_folder(tmp_path)
    (tmp_path / "shared").mkdir()
    os.replace(folder / "part-2.parquet", tmp_path / "shared" / "part-2.parquet")
    (folder / "part-2.parquet").symlink_to(tmp_path / "shared" / "part-2.parquet")
    trainer = make_workspace(tmp_path, "bc-mlp-v1", base_config(epochs=2, batch_size=16, seed=21))
    summary = arcgraph.train(trainer, folder, out=tmp_path / "runs", events=events, run_name="s")
    assert summary["status"] == "completed"
    info = json.loads((tmp_path / "runs/bc-mlp-v1/s/run.json").read_text())
    assert info["data"]["files"] == 3
    assert info["rows"]["total"] == 569  # breast_cancer.csv: the linked file's 179 rows count
