"""Training on a Parquet folder streamed in bounded memory (arcgraph.training.stream_data):
it trains, its split is the reader's rule, and a run stopped mid-epoch resumes exactly."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import torch

import arcgraph
from arcgraph.training.streaming import validation_mask

from .conftest import BREAST_CANCER, Events, base_config, make_workspace
from .test_resume import cli, read_events, wait_for

CONFIG = base_config(epochs=4, batch_size=16, log_every=1, seed=21)
BOUND_MB = "0.2"  # windows of about 100 rows (of 455); row groups of 20 rows are allowed


def _parquet_folder(root: Path) -> Path:
    """breast_cancer.csv as three Parquet files of 20-row row groups."""
    table = pacsv.read_csv(BREAST_CANCER)
    folder = root / "bc-parquet"
    folder.mkdir()
    for i, (lo, hi) in enumerate([(0, 200), (200, 390), (390, table.num_rows)]):
        pq.write_table(table.slice(lo, hi - lo), folder / f"part-{i}.parquet", row_group_size=20)
    return folder


@pytest.fixture
def bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCGRAPH_DATA_MEMORY_MB", BOUND_MB)


def test_a_streamed_parquet_folder_trains(tmp_path: Path, events: Events, bound: None) -> None:
    folder = _parquet_folder(tmp_path)
    trainer = make_workspace(tmp_path, "bc-mlp-v1", CONFIG)
    summary = arcgraph.train(trainer, folder, out=tmp_path / "runs", events=events, run_name="s")
    assert summary["status"] == "completed"
    losses = [row["train_loss"] for row in json_lines(tmp_path / "runs/bc-mlp-v1/s/metrics.csv")]
    assert len(losses) == 4 and losses[-1] < losses[0] / 2
    n = pacsv.read_csv(BREAST_CANCER).num_rows
    n_val = int(validation_mask(np.arange(n), 21, CONFIG["validation_split"]).sum())
    info = json.loads((tmp_path / "runs/bc-mlp-v1/s/run.json").read_text())
    assert info["rows"] == {"total": n, "train": n - n_val, "validation": n_val}
    assert info["data"]["files"] == 3
    start = events.of("start")[0]
    assert (start["train_rows"], start["steps_per_epoch"]) == (n - n_val, -(-(n - n_val) // 16))
    notes = [e["message"] for e in events.of("info") if "streaming" in e["message"]]
    assert len(notes) == 1
    # 200, 190 and 179 rows in row groups of 20: 10 + 10 + 9
    prefix = f"streaming bc-parquet: {n} rows in 29 row groups, shuffled in windows of "
    assert notes[0].startswith(prefix) and notes[0].endswith(
        f" rows (data memory bound {BOUND_MB} MB)"
    )
    window = int(notes[0][len(prefix) :].split()[0])
    assert window < (n - n_val) / 3  # several windows an epoch: the bound decides, not the data


def json_lines(metrics_csv: Path) -> list[dict[str, float]]:
    header, *rows = metrics_csv.read_text().splitlines()
    names = header.split(",")
    return [dict(zip(names, map(float, row.split(",")), strict=True)) for row in rows]


def test_stopped_mid_epoch_resumes_exactly(tmp_path: Path, bound: None) -> None:
    folder = _parquet_folder(tmp_path)
    trainer = make_workspace(tmp_path, "bc-mlp-v1", CONFIG)
    runs = tmp_path / "runs"
    env_args = ["--trainer", str(trainer), "--data", str(folder), "--out", str(runs)]
    ref = cli([*env_args, "--name", "ref"])
    assert ref.communicate(timeout=300)[0] is not None and ref.returncode == 0
    log = tmp_path / "events.jsonl"
    proc = cli([*env_args, "--name", "cut", "--events", str(log)])
    wait_for(log, proc, lambda e: e["event"] == "step" and e["epoch"] == 2 and e["batch"] == 7)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    cut = runs / "bc-mlp-v1" / "cut"
    saved = sorted(p.name for p in (cut / "checkpoints").iterdir())
    assert any("batch" in name for name in saved), saved  # a mid-epoch checkpoint
    again = cli(["--trainer", str(trainer), "--data", str(folder), "--resume", str(cut)])
    _out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    ref_dir = runs / "bc-mlp-v1" / "ref"
    assert (cut / "metrics.csv").read_text() == (ref_dir / "metrics.csv").read_text()
    a = torch.load(cut / "last.pt", weights_only=True)
    b = torch.load(ref_dir / "last.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in b)
    assert read_events(log)  # the cut run reported its steps
