"""Streamed Parquet data on W processes (issue 13): each rank reads its contiguous share of the
epoch's stream and is asked, batch by batch, for exactly that share (reader level, no
processes); 2 gloo processes under `arcgraph train --nproc-per-node 2` train it, and a
mid-epoch checkpoint resumes only on the process count that wrote it."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import torch

from arcgraph.training import train
from arcgraph.training.cli import main as train_main
from arcgraph.training.distributed import World
from arcgraph.training.errors import DataError, ResumeError
from arcgraph.training.loop import batch_plan
from arcgraph.training.stream_data import StreamData
from arcgraph.training.streaming import StreamingTable

from .conftest import IRIS, base_config, make_workspace
from .test_distributed import assert_same_metrics, cli, popen, summary_of
from .test_resume import read_events, wait_for

MODEL = "iris-linear-v1"
BOUND = "0.02"  # windows of 65 rows (of about 120): several a share


# -- reader level: the rows each rank is asked for over an epoch --------------------------
def _ids_folder(root: Path, n: int, group: int = 7) -> Path:
    """`n` rows in two Parquet files; `id` is the row's number."""
    root.mkdir()
    ids = np.arange(n)
    half = n // 2
    for i, (lo, hi) in enumerate([(0, half), (half, n)]):
        table = pa.table({"id": ids[lo:hi], "x": ids[lo:hi].astype(np.float64)})
        pq.write_table(table, root / f"part-{i}.parquet", row_group_size=group)
    return root


def _convert(table: pa.Table, rows: np.ndarray) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    return {"id": torch.from_numpy(table["id"].to_numpy().copy())}, torch.from_numpy(rows.copy())


def _asked(path: Path, world: World, plan: list, first: int = 0) -> list[int]:
    """The row ids rank `world.rank` is handed for batches `first..` of `plan` in epoch 2."""
    table = StreamingTable(
        path, ["id", "x"], seed=9, memory_mb=0.005, rank=world.rank, world_size=world.world_size
    )
    data = StreamData(table, _convert, torch.device("cpu"))
    data.start_epoch(2, plan[first][0])
    got: list[int] = []
    for lo, hi, _scale, _step in plan[first:]:
        xb, yb = data.batch(None, *world.shard(lo, hi))
        assert xb["id"].tolist() == yb.tolist()  # the rows are the ids'
        got += xb["id"].tolist()
    return got


@pytest.mark.parametrize(
    ("n", "batch_size", "accumulate", "world_size", "min_last"),
    [
        (301, 16, 1, 2, 2),  # a last, partial batch (13 rows)
        (301, 20, 3, 4, 2),  # accumulated batches; a last batch of 1 row joins the one before
        (299, 8, 2, 4, 2),  # a last batch of 3 rows: smaller than W, rank 0 gets none of it
        (301, 512, 1, 2, 2),  # one batch holds the epoch
        (3, 4, 1, 4, 2),  # fewer rows than processes: rank 0 has no share at all
        (299, 8, 2, 4, 8),  # CPU BatchNorm (2 x W): the 3-row last batch joins the one before
    ],
)
def test_each_rank_is_handed_exactly_its_share_for_the_loops_plan(
    tmp_path: Path, n: int, batch_size: int, accumulate: int, world_size: int, min_last: int
) -> None:
    path = _ids_folder(tmp_path / "d", n)
    plan = batch_plan(n, batch_size, accumulate, min_last)
    if min_last > 2:
        assert plan[-1][:2] == (288, 299)  # 11 rows: 2 or 3 on each of the 4 ranks
    ranks = [World(rank=r, world_size=world_size) for r in range(world_size)]
    asked = [_asked(path, w, plan) for w in ranks]
    for w, rows in zip(ranks, asked, strict=True):
        share = StreamingTable(
            path, ["id", "x"], seed=9, memory_mb=0.005, rank=w.rank, world_size=world_size
        )
        stream = [i for piece in share.train_rows(2) for i in piece.table["id"].to_pylist()]
        assert rows == stream  # its whole share, in its order: nothing short, nothing left
    union = [i for rows in asked for i in rows]
    assert sorted(union) == list(range(n))  # the ranks' rows partition the training rows
    # a resumed epoch hands each rank the rest of the same rows
    b = len(plan) // 2
    for w, rows in zip(ranks, asked, strict=True):
        done = sum(len(range(*w.shard(lo, hi))) for lo, hi, _, _ in plan[:b])
        assert _asked(path, w, plan, first=b) == rows[done:]


# -- processes ----------------------------------------------------------------------------
def _iris_folder(root: Path) -> Path:
    """iris.csv as two Parquet files of 10-row row groups, the species as class indices."""
    table = pacsv.read_csv(IRIS)
    names = sorted(set(table["species"].to_pylist()))
    codes = pa.array([names.index(s) for s in table["species"].to_pylist()], pa.int64())
    table = table.set_column(table.schema.get_field_index("species"), "species", codes)
    folder = root / "iris-parquet"
    folder.mkdir()
    pq.write_table(table.slice(0, 80), folder / "a.parquet", row_group_size=10)
    pq.write_table(table.slice(80), folder / "b.parquet", row_group_size=10)
    return folder


