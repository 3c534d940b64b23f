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


MODULES_MODEL = """\
modules:
  Block:
    inputs: [x]
    graph:
      - {name: lin, type: torch.nn.Linear, params: {in_features: 6, out_features: 6}, inputs: {input: x}}
    outputs:
      output: lin.output
inputs:
  seq: {dtype: float32, shape: [null, 7, 6]}
graph:
  - {name: stack, type: arc.stack, params: {module: Block, count: 2}, inputs: {x: seq}}
  - {name: lstm, type: torch.nn.LSTM, params: {input_size: 6, hidden_size: 5, batch_first: true}, inputs: {input: stack.output}}
outputs:
  out: lstm.output.0
"""


def test_summary_json_multi_output_and_modules(tmp_path: Path, env: dict[str, str]) -> None:
    """A node with several outputs has `output_shapes` (a list) and `dtypes`; the modules the
    graph uses are listed with their uses, one copy's params and their nodes."""
    model = tmp_path / "seq-v1.model.yaml"
    model.write_text(MODULES_MODEL)
    res = summary(["--format", "json", str(model)], env)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    lstm_params = 4 * 5 * (6 + 5) + 2 * 4 * 5
    assert got["nodes"] == [
        {
            "name": "stack",
            "type": "arc.stack",
            "output_shape": ["B", 7, 6],
            "dtype": "float32",
            "params": 2 * 42,
            "trainable_params": 2 * 42,
        },
        {
            "name": "lstm",
            "type": "torch.nn.LSTM",
            "output_shapes": [["B", 7, 5], [[1, "B", 5], [1, "B", 5]]],
            "dtypes": ["float32", ["float32", "float32"]],
            "params": lstm_params,
            "trainable_params": lstm_params,
        },
    ]
    assert got["modules"] == {
        "Block": {
            "used_by": ["stack"],
            "params": 42,
            "trainable_params": 42,
            "inputs": {"x": ["B", 7, 6]},
            "outputs": {"output": ["B", 7, 6]},
            "nodes": [
                {
                    "name": "lin",
                    "type": "torch.nn.Linear",
                    "output_shape": ["B", 7, 6],
                    "dtype": "float32",
                    "params": 42,
                    "trainable_params": 42,
                }
            ],
        }
    }
    assert got["total_params"] == 2 * 42 + lstm_params
    assert got["size_mb_fp32"] == round((2 * 42 + lstm_params) * 4 / 1e6, 6)


def test_summary_table_nests_the_modules_nodes(tmp_path: Path, env: dict[str, str]) -> None:
    """The table shows a module's nodes indented under the node that uses it (an arc.stack:
    one copy's), with their shapes and one copy's params."""
    model = tmp_path / "seq-v1.model.yaml"
    model.write_text(MODULES_MODEL)
    res = summary([str(model)], env)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[3:6] == [
        "stack  arc.stack        [B, 7, 6]                                84",
        "  lin  torch.nn.Linear  [B, 7, 6]                                42",
        "lstm   torch.nn.LSTM    ([B, 7, 5], ([1, B, 5], [1, B, 5]))     260",
    ]
    assert "Total params: 344" in lines
