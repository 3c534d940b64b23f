"""Learning-rate schedulers (spec v1.1) in real runs: when they step, the `lr` column of
metrics.csv, OneCycleLR's total_steps from the trainer, and resume."""

from __future__ import annotations

import csv
import math
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from arcgraph.training import SpecError, TrainingInterrupted, train

from .conftest import BREAST_CANCER, base_config, make_workspace

ADAM = {"type": "torch.optim.Adam", "lr": 0.01}


def _trainer(root: Path, scheduler: dict[str, Any] | None, **config: Any) -> Path:
    path = make_workspace(root, "bc-mlp-v1", base_config(**config), ADAM)
    if scheduler is not None:
        spec = yaml.safe_load(path.read_text())
        spec["scheduler"] = scheduler
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _rows(summary: dict[str, Any]) -> list[dict[str, str]]:
    with open(Path(summary["run_dir"]) / "metrics.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _lrs(summary: dict[str, Any]) -> list[float]:
    return [float(row["lr"]) for row in _rows(summary)]


def test_cosine_annealing_per_epoch_follows_its_closed_form(tmp_path: Path) -> None:
    sched = {
        "type": "torch.optim.lr_scheduler.CosineAnnealingLR",
        "params": {"T_max": 4, "eta_min": 0.001},
    }
    summary = train(_trainer(tmp_path, sched, epochs=5), BREAST_CANCER, out=tmp_path / "runs")
    lr0, eta = 0.01, 0.001
    closed = [eta + (lr0 - eta) * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(5)]
    assert _lrs(summary) == pytest.approx(closed, rel=1e-12)
    assert list(_rows(summary)[0]) == ["epoch", "train_loss", "val_loss", "val_accuracy", "lr"]


def test_one_cycle_per_step_equals_torch_stepped_by_hand(tmp_path: Path) -> None:
    """total_steps is supplied by the trainer: epochs x optimizer steps per epoch after
    accumulation (455 training rows, batches of 32 -> 15 batches -> 8 steps with 2 batches each)."""
    sched = {
        "type": "torch.optim.lr_scheduler.OneCycleLR",
        "params": {"max_lr": 0.05},
        "interval": "step",
    }
    trainer = _trainer(tmp_path, sched, epochs=3, accumulate_grad_batches=2)
    summary = train(trainer, BREAST_CANCER, out=tmp_path / "runs")
    steps = 8
    weight = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([weight], lr=0.01)
    hand = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=3 * steps)
    per_step = []
    for _ in range(3 * steps):
        per_step.append(opt.param_groups[0]["lr"])
        opt.step()
        hand.step()
    assert _lrs(summary) == [per_step[steps - 1], per_step[2 * steps - 1], per_step[3 * steps - 1]]
    state = torch.load(
        sorted((Path(summary["run_dir"]) / "checkpoints").glob("*.pt"))[-1], weights_only=False
    )
    assert state["scheduler"]["total_steps"] == 24
    assert state["scheduler"]["last_epoch"] == 24


def test_reduce_on_plateau_steps_with_the_monitor(tmp_path: Path) -> None:
    """patience 0 and a threshold no epoch can beat: epoch 1 sets the best value, each later
    epoch fails to beat it and halves the lr for the next one."""
    sched = {
        "type": "torch.optim.lr_scheduler.ReduceLROnPlateau",
        "params": {"mode": "max", "patience": 0, "factor": 0.5, "threshold": 10.0},
        "monitor": "val_accuracy",
    }
    summary = train(_trainer(tmp_path, sched, epochs=4), BREAST_CANCER, out=tmp_path / "runs")
    assert _lrs(summary) == [0.01, 0.01, 0.005, 0.0025]


def test_sequential_lr_builds_its_nested_schedulers(tmp_path: Path) -> None:
    sched = {
        "type": "torch.optim.lr_scheduler.SequentialLR",
        "params": {
            "schedulers": [
                {
                    "type": "torch.optim.lr_scheduler.ConstantLR",
                    "params": {"factor": 0.5, "total_iters": 2},
                },
                {"type": "torch.optim.lr_scheduler.ExponentialLR", "params": {"gamma": 0.5}},
            ],
            "milestones": [2],
        },
    }
    summary = train(_trainer(tmp_path, sched, epochs=4), BREAST_CANCER, out=tmp_path / "runs")
    assert _lrs(summary) == pytest.approx([0.005, 0.005, 0.01, 0.005], rel=1e-12)