def _args(trainer: Path, data: Path, out: Path, name: str, *extra: str) -> list[str]:
    return [
        "--trainer", str(trainer), "--data", str(data), "--out", str(out),
        "--name", name, "--quiet", *extra,
    ]  # fmt: skip


def test_one_global_batch_an_epoch_trains_the_one_process_model(tmp_path: Path) -> None:
    """batch_size >= the training rows: every step sees the same rows on 1 or 2 processes, so
    the final metrics agree although each rank shuffles its own share."""
    folder = _iris_folder(tmp_path)
    trainer = make_workspace(tmp_path, MODEL, base_config(device="cpu", epochs=20, batch_size=150))
    out, log = tmp_path / "runs", tmp_path / "events.jsonl"
    two = cli(
        *_args(trainer, folder, out, "two", "--nproc-per-node", "2"),
        "--data-memory-mb", BOUND, "--events", str(log),
    )  # fmt: skip
    assert two.returncode == 0, two.stderr
    one = train(trainer, folder, out=tmp_path / "single", run_name="one", data_memory_mb=0.02)
    summary = summary_of(out, "two")
    assert summary["status"] == "completed" and summary["world_size"] == 2
    assert one["world_size"] == 1 and summary["epochs_completed"] == 20
    assert_same_metrics(summary["final_metrics"], one["final_metrics"])
    assert [p.name for p in (out / MODEL).iterdir()] == ["two"]  # rank 0's alone
    assert len((out / MODEL / "two" / "metrics.csv").read_text().splitlines()) == 21
    events = read_events(log)
    start = next(e for e in events if e["event"] == "start")
    assert start["steps_per_epoch"] == 1 and start["train_rows"] <= 150
    notes = [e["message"] for e in events if "streaming" in e.get("message", "")]
    assert len(notes) == 1 and notes[0].endswith(f"(data memory bound {BOUND} MB)")


