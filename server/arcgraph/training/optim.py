"""The trainer spec's `optimizer` section -> a torch.optim optimizer (names via torchnames)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import torch

from arcgraph.builder import torchnames
from arcgraph.training.config import OptimizerSpec
from arcgraph.training.errors import OptimizerStepError, SpecError, TrainError


def optimizer_class(spec: OptimizerSpec) -> type[torch.optim.Optimizer]:
    try:
        return torchnames.resolve_optimizer(spec.type)
    except torchnames.NameRejected as err:
        raise SpecError(f"optimizer.type: {err}") from err


def supports_capturable(cls: type[torch.optim.Optimizer]) -> bool:
    return _accepts(cls, "capturable")


def make_optimizer(
    spec: OptimizerSpec, params: Iterable[torch.nn.Parameter], *, capturable: bool = False
) -> torch.optim.Optimizer:
    """`capturable=True` (for CUDA graphs) is passed only to optimizers that accept it, with
    `fused=True` where the optimizer has a fused kernel and the spec did not choose."""
    cls = optimizer_class(spec)
    # lr with the rest: each torch.optim class takes it by keyword (Optimizer's own
    # __init__, the declared type, does not)
    kwargs: dict[str, Any] = {"lr": spec.lr, **spec.params}
    if capturable and supports_capturable(cls):
        kwargs["capturable"] = True
        # One fused kernel per step instead of a loop of foreach kernels, unless the spec
        # chose an implementation itself.
        if _accepts(cls, "fused") and not ({"fused", "foreach"} & kwargs.keys()):
            kwargs["fused"] = True
    for key, value in list(kwargs.items()):
        if isinstance(value, list):  # YAML lists -> tuples (betas, etas, step_sizes)
            kwargs[key] = tuple(value)
    params = list(params)
    if kwargs.get("fused") and "fused" not in spec.params:
        try:
            return cls(params, **kwargs)
        except (TypeError, ValueError, RuntimeError):
            del kwargs["fused"]  # not for these parameters (dtype, device): the default
    try:
        return cls(params, **kwargs)
    except (TypeError, ValueError) as err:
        raise SpecError(f"optimizer.params for {spec.type}: {err}") from err


def _accepts(cls: type[torch.optim.Optimizer], name: str) -> bool:
    return name in inspect.signature(cls.__init__).parameters


def needs_closure(optimizer: torch.optim.Optimizer) -> bool:
    """LBFGS evaluates the loss (and gradients) several times per step, through a closure.
    The engine refuses it with gradient accumulation (AG215): a closure sees one batch."""
    return isinstance(optimizer, torch.optim.LBFGS)


def clip_grads(
    params: list[torch.nn.Parameter], clip_val: float | None, clip_norm: float | None
) -> None:
    """The trainer spec's clipping: by value, then by norm (no host sync in either)."""
    if clip_val is not None:
        torch.nn.utils.clip_grad_value_(params, clip_val)
    if clip_norm is not None:
        torch.nn.utils.clip_grad_norm_(params, clip_norm)


def optimizer_step(
    optimizer: torch.optim.Optimizer,
    closure: Callable[[], Any] | None = None,
    scaler: torch.amp.GradScaler | None = None,
) -> Any:
    """optimizer.step (through fp16's GradScaler when given), its refusals (SparseAdam on a
    dense gradient) as one error line."""
    try:
        if scaler is not None:
            return scaler.step(optimizer)
        return optimizer.step() if closure is None else optimizer.step(closure)
    except (TrainError, torch.OutOfMemoryError):
        raise
    except (RuntimeError, ValueError, TypeError) as err:
        cls = type(optimizer)
        raise OptimizerStepError(
            f"optimizer.type: {cls.__module__.split('.')[0]}.optim.{cls.__name__} failed in its"
            f" step: {err}; use another optimizer.type in the trainer spec (`arcgraph check`"
            " names the node it cannot train)"
        ) from err


def clip_and_step(
    optimizer: torch.optim.Optimizer,
    params: list[torch.nn.Parameter],
    clip_val: float | None,
    clip_norm: float | None,
    scaler: torch.amp.GradScaler | None = None,
) -> bool:
    """Clipping and one optimizer step: the same code eagerly and inside a CUDA graph.

    With fp16's GradScaler the gradients are unscaled before clipping (the thresholds are in
    the true gradients' units) and the scaler skips the step when they hold inf/NaN. Returns
    whether the step was taken (always, without a scaler; asking the scaler syncs the host)."""
    if scaler is None:
        clip_grads(params, clip_val, clip_norm)
        optimizer_step(optimizer)
        return True
    scaler.unscale_(optimizer)
    clip_grads(params, clip_val, clip_norm)
    before = scaler.get_scale()
    optimizer_step(optimizer, None, scaler)
    scaler.update()
    return scaler.get_scale() >= before
