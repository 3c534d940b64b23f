"""BatchNorm on W CPU processes (issue: "Expected more than 1 value per channel when
training"): each process normalizes over its own rows of a batch (SyncBatchNorm needs CUDA),
so every process needs at least 2 rows of every batch. A batch_size of W (1 row each) is
refused before any process starts, by the launcher and by each rank; a last batch that would
leave a process fewer than 2 rows joins the batch before it, and only then: a model without
BatchNorm keeps one process's plan. One real 2-process gloo run shows it trains."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from arcgraph.builder.build import build_model
from arcgraph.training import train
from arcgraph.training.distributed import World
from arcgraph.training.errors import DataError, SpecError
from arcgraph.training.launch import check_flags
from arcgraph.training.loop import Loop, batch_plan

from .conftest import FIXTURES, IRIS, base_config, make_workspace
from .test_distributed import cli, run_args
from .test_launch_flags import parse
from .test_resume import read_events

BN_MODEL = "iris-mlp-v1"  # its node 'norm' is a torch.nn.BatchNorm1d


def refusal(trainer: Path) -> str:
    return (
        f"{trainer}:7: config.batch_size 2 gives each of the 2 processes 1 row of a batch, and"
        " BatchNorm node 'norm' cannot train on 1 row: on cpu each process normalizes over its"
        " own rows (SyncBatchNorm needs CUDA); use a batch_size of at least 4 (2 x 2 processes)"
    )


def test_one_row_per_cpu_process_with_batchnorm_is_refused_by_the_launcher(
    tmp_path: Path,
) -> None:
    trainer = make_workspace(tmp_path, BN_MODEL, base_config(batch_size=2, device="cpu"))
    with pytest.raises(SpecError) as err:
        check_flags(parse(trainer, "--nproc-per-node", "2"))
    assert str(err.value) == refusal(trainer)
    assert check_flags(parse(trainer, "--nproc-per-node", "1")) == 1  # one process: 2 rows
    plain = make_workspace(
        tmp_path / "plain", "iris-linear-v1", base_config(batch_size=2, device="cpu")
    )
    assert check_flags(parse(plain, "--nproc-per-node", "2")) == 2  # no BatchNorm: runs


def test_each_rank_refuses_it_too_torchrun_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rank 0 of `torchrun ... -m arcgraph train`: refused before it joins the group."""
    trainer = make_workspace(tmp_path, BN_MODEL, base_config(batch_size=2, device="cpu"))
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(SpecError) as err:
        train(trainer, IRIS, out=tmp_path / "runs", verbose=False)
    assert str(err.value) == refusal(trainer)
    assert not (tmp_path / "runs").exists()


def test_a_short_last_batch_joins_the_one_before_only_when_asked() -> None:
    # one process (and W processes without BatchNorm): only a 1-row last batch joins
    assert batch_plan(11, 4, 1) == [(0, 4, 1.0, True), (4, 8, 1.0, True), (8, 11, 1.0, True)]
    assert batch_plan(9, 4, 1) == [(0, 4, 1.0, True), (4, 9, 1.0, True)]
    # 2 CPU processes with BatchNorm (min_last 4): 3 rows would give rank 0 one row
    assert batch_plan(11, 4, 1, 4) == [(0, 4, 1.0, True), (4, 11, 1.0, True)]
    assert batch_plan(12, 4, 1, 4) == [(0, 4, 1.0, True), (4, 8, 1.0, True), (8, 12, 1.0, True)]
    # 4 processes, batch 8: a last batch of 7 rows leaves one process 1 row; it joins
    plan = batch_plan(23, 8, 2, 8)
    assert plan == [(0, 8, 8 / 23, False), (8, 23, 15 / 23, True)]
    assert batch_plan(24, 8, 2, 8)[-1] == (16, 24, 1.0, True)  # 8 rows: 2 each, kept
    assert batch_plan(3, 4, 1, 4) == [(0, 3, 1.0, True)]  # one batch: nothing to join


def test_two_cpu_processes_train_batchnorm_with_a_3_row_last_batch(tmp_path: Path) -> None:
    """150 iris rows, 27 held out: 123 training rows in batches of 4 end on 3 rows, which
    would give rank 0 a single row; it trains in the batch before (7 rows: 3 and 4)."""
    config = base_config(batch_size=4, validation_split=0.18, epochs=2, device="cpu")
    trainer = make_workspace(tmp_path, BN_MODEL, config)
    out = tmp_path / "runs"
    events = tmp_path / "events.jsonl"
    proc = cli(*run_args(trainer, out, "bn", "--nproc-per-node", "2", "--events", str(events)))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / BN_MODEL / "bn" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["world_size"] == 2
    assert summary["epochs_completed"] == 2
    start = next(e for e in read_events(events) if e["event"] == "start")
    assert start["train_rows"] == 123
    assert start["steps_per_epoch"] == 30  # 29 batches of 4, then 7 rows


def _plan(model: str, world_size: int, n: int) -> list[tuple[int, int, float, bool]]:
    """Loop.plan for `model` (built for real) on `world_size` CPU processes, batches of 4."""
    spec = yaml.safe_load((FIXTURES / "models" / f"{model}.model.yaml").read_text())
    host = SimpleNamespace(
        world=World(0, world_size),
        model=build_model(spec),
        cfg=SimpleNamespace(batch_size=4, accumulate_grad_batches=1),
    )
    return Loop.plan(host, n)  # pyright: ignore[reportArgumentType]  # what plan reads


def test_the_loop_folds_only_for_an_unsynced_batchnorm_on_w_processes() -> None:
    assert _plan(BN_MODEL, 2, 11) == [(0, 4, 1.0, True), (4, 11, 1.0, True)]
    assert _plan(BN_MODEL, 1, 11)[-1] == (8, 11, 1.0, True)  # one process: 3 rows train
    assert _plan("iris-linear-v1", 2, 11)[-1] == (8, 11, 1.0, True)  # no BatchNorm
    with pytest.raises(DataError) as err:
        _plan(BN_MODEL, 2, 3)
    assert str(err.value) == (
        "the training split has 3 rows, too few for 2 processes: the model's BatchNorm 'norm'"
        " needs at least 2 rows on each process (4 in all; SyncBatchNorm needs CUDA); use fewer"
        " processes (--nproc-per-node) or more data"
    )
