"""A bf16 run with a per-step scheduler, killed with SIGKILL mid-epoch and resumed, ends exactly
as an uninterrupted one (issue 12: the scaler-free bf16 state, the scheduler's state and `lr`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .conftest import BREAST_CANCER, base_config, make_workspace
from .test_resume import assert_same_result, cli, kill_mid_epoch

CONFIG = base_config(epochs=8, batch_size=8, log_every=1, seed=21, mixed_precision="bf16")
SCHEDULER = {
    "type": "torch.optim.lr_scheduler.OneCycleLR",
    "params": {"max_lr": 0.02},
    "interval": "step",
}


def _workspace(root: Path, config: dict[str, object]) -> Path:
    """The bc-mlp-v1 workspace with SCHEDULER added to its trainer spec."""
    trainer = make_workspace(root, "bc-mlp-v1", config)
    spec = yaml.safe_load(trainer.read_text())
    spec["scheduler"] = SCHEDULER
    trainer.write_text(yaml.safe_dump(spec, sort_keys=False))
    return trainer


def _args(trainer: Path, out: Path) -> list[str]:
    return ["--trainer", str(trainer), "--data", str(BREAST_CANCER), "--out", str(out)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ref-bf16")
    trainer = _workspace(root, CONFIG)
    proc = cli([*_args(trainer, root / "runs"), "--name", "r"])
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return root / "runs" / "bc-mlp-v1" / "r"


def test_bf16_sigkill_mid_epoch_then_resume_matches_uninterrupted(
    tmp_path: Path, reference: Path
) -> None:
    trainer = _workspace(tmp_path, CONFIG)
    events = tmp_path / "events.jsonl"
    proc = cli([*_args(trainer, tmp_path / "runs"), "--name", "r", "--events", str(events)])
    run = tmp_path / "runs" / "bc-mlp-v1" / "r"
    done = kill_mid_epoch(proc, events, run, epoch=3, batch=20)
    assert "epoch-0002.pt" in done and "epoch-0008.pt" not in done
    resumed = cli(["--trainer", str(trainer), "--data", str(BREAST_CANCER), "--resume", str(run)])
    _out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert_same_result(run, reference)
    header, *rows = (run / "metrics.csv").read_text().splitlines()
    header = header.split(",")
    # the scheduler ran and its state came back: the lr column follows the one-cycle curve
    lrs = [float(row.split(",")[header.index("lr")]) for row in rows]
    assert max(lrs) <= 0.02 and lrs[-1] < 1e-4 and lrs[0] < lrs[2]
    # and it was a bf16 run: its metrics differ from float32's
    fp32 = base_config(epochs=8, batch_size=8, log_every=1, seed=21)
    fp32_trainer = _workspace(tmp_path / "fp32", fp32)
    other = cli([*_args(fp32_trainer, tmp_path / "fp32" / "runs"), "--name", "r"])
    _out, err = other.communicate(timeout=300)
    assert other.returncode == 0, err
    fp32_metrics = (tmp_path / "fp32" / "runs" / "bc-mlp-v1" / "r" / "metrics.csv").read_text()
    assert (run / "metrics.csv").read_text() != fp32_metrics
