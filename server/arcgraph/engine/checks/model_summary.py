"""What a trainer (and hover) needs to know of a model spec, read from the registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arcgraph.engine.arc_forms import model_part
from arcgraph.engine.catalog import Catalog
from arcgraph.engine.diagnostics import Span
from arcgraph.engine.registry import Registry
from arcgraph.engine.source import YMap, YScalar

CLASSIFICATION_HINTS = ("entropy", "nll", "margin", "hinge", "soft_margin")


@dataclass
class ModelSummary:
    model_id: str
    path: Path
    inputs: dict[str, list[str]] = field(default_factory=dict)  # input -> columns
    outputs: list[str] = field(default_factory=list)
    loss_type: str | None = None
    loss_input: str | None = None
    loss_target: str | None = None
    task: str | None = None  # "classification" | "regression"
    loss_problem: str | None = None
    loss_span: Span = field(default_factory=lambda: Span(0, 0, 0, 0))


def loss_task(loss_type: str | None, catalog: Catalog | None = None) -> str | None:
    """classification or regression: from the catalog's hint, else from the name."""
    if not loss_type:
        return None
    if catalog is not None:
        info = catalog.loss(loss_type)
        task = info.task if info is not None else None
        if task:
            return str(task)
    name = loss_type.rsplit(".", 1)[-1]
    return "classification" if any(h in name for h in CLASSIFICATION_HINTS) else "regression"


def _str(node: Any) -> str | None:
    return node.value if isinstance(node, YScalar) and isinstance(node.value, str) else None


def summarize_model(
    registry: Registry, path: Path, model_id: str, catalog: Catalog | None = None
) -> ModelSummary | None:
    parsed = registry.parsed(path)
    if parsed is None:
        return None
    s = ModelSummary(model_id, Path(path))
    root = parsed.root
    if not isinstance(root, YMap):
        s.loss_problem = "the model file does not parse as a mapping"
        return s
    root = model_part(root)  # Arc's unified file: training.loss is its loss
    inputs = root.get("inputs")
    if isinstance(inputs, YMap):
        for name, _, spec in inputs.items():
            cols = spec.get("columns") if isinstance(spec, YMap) else None
            s.inputs[name] = [
                str(c.value) for c in getattr(cols, "items", []) if isinstance(c, YScalar)
            ]
    outputs = root.get("outputs")
    if isinstance(outputs, YMap):
        s.outputs = outputs.keys()
    loss = root.get("loss")
    key = root.key_node("loss")
    s.loss_span = key.span if key is not None else Span(0, 0, 0, 0)
    if not isinstance(loss, YMap):
        s.loss_problem = "it has no `loss` section" if loss is None else "`loss` is not a mapping"
        return s
    s.loss_type = _str(loss.get("type"))
    linputs = loss.get("inputs")
    if isinstance(linputs, YMap):
        s.loss_input = _str(linputs.get("input"))
        s.loss_target = _str(linputs.get("target"))
    s.task = loss_task(s.loss_type, catalog)
    if s.loss_type is None:
        s.loss_problem = "`loss.type` is missing"
    elif catalog is not None and catalog.loss(s.loss_type) is None:
        s.loss_problem = f"'{s.loss_type}' is not a torch loss function or loss class"
    elif s.loss_input is None or s.loss_target is None:
        s.loss_problem = "`loss.inputs` needs `input` and `target`"
    elif s.loss_input not in s.outputs:
        s.loss_problem = f"loss input '{s.loss_input}' is not one of its outputs"
    return s
