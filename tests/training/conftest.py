"""Shared helpers for the trainer tests: real data from <repo>/../shared/data (or the copies in
examples/data), tiny workspaces."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
try:
    import arcgraph  # noqa: F401
except ImportError:  # not installed (pip install -e .): use the source tree
    sys.path.insert(0, str(REPO / "server"))

import torch  # noqa: E402

# The project's shared data sets; the copies bundled in examples/data when shared/ is absent.
DATA = REPO / ".." / "shared" / "data"
if not (DATA / "iris.csv").exists():
    DATA = REPO / "examples" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BREAST_CANCER = DATA / "breast_cancer.csv"
IRIS = DATA / "iris.csv"
DIABETES = DATA / "diabetes.csv"

torch.set_num_threads(1)


def base_config(**overrides: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "epochs": 3,
        "batch_size": 32,
        "validation_split": 0.2,
        "shuffle": True,
        "seed": 5,
        "verbose": False,
    }
    cfg.update(overrides)
    return {k: v for k, v in cfg.items() if v is not None}


def make_workspace(
    root: Path,
    model: str,
    config: dict[str, Any],
    optimizer: dict[str, Any] | None = None,
    model_text: str | None = None,
    name: str = "t",
) -> Path:
    """root/models/<model>.model.yaml (a fixture, or `model_text`) and a trainer; -> trainer path."""
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "trainers").mkdir(exist_ok=True)
    text = (
        model_text
        if model_text is not None
        else (FIXTURES / "models" / f"{model}.model.yaml").read_text()
    )
    (root / "models" / f"{model}.model.yaml").write_text(text)
    trainer = {
        "model_ref": model,
        "optimizer": optimizer or {"type": "torch.optim.Adam", "lr": 0.01},
        "config": config,
    }
    path = root / "trainers" / f"{name}.trainer.yaml"
    path.write_text(yaml.safe_dump(trainer, sort_keys=False))
    return path


class Events(list):
    """An event sink that keeps everything; `of(kind)` filters."""

    def __call__(self, event: dict[str, Any]) -> None:
        self.append(event)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self if e["event"] == kind]


@pytest.fixture
def events() -> Events:
    return Events()
