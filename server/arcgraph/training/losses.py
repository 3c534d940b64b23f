"""The model spec's `loss` section: the loss callable, the task it implies and its metrics.

The task decides the target's dtype (float for BCE/MSE, int64 class indices for cross-entropy)
and the extra validation metric (val_accuracy for classification, val_mae for regression).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from arcgraph.builder import torchnames
from arcgraph.training.errors import SpecError

# Short names (functional `x` or module class `X`) -> task.
_BINARY_PROB = {"binary_cross_entropy", "BCELoss"}
_BINARY_LOGIT = {"binary_cross_entropy_with_logits", "BCEWithLogitsLoss"}
_MULTICLASS = {"cross_entropy", "nll_loss", "CrossEntropyLoss", "NLLLoss"}
_REGRESSION = {"mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"} | {
    "MSELoss",
    "L1Loss",
    "SmoothL1Loss",
    "HuberLoss",
}
# Loss params that torch wants as tensors; YAML gives lists or numbers.
_TENSOR_PARAMS = {"weight", "pos_weight"}


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
        return torch.int64 if self.task == "multiclass" else torch.float32

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
    kwargs = {
        k: (
            torch.as_tensor(v, dtype=torch.float32, device=device)
            if k in _TENSOR_PARAMS and v is not None
            else v
        )
        for k, v in params.items()
    }
    short = type_name.rsplit(".", 1)[-1]
    try:
        if type_name.startswith(torchnames.NN_PREFIX) and not type_name.startswith(
            torchnames.FUNCTIONAL_PREFIX
        ):
            cls = torchnames.resolve_module_class(type_name)
            module = cls(**kwargs)
            base: Callable[..., torch.Tensor] = module
            kwargs = {}
        else:
            base = torchnames.resolve_function(type_name)
    except torchnames.NameRejected as err:
        raise SpecError(f"loss.type: {err}") from err
    except TypeError as err:
        raise SpecError(f"loss.params: {err}") from err

    if short in _BINARY_PROB or short in _BINARY_LOGIT:
        task = "binary"
    elif short in _MULTICLASS:
        task = "multiclass"
    elif short in _REGRESSION:
        task = "regression"
    else:
        task = "other"
    float_target = task != "multiclass"

    def fn(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # A [B] target against a [B, 1] prediction: align shapes instead of broadcasting to
        # [B, B] (what mse_loss would silently do).
        if float_target and target.shape != pred.shape and target.numel() == pred.numel():
            target = target.view(pred.shape)
        return base(pred, target, **kwargs)

    return LossSpec(
        type=type_name,
        fn=fn,
        input=inputs["input"],
        target=inputs["target"],
        task=task,
        logits=short in _BINARY_LOGIT,
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
