"""Helpers to check spec texts in a throwaway workspace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from arcgraph.engine.catalog import Catalog
from arcgraph.engine.checks.context import CheckOptions
from arcgraph.engine.core import Engine
from arcgraph.engine.diagnostics import Diagnostic
from arcgraph.engine.registry import Registry
from arcgraph.worker.client import TorchWorker

MODEL = """\
inputs:
  features:
    dtype: float32
    shape: [null, 3]
    columns: [a, b, c]
graph:
  - name: fc
    type: torch.nn.Linear
    params: {in_features: 3, out_features: 1}
    inputs: {input: features}
  - name: prob
    type: torch.nn.functional.sigmoid
    inputs: {input: fc.output}
outputs:
  prediction: prob.output
loss:
  type: torch.nn.functional.binary_cross_entropy
  inputs: {input: prediction, target: label}
"""

TRAINER = """\
model_ref: tiny-v1
optimizer:
  type: torch.optim.Adam
  lr: 0.01
config:
  epochs: 3
  batch_size: 8
  validation_split: 0.2
  shuffle: true
"""

Row = tuple[str, str, tuple[int, int, int, int]]


def rows(diags: list[Diagnostic]) -> list[Row]:
    return [
        (d.code, d.message, (d.span.start_line, d.span.start_col, d.span.end_line, d.span.end_col))
        for d in diags
    ]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tiny-v1.model.yaml").write_text(MODEL)
    return tmp_path


CheckFn = Callable[..., list[Diagnostic]]


@pytest.fixture
def check_text(workspace: Path) -> CheckFn:
    """Check `text` as file `name` in the workspace, structure stage only (no torch)."""

    def run(
        text: str,
        name: str = "t.trainer.yaml",
        *,
        catalog=None,
        extra: dict[str, str] | None = None,
    ):
        for fname, body in (extra or {}).items():
            (workspace / fname).parent.mkdir(parents=True, exist_ok=True)
            (workspace / fname).write_text(dedent(body))
        path = workspace / name
        path.write_text(text)
        engine = Engine(Registry.scan([workspace]), None, CheckOptions(), catalog=catalog)
        a = engine.analyze(path, text)
        return engine.check_structure(a)

    return run


@pytest.fixture
def check_full(workspace: Path, worker: TorchWorker, catalog: Catalog) -> CheckFn:
    """Check `text` with every stage: structure with the catalog, then the torch probes."""

    def run(text: str, name: str = "t.trainer.yaml", *, extra: dict[str, str] | None = None):
        for fname, body in (extra or {}).items():
            (workspace / fname).parent.mkdir(parents=True, exist_ok=True)
            (workspace / fname).write_text(dedent(body))
        path = workspace / name
        path.write_text(text)
        engine = Engine(Registry.scan([workspace]), worker, CheckOptions(), catalog=catalog)
        return engine.check(path, text)

    return run
