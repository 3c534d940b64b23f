"""Learning-rate schedulers from spec values: shared by the trainer and the worker's probe.

Names resolve through `torchnames` only. What a class needs is read from its signature, not
from a list of names: a required parameter annotated `Callable` (LambdaLR's `lr_lambda`) cannot
come from YAML; one annotated with `LRScheduler` (SequentialLR's `schedulers`) takes nested
`{type, params}` entries; a class taking `total_steps`, `epochs` and `steps_per_epoch`
(OneCycleLR) gets `total_steps` from the trainer when the spec gives none of them; a class whose
`step` takes `metrics` (ReduceLROnPlateau) is stepped with the monitored metric's value.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Any

import torch

from arcgraph.builder import torchnames
from arcgraph.builder.errors import TrainError

TOTAL_STEPS_KEYS = ("total_steps", "epochs", "steps_per_epoch")


class SchedulerError(TrainError):
    """A scheduler the spec's values cannot build; `where` is its dotted spec path
    (`scheduler`, `scheduler.params.schedulers[1]`) and `key` the params key at fault."""

    def __init__(self, where: str, key: str | None, message: str) -> None:
        self.where = where
        self.key = key
        self.message = message
        super().__init__(f"{where}{'.params.' + key if key else ''}: {message}")


def _params(cls: type[Any]) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(cls).parameters)


def _annotation(p: inspect.Parameter) -> str:
    ann = p.annotation
    return ann if isinstance(ann, str) else inspect.formatannotation(ann)


def callable_params(cls: type[Any]) -> list[str]:
    """Required parameters that only a Python callable can fill (never from a spec)."""
    return [
        n
        for n, p in _params(cls).items()
        if p.default is inspect.Parameter.empty and "Callable" in _annotation(p)
    ]


def nested_params(cls: type[Any]) -> list[str]:
    """Parameters that take other schedulers (SequentialLR's and ChainedScheduler's)."""
    return [n for n, p in _params(cls).items() if "LRScheduler" in _annotation(p)]


def steps_by_metric(cls: type[Any]) -> bool:
    """ReduceLROnPlateau's step takes the monitored metric."""
    return "metrics" in inspect.signature(cls.step).parameters


def takes_total_steps(cls: type[Any]) -> bool:
    """OneCycleLR's length: `total_steps`, or `epochs` with `steps_per_epoch`."""
    signature = _params(cls)
    return all(k in signature for k in TOTAL_STEPS_KEYS)


def build_scheduler(
    type_: str,
    params: Mapping[str, Any],
    optimizer: torch.optim.Optimizer,
    *,
    total_steps: int,
    where: str = "scheduler",
) -> Any:
    """Construct the scheduler (nested ones on the same optimizer) with what the trainer knows;
    torch's own constructor checks speak through SchedulerError."""
    try:
        cls = torchnames.resolve_scheduler(type_)
    except torchnames.NameRejected as err:
        raise SchedulerError(where, None, str(err)) from err
    needs = callable_params(cls)
    if needs:
        raise SchedulerError(
            where,
            None,
            f"{type_} needs a Python callable ({', '.join(needs)}), which a spec cannot give; "
            "use a scheduler configured by values (e.g. LinearLR, StepLR)",
        )
    if "optimizer" in params:
        raise SchedulerError(where, "optimizer", "the trainer passes its optimizer; remove it")
    kwargs = dict(params)
    for name in nested_params(cls):
        if name in kwargs:
            kwargs[name] = _nested(kwargs[name], optimizer, f"{where}.params.{name}", total_steps)
    if takes_total_steps(cls) and not (set(TOTAL_STEPS_KEYS) & set(kwargs)):
        kwargs["total_steps"] = total_steps
    if "optimizer" in _params(cls):
        kwargs["optimizer"] = optimizer
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, KeyError, RuntimeError, AttributeError) as err:
        text = f"{type(err).__name__ if isinstance(err, KeyError) else ''}{err}".strip()
        raise SchedulerError(where, _key_in(text, list(params)), text) from err


def _key_in(message: str, keys: list[str]) -> str | None:
    """The params key torch's message names (the longest first: `max_momentum` over `max`)."""
    m = re.search(r"(?:keyword argument|for argument) '(\w+)'", message)
    if m:
        return m.group(1)
    for key in sorted(keys, key=len, reverse=True):
        if re.search(rf"\b{re.escape(key)}\b", message):
            return key
    return None


def _nested(value: Any, optimizer: torch.optim.Optimizer, where: str, total: int) -> list[Any]:
    if not isinstance(value, list | tuple):  # the probe passes YAML lists as tuples
        raise SchedulerError(where, None, "a list of {type, params} entries is required")
    out = []
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("type"), str):
            raise SchedulerError(at, None, "a mapping with 'type' (and 'params') is required")
        params = item.get("params") or {}
        if not isinstance(params, Mapping):
            raise SchedulerError(at, None, "params must be a mapping")
        out.append(build_scheduler(item["type"], params, optimizer, total_steps=total, where=at))
    return out
