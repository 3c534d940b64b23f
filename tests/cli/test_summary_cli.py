"""`arcgraph summary`: a real subprocess with the real torch worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MODEL = """\
inputs:
  pixels: {dtype: float32, shape: [null, 64]}
graph:
  - {name: image, type: torch.reshape, params: {shape: [-1, 1, 8, 8]}, inputs: {input: pixels}}
  - {name: conv, type: torch.nn.Conv2d, params: {in_channels: 1, out_channels: 8, kernel_size: 3, padding: 1}, inputs: {input: image.output}}
  - {name: flat, type: torch.flatten, params: {start_dim: 1}, inputs: {input: conv.output}}
  - {name: head, type: torch.nn.Linear, params: {in_features: 512, out_features: 10}, inputs: {input: flat.output}}
outputs:
  logits: head.output
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    e = dict(os.environ)
    e["ARCGRAPH_CACHE_DIR"] = str(tmp_path_factory.mktemp("cli-cache"))
    return e


def summary(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arcgraph", "summary", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_summary_json(tmp_path: Path, env: dict[str, str]) -> None:
    model = tmp_path / "cnn-v1.model.yaml"
    model.write_text(MODEL)
    res = summary(["--format", "json", str(model)], env)
    assert res.returncode == 0, res.stderr
    node = {"dtype": "float32"}
    assert json.loads(res.stdout) == {
        "nodes": [
            {
                "name": "image",
                "type": "torch.reshape",
                "output_shape": ["B", 1, 8, 8],
                **node,
                "params": 0,
                "trainable_params": 0,
            },
            {
                "name": "conv",
                "type": "torch.nn.Conv2d",
                "output_shape": ["B", 8, 8, 8],
                **node,
                "params": 80,
                "trainable_params": 80,
            },
            {
                "name": "flat",
                "type": "torch.flatten",
                "output_shape": ["B", 512],
                **node,
                "params": 0,
                "trainable_params": 0,
            },
            {
                "name": "head",
                "type": "torch.nn.Linear",
                "output_shape": ["B", 10],
                **node,
                "params": 5130,
                "trainable_params": 5130,
            },
        ],
        "inputs": {"pixels": ["B", 64]},
        "outputs": {"logits": ["B", 10]},
        "total_params": 5210,
        "trainable_params": 5210,
        "non_trainable_params": 0,
        "size_mb_fp32": 0.02084,
    }


def test_summary_table(tmp_path: Path, env: dict[str, str]) -> None:
    model = tmp_path / "cnn-v1.model.yaml"
    model.write_text(MODEL)
    res = summary([str(model)], env)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[1].split() == ["Node", "Type", "Output", "shape", "Params"]
    assert lines[4].split() == ["conv", "torch.nn.Conv2d", "[B,", "8,", "8,", "8]", "80"]
    assert "Total params: 5,210" in lines
    assert "Params size (MB, float32): 0.02" in lines


def test_summary_of_a_broken_model_says_why(tmp_path: Path, env: dict[str, str]) -> None:
    model = tmp_path / "bad-v1.model.yaml"
    model.write_text(MODEL.replace("in_features: 512", "in_features: 500"))
    res = summary([str(model)], env)
    assert res.returncode == 1
    assert "Linear in_features 500 but input has 512 features" in res.stdout
    assert "no shapes to show" in res.stderr
