"""CUDA graph capture of the training step: skipped without CUDA (except the pure checks)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest
import torch

from arcgraph.training import placement, train
from arcgraph.training.cudagraph import capture_blocker

from .conftest import BREAST_CANCER, IRIS, Events, base_config, make_workspace

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_capture_blockers() -> None:
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert capture_blocker(torch.optim.Adam(params), torch.device("cpu")) == "not a CUDA device"
    cuda = torch.device("cuda")
    assert (
        capture_blocker(torch.optim.Adagrad(params), cuda)
        == "Adagrad does not support capturable=True"
    )
    assert (
        capture_blocker(torch.optim.Adam(params), cuda) == "Adam does not support capturable=True"
    )
    assert capture_blocker(torch.optim.Adam(params, capturable=True), cuda) is None
    assert capture_blocker(torch.optim.SGD(params), cuda) is None


def _run(
    root: Path, data: Path, model: str, graphs: bool, events: Events | None = None, **config: Any
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """-> (last.pt weights, final metrics)."""
    os.environ["ARCGRAPH_CUDA_GRAPHS"] = "1" if graphs else "0"
    try:
        trainer = make_workspace(root, model, base_config(device="cuda", **config))
        summary = train(trainer, data, out=root / "runs", events=events, run_name="r")
    finally:
        os.environ.pop("ARCGRAPH_CUDA_GRAPHS", None)
    weights = torch.load(Path(summary["run_dir"]) / "last.pt", weights_only=True)
    return weights, summary["final_metrics"]


def _assert_same(graph: dict[str, torch.Tensor], eager: dict[str, torch.Tensor]) -> None:
    assert graph.keys() == eager.keys()
    for k in eager:
        assert torch.allclose(graph[k].float(), eager[k].float(), rtol=1e-4, atol=1e-5), k


def _captured(events: Events) -> bool:
    return any(
        e["message"].startswith("captured the training step in a CUDA graph")
        for e in events.of("info")
    )


@needs_cuda
@pytest.mark.parametrize(
    "config",
    [
        {"epochs": 3, "batch_size": 32},
        {"epochs": 2, "batch_size": 32, "shuffle": False},
        {"epochs": 3, "batch_size": 16, "accumulate_grad_batches": 3, "gradient_clip_norm": 0.5},
        {"epochs": 2, "batch_size": 16, "gradient_clip_val": 0.01},
    ],
)
def test_graph_matches_eager(tmp_path: Path, events: Events, config: dict[str, Any]) -> None:
    """BatchNorm MLP on breast cancer: the same weights and metrics with and without capture
    (the epoch's last, smaller batch runs eagerly in both)."""
    graph, graph_metrics = _run(tmp_path / "g", BREAST_CANCER, "bc-mlp-v1", True, events, **config)
    eager, eager_metrics = _run(tmp_path / "e", BREAST_CANCER, "bc-mlp-v1", False, **config)
    assert _captured(events)
    _assert_same(graph, eager)
    for key, value in eager_metrics.items():
        assert graph_metrics[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key


@needs_cuda
def test_graph_matches_eager_with_rows_in_host_memory(
    tmp_path: Path, events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows that do not fit on the GPU stay in pinned host memory: each batch is copied into
    the graph's static inputs instead of gathered inside the graph."""
    monkeypatch.setattr(placement, "RESIDENT_FRACTION", 0.0)
    config = {"epochs": 2, "batch_size": 32, "pin_memory": True}
    graph, _ = _run(tmp_path / "g", BREAST_CANCER, "bc-mlp-v1", True, events, **config)
    eager, _ = _run(tmp_path / "e", BREAST_CANCER, "bc-mlp-v1", False, **config)
    assert "the data does not fit in device memory: batches are copied from the host" in [
        e["message"] for e in events.of("info")
    ]
    assert _captured(events)
    _assert_same(graph, eager)


@needs_cuda
def test_graph_matches_eager_cross_entropy(tmp_path: Path, events: Events) -> None:
    """Iris: int64 class targets, multi-class loss, accuracy metric."""
    graph, graph_metrics = _run(
        tmp_path / "g", IRIS, "iris-mlp-v1", True, events, epochs=4, batch_size=16
    )
    eager, eager_metrics = _run(tmp_path / "e", IRIS, "iris-mlp-v1", False, epochs=4, batch_size=16)
    assert _captured(events)
    _assert_same(graph, eager)
    assert graph_metrics["val_accuracy"] == eager_metrics["val_accuracy"]


@needs_cuda
def test_optimizer_without_capturable_falls_back_with_a_reason(
    tmp_path: Path, events: Events
) -> None:
    trainer = make_workspace(
        tmp_path,
        "iris-linear-v1",
        base_config(device="cuda", epochs=1),
        {"type": "torch.optim.Adagrad", "lr": 0.1},
    )
    train(trainer, IRIS, out=tmp_path / "runs", events=events)
    assert "CUDA graph not used, training eagerly: Adagrad does not support capturable=True" in [
        e["message"] for e in events.of("info")
    ]


SYNCING_MODEL = """
inputs:
  features:
    dtype: float32
    shape: [null, 4]
    columns: [sepal_length, sepal_width, petal_length, petal_width]
graph:
  - { name: linear, type: torch.nn.Linear, params: { in_features: 4, out_features: 3 },
      inputs: { input: features } }
  # an output whose size depends on the data: the host must read it, so capture fails
  - { name: large, type: torch.nonzero, inputs: { input: linear.output } }
outputs:
  logits: linear.output
  large: large.output
loss:
  type: torch.nn.functional.cross_entropy
  inputs: { input: logits, target: species }
"""


@needs_cuda
def test_capture_failure_falls_back_to_eager_and_still_trains(
    tmp_path: Path, events: Events
) -> None:
    trainer = make_workspace(
        tmp_path, "iris-syncing-v1", base_config(device="cuda", epochs=3), model_text=SYNCING_MODEL
    )
    summary = train(trainer, IRIS, out=tmp_path / "runs", events=events)
    notes = [e["message"] for e in events.of("info")]
    assert any(n.startswith("CUDA graph capture failed, training eagerly: ") for n in notes), notes
    assert not _captured(events)
    assert summary["status"] == "completed" and summary["epochs_completed"] == 3
    assert math.isfinite(summary["final_metrics"]["train_loss"])
