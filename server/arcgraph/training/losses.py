"""The model spec's `loss` section: the loss callable, the task it implies and its metrics.

The task decides the target's dtype (float for BCE/MSE, int64 class indices for cross-entropy)
and the extra validation metric (val_accuracy for classification, val_mae for regression). The
rules (task, target, the callable) live in `arcgraph.builder.loss`, shared with the shape check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from arcgraph.builder import loss as rules
from arcgraph.builder import torchnames
from arcgraph.training.errors import SpecError


@dataclass(frozen=True)
class LossSpec:
    """`fn(prediction, target) -> scalar`, plus what the trainer needs to know about it."""

    type: str
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    input: str  # the model output fed to the loss
    target: str  # the data column
    task: str  # "binary" | "multiclass" | "regression" | "other"
    logits: bool  # binary task on logits (threshold 0) rather than probabilities (0.5)

    @property
    def target_dtype(self) -> torch.dtype:
        return rules.target_dtype(self.task)

    @property
    def metrics(self) -> tuple[str, ...]:
        """Validation metrics produced, besides val_loss."""
        if self.task in ("binary", "multiclass"):
            return ("val_accuracy",)
        if self.task == "regression":
            return ("val_mae",)
        return ()


def parse_loss(model_spec: Mapping[str, Any], device: torch.device) -> LossSpec:
    loss = model_spec.get("loss")
    if not isinstance(loss, Mapping):
        raise SpecError("the model spec has no 'loss' section; the trainer needs one")
    type_name = loss.get("type")
    inputs = loss.get("inputs")
    if not isinstance(type_name, str):
        raise SpecError("loss.type must be a torch loss name")
    if not isinstance(inputs, Mapping) or not isinstance(inputs.get("input"), str):
        raise SpecError("loss.inputs.input must name one of the model's outputs")
    if not isinstance(inputs.get("target"), str):
        raise SpecError("loss.inputs.target must name a data column")
    outputs = model_spec.get("outputs") or {}
    if inputs["input"] not in outputs:
        raise SpecError(f"loss.inputs.input '{inputs['input']}' is not one of the model's outputs")
    params = loss.get("params") or {}
    if not isinstance(params, Mapping):
        raise SpecError("loss.params must be a mapping")
    try:
        fn = rules.make_loss(type_name, params, device)
    except torchnames.NameRejected as err:
        raise SpecError(f"loss.type: {err}") from err
    except TypeError as err:
        raise SpecError(f"loss.params: {err}") from err
    return LossSpec(
        type=type_name,
        fn=fn,
        input=inputs["input"],
        target=inputs["target"],
        task=rules.loss_task(type_name),
        logits=rules.on_logits(type_name),
    )


def correct_count(spec: LossSpec, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Number of correct predictions (a 0-d tensor, no host sync)."""
    if spec.task == "binary":
        threshold = 0.0 if spec.logits else 0.5
        return ((pred.reshape(-1) > threshold) == (target.reshape(-1) > 0.5)).sum()
    # Class dimension is 1, as in cross_entropy ([N, C] or [N, C, d1, ...]).
    return (pred.argmax(dim=1) == target).sum()


def abs_error(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(sum of absolute errors, number of elements), for a mean over the whole set."""
    if target.shape != pred.shape and target.numel() == pred.numel():
        target = target.view(pred.shape)
    diff = pred - target
    return diff.abs().sum(), diff.numel()