def test_a_v1_0_spec_has_no_lr_column(tmp_path: Path) -> None:
    summary = train(_trainer(tmp_path, None, epochs=1), BREAST_CANCER, out=tmp_path / "runs")
    assert list(_rows(summary)[0]) == ["epoch", "train_loss", "val_loss", "val_accuracy"]
    state = torch.load(
        Path(summary["run_dir"]) / "checkpoints" / "epoch-0001.pt", weights_only=False
    )
    assert "scheduler" not in state and "last_lr" not in state


def test_resumed_run_continues_the_schedule(tmp_path: Path) -> None:
    """Interrupted mid-epoch (SIGINT: a checkpoint after the current step), resumed: the lr
    sequence and the final metrics equal an uninterrupted run's."""
    sched = {
        "type": "torch.optim.lr_scheduler.OneCycleLR",
        "params": {"max_lr": 0.05},
        "interval": "step",
    }
    config = {"epochs": 3, "log_every": 1}
    whole = train(_trainer(tmp_path / "a", sched, **config), BREAST_CANCER, out=tmp_path / "ra")
    trainer = _trainer(tmp_path / "b", sched, **config)

    def interrupt(event: dict[str, Any]) -> None:
        if event["event"] == "step" and event.get("epoch") == 2 and event.get("batch") == 5:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainingInterrupted) as stopped:
        train(trainer, BREAST_CANCER, out=tmp_path / "rb", events=interrupt)
    checkpoint = Path(str(stopped.value.checkpoint))
    assert checkpoint.name == "epoch-0002-batch-00005.pt"
    resumed = train(trainer, BREAST_CANCER, out=tmp_path / "rb", resume=checkpoint.parents[1])
    assert _lrs(resumed) == _lrs(whole)
    assert resumed["final_metrics"] == whole["final_metrics"]


def test_a_monitor_this_run_never_produces_is_refused_before_training(tmp_path: Path) -> None:
    """The engine's AG247 (an error, as AG224) refuses it; the trainer's own check behind it
    says the same in its words."""
    from arcgraph.training.api import _scheduler_spec
    from arcgraph.training.config import parse_config
    from arcgraph.training.losses import parse_loss

    sched = {"type": "torch.optim.lr_scheduler.ReduceLROnPlateau", "monitor": "val_mae"}
    trainer = _trainer(tmp_path, sched)
    with pytest.raises(SpecError) as err:
        train(trainer, BREAST_CANCER, out=tmp_path / "runs")
    assert str(err.value) == (
        f"the specs have 1 error; not training:\n{trainer}:14:12: error AG247 scheduler.monitor"
        " 'val_mae' is not a metric the trainer produces for a classification model"
        " (train_loss, val_loss, val_accuracy)"
    )
    assert not (tmp_path / "runs").exists()
    spec = yaml.safe_load(trainer.read_text())
    model = yaml.safe_load((tmp_path / "models" / "bc-mlp-v1.model.yaml").read_text())
    loss = parse_loss(model, torch.device("cpu"))
    with pytest.raises(SpecError) as err:
        _scheduler_spec(spec, parse_config(spec["config"]), loss, "val_loss")
    assert str(err.value) == (
        "scheduler.monitor 'val_mae' is not a metric of this run; it produces: train_loss, "
        "val_loss, val_accuracy"
    )


def test_a_scheduler_needing_a_callable_is_refused_by_the_preflight(tmp_path: Path) -> None:
    sched = {"type": "torch.optim.lr_scheduler.LambdaLR"}
    with pytest.raises(SpecError) as err:
        train(_trainer(tmp_path, sched), BREAST_CANCER, out=tmp_path / "runs")
    assert "AG244" in str(err.value)
    assert "needs a Python function (lr_lambda), which a YAML spec cannot give" in str(err.value)
