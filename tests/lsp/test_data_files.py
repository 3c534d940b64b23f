"""Data tables: one list of suffixes (engine/datafiles.py) that the trainer reads, the server
offers and sends to the client; the server's search walks as the registry does, off the loop."""

from __future__ import annotations

import asyncio
import gzip
import threading
from pathlib import Path

import pytest
from lsprotocol import types

from arcgraph.engine.datafiles import CSV_SUFFIXES, DATA_SUFFIXES, PARQUET_SUFFIXES
from arcgraph.engine.registry import DEFAULT_EXCLUDE
from arcgraph.lsp.server import ArcGraphServer
from arcgraph.lsp.train import data_candidates

from .conftest import start_client, stop_client, uri_of

TRAINER = "model_ref: iris-classifier-v1\noptimizer:\n  type: torch.optim.Adam\n"
CSV = "sepal_length,species\n5.1,setosa\n6.2,virginica\n"


def test_one_list_of_suffixes():
    assert DATA_SUFFIXES == (".csv", ".csv.gz", ".tsv", ".parquet", ".pq")
    assert CSV_SUFFIXES + PARQUET_SUFFIXES == DATA_SUFFIXES


def test_the_trainer_reads_every_suffix_offered(tmp_path: Path):
    """Each suffix the server offers and the client searches for is a table the trainer reads."""
    pytest.importorskip("torch")
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from arcgraph.training.data import read_table
    from arcgraph.training.errors import DataError

    table = pa.table({"sepal_length": [5.1, 6.2], "species": ["setosa", "virginica"]})
    for suffix in DATA_SUFFIXES:
        path = tmp_path / f"iris{suffix}"
        if suffix in PARQUET_SUFFIXES:
            pq.write_table(table, path)
        elif suffix == ".csv.gz":
            path.write_bytes(gzip.compress(CSV.encode()))
        elif suffix == ".tsv":
            path.write_text(CSV.replace(",", "\t"))
        else:
            path.write_text(CSV)
        read = read_table(path)
        assert (suffix, read.column_names, read.num_rows) == (
            suffix,
            ["sepal_length", "species"],
            2,
        )
    other = tmp_path / "iris.json"
    other.write_text("{}")
    with pytest.raises(DataError, match=r"^iris\.json: unsupported data format"):
        read_table(other)


async def test_the_client_gets_the_servers_list(cache_dir: Path, workspace: Path):
    """The VS Code extension searches for what the server sends at initialize: no copy there."""
    c = await start_client(cache_dir, workspace)
    try:
        assert c.server_caps is not None
        assert c.server_caps.experimental == {
            "arcgraph": {
                "dataFiles": {"csv": list(CSV_SUFFIXES), "parquet": list(PARQUET_SUFFIXES)}
            }
        }
    finally:
        await stop_client(c)


def _data_workspace(root: Path) -> Path:
    """A workspace with tables where they belong and many in folders a walk skips."""
    (root / "models").mkdir(parents=True)
    (root / "trainers").mkdir()
    trainer = root / "trainers" / "iris.trainer.yaml"
    trainer.write_text(TRAINER)
    for rel in ("data/iris.csv", "data/more/iris.parquet", "iris.tsv", "data/old.csv.gz"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(CSV)
    (root / "data" / "notes.txt").write_text("not a table")
    (root / "data" / "folder.csv").mkdir()  # a folder named like a table
    site = root / ".venv" / "lib" / "python3.11" / "site-packages"
    for i in range(300):  # a virtual environment's data files (sklearn, pandas test data ...)
        pkg = site / f"pkg{i}" / "tests" / "data"
        pkg.mkdir(parents=True)
        (pkg / f"t{i}.csv").write_text(CSV)
    for rel in ("node_modules/lib/a.csv", "runs/r1/metrics.csv", ".git/x.csv", "venv/b.csv"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(CSV)
    return trainer


def test_the_walk_skips_what_the_registry_skips(tmp_path: Path):
    trainer = _data_workspace(tmp_path / "ws")
    root = tmp_path / "ws"
    assert data_candidates(trainer) == [
        root / "iris.tsv",
        root / "data" / "iris.csv",
        root / "data" / "old.csv.gz",
        root / "data" / "more" / "iris.parquet",
    ]
    # the registry's exclusions as configured: another folder skipped too
    assert data_candidates(trainer, [*DEFAULT_EXCLUDE, "data"]) == [root / "iris.tsv"]
    assert data_candidates(trainer, limit=2) == [root / "iris.tsv", root / "data" / "iris.csv"]


async def test_the_server_offers_the_real_tables_only(cache_dir: Path, tmp_path: Path):
    """Over stdio: train without data; the tables offered are the workspace's, none under
    `.venv`, `node_modules`, `runs`, hidden folders."""
    trainer = _data_workspace(tmp_path / "ws")
    c = await start_client(cache_dir, tmp_path / "ws", "neovim")
    c.answer_message_request = lambda p: None  # the user closes the question
    try:
        result = await c.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="arcgraph.train", arguments=[{"trainer": uri_of(trainer)}]
            )
        )
        assert result == {"status": "refused", "error": "no data file"}
        (asked,) = c.message_requests
        assert asked.message == "Train iris.trainer.yaml on which data table?"
        assert [a.title for a in asked.actions or []] == [
            "iris.tsv",
            "data/iris.csv",
            "data/old.csv.gz",
            "data/more/iris.parquet",
        ]
    finally:
        await stop_client(c)


async def test_the_walk_leaves_the_event_loop_free(tmp_path: Path):
    """The server's search runs on its scan lane: while it has not finished, the loop goes on
    (here: this test's own steps; the walk held back by a job that waits on the lane first),
    and the answer comes once it has."""
    trainer = _data_workspace(tmp_path / "ws")
    server = ArcGraphServer()
    started, release = threading.Event(), threading.Event()
    try:
        server.index.scan_lane.submit(lambda: (started.set(), release.wait(60)))
        assert started.wait(60)
        search = asyncio.ensure_future(server.training.data_choices(trainer))
        for _ in range(3):
            await asyncio.sleep(0)  # the loop runs other work ...
        assert not search.done()  # ... while the walk waits for the lane (on the loop: done)
        release.set()
        found = await asyncio.wait_for(search, 60)
        assert [p.name for p in found] == ["iris.tsv", "iris.csv", "old.csv.gz", "iris.parquet"]
    finally:
        release.set()
        server.index.shutdown()
