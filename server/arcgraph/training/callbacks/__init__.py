"""The `arc.callbacks` registry: the spec's `callbacks:` list built into callback objects.

A fixed table, never an import of a spec's string. To add a callback: a `Callback` subclass
(see base.py for the protocol) registered here, and its description (params, defaults, docs)
in `arcgraph.engine.callbacks_catalog`, which the checker, completion and hover read; a test
holds the two together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arcgraph.engine.callbacks_catalog import CALLBACKS
from arcgraph.training.callbacks.base import Callback, FitRun
from arcgraph.training.callbacks.lr_monitor import LearningRateMonitor
from arcgraph.training.callbacks.model_checkpoint import ModelCheckpoint
from arcgraph.training.callbacks.tensorboard import TensorBoardLogger
from arcgraph.training.errors import SpecError

REGISTRY: dict[str, type[Callback]] = {
    "arc.callbacks.TensorBoardLogger": TensorBoardLogger,
    "arc.callbacks.ModelCheckpoint": ModelCheckpoint,
    "arc.callbacks.LearningRateMonitor": LearningRateMonitor,
}


def build_callbacks(spec: Any, produced: Sequence[str]) -> list[Callback]:
    """The spec's `callbacks` (None: none) as objects; SpecError names the entry and the fix.

    The engine's checks have spoken before this runs: this is the trainer's own last line of
    defence, and the place for what only the run knows (its metrics, installed packages)."""
    if spec is None:
        return []
    if not isinstance(spec, list):
        raise SpecError("callbacks must be a list of {type, params} entries")
    built: list[Callback] = []
    for i, entry in enumerate(spec):
        where = f"callbacks[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise SpecError(f"{where}: an entry is a mapping with `type: arc.callbacks.<Name>`")
        unknown = sorted(set(entry) - {"type", "params"})
        if unknown:
            raise SpecError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
        qual = entry["type"]
        cls, info = REGISTRY.get(qual), CALLBACKS.get(qual)
        if cls is None or info is None:
            raise SpecError(
                f"{where}: '{qual}' is not a callback; use one of {', '.join(REGISTRY)}"
            )
        params = entry.get("params") or {}
        if not isinstance(params, dict):
            raise SpecError(f"{where}.params must be a mapping")
        for name, value in params.items():
            p = info.param(name)
            if p is None:
                known = ", ".join(q.name for q in info.params) or "none"
                raise SpecError(f"{where}.params: {qual} has no param '{name}' (params: {known})")
            if not p.accepts(value):
                raise SpecError(f"{where}.params.{name} must be {p.expected()}, got {value!r}")
        built.append(cls(**params))
    # the columns callbacks add (LearningRateMonitor's `lr`) are metrics of the run too
    metrics = (*produced, *(c for cb in built for c in cb.columns if c not in produced))
    for i, callback in enumerate(built):
        problem = callback.check(metrics)
        if problem:
            raise SpecError(f"callbacks[{i}]: {spec[i]['type']} {problem}")
    return built


__all__ = ["REGISTRY", "Callback", "FitRun", "build_callbacks"]
