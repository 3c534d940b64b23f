"""End to end on the real data sets in <repo>/../shared/data, through the Python API."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.csv as pacsv
import torch

from arcgraph.training import train

from .conftest import BREAST_CANCER, DIABETES, FIXTURES, IRIS, Events


def workspace(tmp_path: Path, trainer: str) -> Path:
    shutil.copytree(FIXTURES / "models", tmp_path / "models")
    shutil.copytree(FIXTURES / "trainers", tmp_path / "trainers")
    return tmp_path / "trainers" / f"{trainer}.trainer.yaml"


def test_breast_cancer_bce(tmp_path: Path, events: Events) -> None:
    summary = train(
        workspace(tmp_path, "bc"),
        BREAST_CANCER,
        out=tmp_path / "runs",
        events=events,
        verbose=False,
    )
    assert summary["status"] == "completed"
    assert summary["final_metrics"]["val_accuracy"] >= 0.93
    assert summary["monitor"] == "val_loss"
    run = Path(summary["run_dir"])
    assert run.parent == tmp_path / "runs" / "bc-mlp-v1"
    for name in (
        "model.yaml",
        "trainer.yaml",
        "run.json",
        "split.json",
        "metrics.csv",
        "best.pt",
        "last.pt",
        "summary.json",
        "loss.png",
    ):
        assert (run / name).is_file(), name
    assert (run / "model.yaml").read_text() == (
        FIXTURES / "models" / "bc-mlp-v1.model.yaml"
    ).read_text()
    info = json.loads((run / "run.json").read_text())
    assert info["versions"]["torch"] == torch.__version__
    assert info["data"]["size"] == BREAST_CANCER.stat().st_size
    assert set(summary) >= {
        "status",
        "epochs_completed",
        "best_epoch",
        "best_metric",
        "monitor",
        "final_metrics",
        "run_dir",
        "duration_s",
    }
    assert json.loads((run / "summary.json").read_text()) == summary
    split = json.loads((run / "split.json").read_text())
    assert (len(split["train"]), len(split["validation"])) == (455, 114)
    assert (run / "loss.png").read_bytes()[:4] == b"\x89PNG"
    lines = (run / "metrics.csv").read_text().splitlines()
    assert lines[0] == "epoch,train_loss,val_loss,val_accuracy" and len(lines) == 16
    best = torch.load(run / "best.pt", weights_only=True)
    assert list(best)[:3] == ["norm.weight", "norm.bias", "norm.running_mean"]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert events.of("start")[0]["run_dir"] == str(run)
    assert len(events.of("epoch")) == 15 and len(events.of("checkpoint")) == 15


def test_iris_cross_entropy_on_string_labels(tmp_path: Path) -> None:
    summary = train(workspace(tmp_path, "iris"), IRIS, out=tmp_path / "runs", verbose=False)
    assert summary["final_metrics"]["val_accuracy"] >= 0.90
    info = json.loads((Path(summary["run_dir"]) / "run.json").read_text())
    assert info["labels"] == ["setosa", "versicolor", "virginica"]
    assert info["task"] == "multiclass"


def test_diabetes_regression_beats_the_mean_predictor(tmp_path: Path) -> None:
    summary = train(workspace(tmp_path, "diabetes"), DIABETES, out=tmp_path / "runs", verbose=False)
    split = json.loads((Path(summary["run_dir"]) / "split.json").read_text())
    y = torch.tensor(
        pacsv.read_csv(DIABETES).column("progression").to_pylist(), dtype=torch.float64
    )
    mean = y[split["train"]].mean()
    mean_mse = float(((y[split["validation"]] - mean) ** 2).mean())
    assert "val_mae" in summary["final_metrics"]
    assert summary["final_metrics"]["val_loss"] < 0.6 * mean_mse
