"""The bundled PyTorch trainer: trains a model spec with a trainer spec.

Modules, one job each: config (trainer spec fields), losses, data (pyarrow -> tensors), split,
placement, loop, early_stopping, checkpoint (durable files), rundir, events, signals, device,
optim, cudagraph, preflight (engine checks), api, cli. The model itself is built by
`arcgraph.builder` (torch only), which the torch worker shares.

Importing this package imports nothing heavy: `train`, `build_model` and `example_inputs` are
loaded on first use, so `arcgraph.training.errors` (say) needs neither torch, numpy nor pyarrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from arcgraph.training.errors import (
    DataError,
    NodeRuntimeError,
    NonFiniteLossError,
    ResumeError,
    SpecBuildError,
    SpecError,
    TrainError,
    TrainingInterrupted,
)

if TYPE_CHECKING:
    from arcgraph.builder.build import build_model, example_inputs
    from arcgraph.training.api import train

# Public names that import torch (and, for `train`, numpy and pyarrow): module of each.
_LAZY = {
    "train": "arcgraph.training.api",
    "build_model": "arcgraph.builder.build",
    "example_inputs": "arcgraph.builder.build",
}

__all__ = [
    "DataError",
    "NodeRuntimeError",
    "NonFiniteLossError",
    "ResumeError",
    "SpecBuildError",
    "SpecError",
    "TrainError",
    "TrainingInterrupted",
    "build_model",
    "example_inputs",
    "train",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups skip this function
    return value
