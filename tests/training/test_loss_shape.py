"""The trainer refuses a loss that cannot take the output and the target in the shape check's
own words (arcgraph.builder.loss), one line, before any step (issue 11)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import BREAST_CANCER, base_config, make_workspace
from .test_faults import cli, one_error_line

FEATURES = ["mean_radius", "mean_texture", "mean_perimeter"]
MODEL = f"""\
inputs:
  features: {{dtype: float32, shape: [null, 3], columns: [{", ".join(FEATURES)}]}}
graph:
  - name: fc
    type: torch.nn.Linear
    params: {{in_features: 3, out_features: 4}}
    inputs: {{input: features}}
outputs:
  logits: fc.output
loss:
  type: torch.nn.functional.binary_cross_entropy_with_logits
  inputs: {{input: logits, target: diagnosis}}
"""
MESSAGE = (
    "loss torch.nn.functional.binary_cross_entropy_with_logits: output 'logits' is [B, 4] but "
    "the target from column 'diagnosis' is [B]; binary_cross_entropy_with_logits compares each "
    "value with its row's 0/1 target: make output 'logits' one value per row ([B] or [B, 1], "
    "e.g. out_features: 1), or use torch.nn.functional.cross_entropy for 4 classes "
    "(class-index targets)"
)


def test_train_says_what_check_says(tmp_path: Path) -> None:
    trainer = make_workspace(tmp_path, "bce4-v1", base_config(epochs=1), model_text=MODEL)
    args = ("--trainer", str(trainer), "--data", str(BREAST_CANCER), "--out", str(tmp_path / "r"))
    assert one_error_line(cli(*args)) == MESSAGE
    fixed = MODEL.replace("out_features: 4", "out_features: 1")
    (tmp_path / "models" / "bce4-v1.model.yaml").write_text(fixed)
    assert cli(*args).returncode == 0


def test_check_says_it_on_the_loss_key(tmp_path: Path) -> None:
    make_workspace(tmp_path, "bce4-v1", base_config(epochs=1), model_text=MODEL)
    out = subprocess.run(
        [sys.executable, "-m", "arcgraph", "check", str(tmp_path / "models")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 1
    path = tmp_path / "models" / "bce4-v1.model.yaml"
    assert out.stdout.splitlines()[0] == f"{path}:10:1: error AG314 {MESSAGE}"
