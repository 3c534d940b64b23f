"""arc.callbacks in real runs: TensorBoard event files, top-k checkpoints (also across a
resume), the `lr` column, the registry held to the engine's catalog, and the refusals."""

from __future__ import annotations

import csv
import inspect
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from arcgraph.engine.callbacks_catalog import CALLBACKS, PARAM_TYPES
from arcgraph.training import SpecError, TrainingInterrupted, train
from arcgraph.training.callbacks import REGISTRY

from .conftest import IRIS, base_config, make_workspace

TB = {"type": "arc.callbacks.TensorBoardLogger"}
LRM = {"type": "arc.callbacks.LearningRateMonitor"}


def top_k(monitor: str = "val_loss", mode: str = "min", k: int = 2) -> dict[str, Any]:
    return {
        "type": "arc.callbacks.ModelCheckpoint",
        "params": {"monitor": monitor, "mode": mode, "save_top_k": k},
    }


def workspace(root: Path, callbacks: list[dict[str, Any]], **config: Any) -> Path:
    cfg = base_config(epochs=6, batch_size=16, device="cpu", log_every=1, **config)
    trainer = make_workspace(root, "iris-mlp-v1", cfg)
    spec = yaml.safe_load(trainer.read_text())
    spec["callbacks"] = callbacks
    trainer.write_text(yaml.safe_dump(spec, sort_keys=False))
    return trainer


def metrics_rows(run: Path) -> list[dict[str, str]]:
    with (run / "metrics.csv").open() as fh:
        return list(csv.DictReader(fh))


def kept_files(run: Path) -> list[str]:
    return sorted(p.name for p in (run / "checkpoints").glob("top-*.pt"))


def expected_top(rows: list[dict[str, str]], monitor: str, k: int, mode: str) -> list[str]:
    sign = 1.0 if mode == "min" else -1.0
    ranked = sorted(rows, key=lambda r: (sign * float(r[monitor]), int(r["epoch"])))[:k]
    return sorted(
        f"top-epoch-{int(r['epoch']):04d}-{monitor}-{float(r[monitor]):.4f}.pt" for r in ranked
    )


def test_registry_classes_match_the_engine_catalog() -> None:
    """One description, not two: names, params, annotations and defaults agree."""
    assert list(REGISTRY) == list(CALLBACKS)
    for name, cls in REGISTRY.items():
        sig = inspect.signature(cls.__init__)
        params = [p for p in sig.parameters.values() if p.name != "self"]
        assert [(p.name, p.default) for p in params] == [
            (p.name, p.default) for p in CALLBACKS[name].params
        ], name
        assert [p.annotation for p in params] == [
            PARAM_TYPES[p.type] for p in CALLBACKS[name].params
        ], name


