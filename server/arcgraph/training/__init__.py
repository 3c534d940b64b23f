"""The bundled PyTorch trainer: builds a model spec and trains it with a trainer spec.

Modules, one job each: build (spec -> nn.Module), config (trainer spec fields), losses,
data (pyarrow -> tensors), split, placement, loop, early_stopping, checkpoint (durable files),
rundir, events, signals, device, optim, cudagraph, preflight (engine checks), api, cli.
Importing this package imports torch; `arcgraph` itself does not.
"""

from __future__ import annotations

from arcgraph.training.api import train
from arcgraph.training.build import build_model, example_inputs
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