def test_a_mid_epoch_checkpoint_resumes_only_on_the_count_that_wrote_it(tmp_path: Path) -> None:
    folder = _iris_folder(tmp_path)
    epochs = 30
    config = base_config(device="cpu", epochs=epochs, batch_size=16, log_every=1)
    trainer = make_workspace(tmp_path, MODEL, config)
    out, log = tmp_path / "runs", tmp_path / "events.jsonl"
    flags = ["--data-memory-mb", BOUND]
    proc = popen(
        *_args(trainer, folder, out, "cut", "--nproc-per-node", "2", *flags),
        "--events", str(log),
    )  # fmt: skip
    wait_for(log, proc, lambda e: e["event"] == "step" and e["epoch"] == 2 and e["batch"] == 3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, err
    cut = out / MODEL / "cut"
    cut_summary = json.loads((cut / "summary.json").read_text())
    assert cut_summary["status"] == "interrupted" and cut_summary["world_size"] == 2
    ckpt = Path(cut_summary["checkpoint"])
    assert "batch" in ckpt.name  # stopped mid-epoch
    epoch, batch = int(ckpt.name[6:10]), int(ckpt.name[17:22])
    metrics = (cut / "metrics.csv").read_text()

    def refusal(count: str) -> str:
        return (
            f"{ckpt}: this checkpoint stopped streamed data mid-epoch (epoch {epoch}, after"
            f" batch {batch}) on 2 processes; on {count} the rest of epoch {epoch} would train"
            f" other rows. Resume it on 2 processes (--nproc-per-node 2), or from an epoch's"
            f" end: move {ckpt.name} out of {ckpt.parent} and resume again"
        )

    # 4 processes: refused by the launcher, before a process starts
    four = cli("--trainer", str(trainer), "--data", str(folder), "--resume", str(cut),
               "--nproc-per-node", "4", *flags)  # fmt: skip
    assert four.returncode == 1
    assert four.stderr == f"arcgraph train: error: {refusal('4 processes')}\n"
    # 1 process: refused by the trainer, before training
    with pytest.raises(ResumeError) as refused:
        train(trainer, folder, resume=cut, verbose=False, data_memory_mb=0.02)
    assert str(refused.value) == refusal("1 process")
    assert (cut / "metrics.csv").read_text() == metrics  # nothing trained
    # the fix it names: from the epoch's end on 1 process
    ended = out / MODEL / "ended"
    shutil.copytree(cut, ended)
    (ended / "checkpoints" / ckpt.name).unlink()
    done = train(trainer, folder, resume=ended, verbose=False, data_memory_mb=0.02)
    assert done["status"] == "completed" and done["world_size"] == 1
    assert done["epochs_completed"] == epochs
    # and on the 2 processes that wrote it: every rank ran the same steps to the end
    again = cli("--trainer", str(trainer), "--data", str(folder), "--resume", str(cut),
                "--nproc-per-node", "2", "--events", str(log), *flags)  # fmt: skip
    assert again.returncode == 0, again.stderr
    summary = summary_of(out, "cut")
    assert summary["status"] == "completed" and summary["world_size"] == 2
    assert summary["epochs_completed"] == epochs
    resumed = [e for e in read_events(log) if e["event"] == "start"][-1]
    assert resumed["resumed_from"] == str(ckpt)
    steps = [e["batch"] for e in read_events(log) if e["event"] == "step" and e["epoch"] == epoch]
    assert steps == list(range(1, resumed["steps_per_epoch"] + 1))  # continued where it stopped


def test_data_memory_mb_flag_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _iris_folder(tmp_path)
    trainer = make_workspace(tmp_path, MODEL, base_config(device="cpu", epochs=1))
    monkeypatch.setenv("ARCGRAPH_DATA_MEMORY_MB", "0.5")
    log = tmp_path / "events.jsonl"
    args = _args(trainer, folder, tmp_path / "runs", "f", "--events", str(log))
    assert train_main([*args, "--data-memory-mb", BOUND]) == 0
    notes = [e["message"] for e in read_events(log) if "streaming" in e.get("message", "")]
    assert len(notes) == 1 and notes[0].endswith(f"(data memory bound {BOUND} MB)")


@pytest.mark.parametrize("value", ["0", "-5", "lots", "nan"])
def test_a_bad_data_memory_mb_is_refused_by_argparse(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        train_main(["--trainer", "t.yaml", "--data", "d", f"--data-memory-mb={value}"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"arcgraph train: error: argument --data-memory-mb: {value!r} is not a bound in MB:"
        " give a number > 0, e.g. 512"
    )


@pytest.mark.parametrize("value", ["inf", "1e400"])
def test_an_infinite_data_memory_bound_is_refused_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """float() reads these as infinity, which no window size can be made of (was: an
    OverflowError traceback from the reader)."""
    folder = _iris_folder(tmp_path)
    trainer = make_workspace(tmp_path, MODEL, base_config(device="cpu", epochs=1))
    monkeypatch.setenv("ARCGRAPH_DATA_MEMORY_MB", value)
    assert train_main(_args(trainer, folder, tmp_path / "runs", "inf")) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"arcgraph train: error: ARCGRAPH_DATA_MEMORY_MB={value!r}: give the bound in MB as a"
        " number > 0, e.g. 512"
    )
    monkeypatch.delenv("ARCGRAPH_DATA_MEMORY_MB")
    with pytest.raises(DataError, match=r"^data memory bound inf MB: give a number > 0, e.g. 512$"):
        train(trainer, folder, out=tmp_path / "runs", run_name="api", data_memory_mb=float("inf"))


def test_a_mid_epoch_checkpoint_resumes_only_with_the_bound_that_wrote_it(tmp_path: Path) -> None:
    """The shuffle windows come from the data memory bound: another bound would train other
    rows for the rest of the stopped epoch (some twice, some never), so it is refused; the
    bound it was written with resumes it (was: resumed silently with the other windows)."""
    folder = _iris_folder(tmp_path)
    config = base_config(device="cpu", epochs=30, batch_size=16, log_every=1)
    trainer = make_workspace(tmp_path, MODEL, config)
    out, log = tmp_path / "runs", tmp_path / "events.jsonl"
    proc = popen(
        *_args(trainer, folder, out, "cut", "--data-memory-mb", BOUND), "--events", str(log)
    )
    wait_for(log, proc, lambda e: e["event"] == "step" and e["epoch"] == 2 and e["batch"] == 3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, err
    cut = out / MODEL / "cut"
    ckpt = Path(json.loads((cut / "summary.json").read_text())["checkpoint"])
    assert "batch" in ckpt.name  # stopped mid-epoch
    epoch, batch = int(ckpt.name[6:10]), int(ckpt.name[17:22])
    notes = [e["message"] for e in read_events(log) if "streaming" in e.get("message", "")]
    windows = int(notes[0].split("shuffled in windows of ")[1].split()[0])
    with pytest.raises(ResumeError) as refused:
        train(trainer, folder, resume=cut, verbose=False, data_memory_mb=0.01)
    assert str(refused.value) == (
        f"{ckpt}: this checkpoint stopped streamed data mid-epoch (epoch {epoch}, after batch"
        f" {batch}) with a data memory bound of {BOUND} MB (shuffle windows of {windows} rows);"
        f" at 0.01 MB the windows hold {windows // 2} rows and the rest of epoch {epoch} would"
        f" train other rows. Resume it with --data-memory-mb {BOUND} (or"
        f" ARCGRAPH_DATA_MEMORY_MB={BOUND}), or from an epoch's end: move {ckpt.name} out of"
        f" {ckpt.parent} and resume again"
    )
    done = train(trainer, folder, resume=cut, verbose=False, data_memory_mb=float(BOUND))
    assert done["status"] == "completed" and done["epochs_completed"] == 30