def test_tensorboard_events_hold_every_metric_of_metrics_csv(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util.tensor_util import make_ndarray

    trainer = workspace(tmp_path, [TB, LRM])
    summary = train(trainer, IRIS, out=tmp_path / "runs", run_name="r", verbose=False)
    run = Path(summary["run_dir"])
    rows = metrics_rows(run)
    acc = EventAccumulator(str(run / "tb"))
    acc.Reload()
    columns = [c for c in rows[0] if c != "epoch"]
    assert columns == ["train_loss", "val_loss", "val_accuracy", "lr"]
    assert sorted(acc.Tags()["tensors"]) == sorted(columns)
    for name in columns:
        events = acc.Tensors(name)
        assert [e.step for e in events] == [int(r["epoch"]) for r in rows]
        assert [float(make_ndarray(e.tensor_proto)) for e in events] == [
            float(r[name]) for r in rows
        ]


def test_model_checkpoint_keeps_exactly_the_top_k(tmp_path: Path) -> None:
    trainer = workspace(tmp_path, [top_k("val_loss", "min", 2)])
    summary = train(trainer, IRIS, out=tmp_path / "runs", run_name="r", verbose=False)
    run = Path(summary["run_dir"])
    rows = metrics_rows(run)
    assert len(rows) == 6
    kept = kept_files(run)
    assert kept == expected_top(rows, "val_loss", 2, "min")
    for name in kept:  # each is a full checkpoint of its epoch
        state = torch.load(run / "checkpoints" / name, weights_only=True)
        epoch = int(name.split("-")[2])
        assert state["epoch"] == epoch
        assert state["history"][-1]["val_loss"] == float(rows[epoch - 1]["val_loss"])


def test_model_checkpoint_max_mode(tmp_path: Path) -> None:
    trainer = workspace(tmp_path, [top_k("train_loss", "max", 3)])
    summary = train(trainer, IRIS, out=tmp_path / "runs", run_name="r", verbose=False)
    run = Path(summary["run_dir"])
    assert kept_files(run) == expected_top(metrics_rows(run), "train_loss", 3, "max")


def test_top_k_survives_an_interrupt_and_resume(tmp_path: Path) -> None:
    callbacks = [top_k("val_loss", "min", 2), TB]
    trainer = workspace(tmp_path, callbacks)
    whole = train(trainer, IRIS, out=tmp_path / "runs", run_name="whole", verbose=False)

    def interrupt(event: dict[str, Any]) -> None:
        if event["event"] == "step" and (event["epoch"], event["batch"]) == (4, 1):
            os.kill(os.getpid(), signal.SIGINT)  # the first signal: checkpoint after the step

    with pytest.raises(TrainingInterrupted):
        train(trainer, IRIS, out=tmp_path / "runs", run_name="cut", events=interrupt, verbose=False)
    run = tmp_path / "runs" / "iris-mlp-v1" / "cut"
    # what a run killed after writing a top-k file of a later epoch leaves behind
    stale = run / "checkpoints" / "top-epoch-0005-val_loss-0.0001.pt"
    stale.write_bytes(b"")
    resumed = train(trainer, IRIS, resume=run, verbose=False)
    assert resumed["final_metrics"] == whole["final_metrics"]
    assert kept_files(run) == kept_files(Path(whole["run_dir"]))
    assert kept_files(run) == expected_top(metrics_rows(run), "val_loss", 2, "min")


def test_learning_rate_monitor_adds_the_lr_column(tmp_path: Path) -> None:
    trainer = workspace(tmp_path, [LRM])
    summary = train(trainer, IRIS, out=tmp_path / "runs", run_name="r", verbose=False)
    rows = metrics_rows(Path(summary["run_dir"]))
    assert list(rows[0]) == ["epoch", "train_loss", "val_loss", "val_accuracy", "lr"]
    assert [float(r["lr"]) for r in rows] == [0.01] * 6


def test_without_callbacks_metrics_have_no_lr_column(tmp_path: Path) -> None:
    trainer = workspace(tmp_path, [])
    summary = train(trainer, IRIS, out=tmp_path / "runs", run_name="r", verbose=False)
    assert list(metrics_rows(Path(summary["run_dir"]))[0]) == [
        "epoch",
        "train_loss",
        "val_loss",
        "val_accuracy",
    ]


def test_a_monitor_the_run_never_produces_is_refused_before_training(tmp_path: Path) -> None:
    """The engine's AG258 (an error, as AG224 and AG247) refuses it; the trainer's own check
    behind it says the same in its words."""
    from arcgraph.training.callbacks import build_callbacks

    entry = top_k("val_mae", "min", 1)
    trainer = workspace(tmp_path, [entry])
    with pytest.raises(SpecError) as info:
        train(trainer, IRIS, out=tmp_path / "runs", run_name="r", verbose=False)
    assert str(info.value) == (
        f"the specs have 1 error; not training:\n{trainer}:17:14: error AG258 ModelCheckpoint"
        " monitor 'val_mae' is not a metric the trainer produces for a classification model"
        " (train_loss, val_loss, val_accuracy)"
    )
    assert not (tmp_path / "runs").exists()
    with pytest.raises(SpecError) as info:
        build_callbacks([entry], ("train_loss", "val_loss", "val_accuracy"))
    assert str(info.value) == (
        "callbacks[0]: arc.callbacks.ModelCheckpoint monitor 'val_mae' is not a metric of "
        "this run; it produces: train_loss, val_loss, val_accuracy"
    )


def test_tensorboard_missing_is_refused_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # how Python blocks an import
    trainer = workspace(tmp_path, [TB])
    with pytest.raises(SpecError) as info:
        train(trainer, IRIS, out=tmp_path / "runs", run_name="r", verbose=False)
    assert str(info.value) == (
        "callbacks[0]: arc.callbacks.TensorBoardLogger needs the tensorboard package, which is "
        "not installed: pip install 'arcgraph[train]' (or pip install tensorboard)"
    )
    assert not (tmp_path / "runs").exists()
