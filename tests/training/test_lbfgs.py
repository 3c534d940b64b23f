"""torch.optim.LBFGS: `check` accepted it and `train` refused it. Now the loop steps it with a
closure (forward, loss, backward, clipping of one batch), and the one combination that cannot
work, gradient accumulation, is refused by the engine (AG215) for `check` and `train` alike."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
import torch

from arcgraph.engine.core import check_files
from arcgraph.engine.fixes import fixes_for
from arcgraph.training import TrainingInterrupted, train
from arcgraph.training.preflight import PreflightError
from edits import apply_edits

from .conftest import IRIS, Events, base_config, make_workspace

LBFGS = {"type": "torch.optim.LBFGS", "lr": 1.0, "params": {"line_search_fn": "strong_wolfe"}}
# All 120 training rows in one batch: LBFGS is a full-batch method.
FULL_BATCH = base_config(epochs=3, batch_size=120, device="cpu")


def test_lbfgs_trains_iris(tmp_path: Path, events: Events) -> None:
    trainer = make_workspace(tmp_path, "iris-linear-v1", FULL_BATCH, LBFGS)
    summary = train(trainer, IRIS, out=tmp_path / "runs", events=events, verbose=False)
    assert summary["status"] == "completed"
    metrics = summary["final_metrics"]
    assert metrics["val_accuracy"] >= 0.96
    assert metrics["val_loss"] < 0.1
    history = [e["train_loss"] for e in events.of("epoch")]
    assert history[0] > 1.0 > 0.1 > history[-1]  # from an untrained model's loss to a fit


def test_lbfgs_is_never_captured_in_a_cuda_graph(tmp_path: Path, events: Events) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    trainer = make_workspace(tmp_path, "iris-linear-v1", {**FULL_BATCH, "device": "cuda"}, LBFGS)
    summary = train(trainer, IRIS, out=tmp_path / "runs", events=events, verbose=False)
    assert summary["final_metrics"]["val_accuracy"] >= 0.96
    assert [e["message"] for e in events.of("info")] == [
        "CUDA graph not used, training eagerly: "
        "LBFGS re-evaluates the loss through a closure during its step"
    ]


def test_lbfgs_with_gradient_accumulation_is_refused_by_check_and_train(tmp_path: Path) -> None:
    config = base_config(batch_size=16, accumulate_grad_batches=4)
    trainer = make_workspace(tmp_path, "iris-linear-v1", config, LBFGS)
    (diag,) = [d for d in check_files([trainer], [tmp_path]) if d.code == "AG215"]
    line = trainer.read_text().splitlines()[diag.span.start_line]
    assert line.strip() == "accumulate_grad_batches: 4"
    assert diag.message == (
        "torch.optim.LBFGS re-evaluates one batch's loss several times during its step, so it "
        "cannot accumulate gradients over 4 batches; remove accumulate_grad_batches "
        "(batch_size: 64 gives the same rows per step) or use another optimizer"
    )
    original = trainer.read_text()
    (fix,) = fixes_for(original, diag)  # the quick fix: remove the key
    trainer.write_text(apply_edits(original, fix.edits))
    assert "accumulate_grad_batches" not in trainer.read_text()
    assert not [d for d in check_files([trainer], [tmp_path]) if d.code == "AG215"]
    trainer.write_text(original)
    with pytest.raises(PreflightError) as info:
        train(trainer, IRIS, out=tmp_path / "runs", verbose=False)
    assert [d.code for d in info.value.diagnostics if d.code.startswith("AG2")] == ["AG215"]
    assert diag.message in str(info.value)
    assert not (tmp_path / "runs").exists()


def test_lbfgs_interrupted_mid_epoch_resumes_to_the_same_weights(tmp_path: Path) -> None:
    """LBFGS's state (history of steps, curvature) goes through the checkpoint."""
    config = base_config(epochs=3, batch_size=40, log_every=1, device="cpu")
    trainer = make_workspace(tmp_path, "iris-linear-v1", config, LBFGS)
    whole = train(trainer, IRIS, out=tmp_path / "runs", run_name="whole", verbose=False)

    def interrupt(event: dict[str, Any]) -> None:
        if event["event"] == "step" and (event["epoch"], event["batch"]) == (2, 1):
            os.kill(os.getpid(), signal.SIGINT)  # the first signal: checkpoint after the step

    with pytest.raises(TrainingInterrupted) as info:
        train(trainer, IRIS, out=tmp_path / "runs", run_name="cut", events=interrupt, verbose=False)
    assert Path(info.value.checkpoint).name == "epoch-0002-batch-00001.pt"
    run = tmp_path / "runs" / "iris-linear-v1" / "cut"
    resumed = train(trainer, IRIS, resume=run, verbose=False)
    assert resumed["final_metrics"] == whole["final_metrics"]
    a = torch.load(run / "last.pt", weights_only=True)
    b = torch.load(Path(whole["run_dir"]) / "last.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in b)
