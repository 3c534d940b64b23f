"""The trainer spec's `scheduler` section (v1.1): parsed, built on the trainer's optimizer
(`arcgraph.builder.schedulers`, shared with the worker's probe) and stepped per epoch (after
validation) or per optimizer step (after accumulation)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from arcgraph.builder.schedulers import SchedulerError, build_scheduler, steps_by_metric
from arcgraph.training.errors import SpecError

INTERVALS = ("epoch", "step")


@dataclass(frozen=True)
class SchedulerSpec:
    type: str
    params: Mapping[str, Any]
    interval: str = "epoch"
    monitor: str | None = None


def parse_scheduler(raw: Any) -> SchedulerSpec | None:
    """The `scheduler:` mapping, typed; None when the spec has none (a v1.0 spec)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise SpecError("scheduler: a mapping with 'type' (and 'params', 'interval') is required")
    unknown = sorted(set(raw) - {"type", "params", "interval", "monitor"})
    if unknown:
        raise SpecError(f"scheduler: unknown field(s) {', '.join(map(str, unknown))}")
    if not isinstance(raw.get("type"), str):
        raise SpecError("scheduler.type: a torch.optim.lr_scheduler class name is required")
    params = raw.get("params") or {}
    if not isinstance(params, Mapping):
        raise SpecError("scheduler.params must be a mapping")
    interval = raw.get("interval", "epoch")
    if interval not in INTERVALS:
        raise SpecError(f"scheduler.interval must be 'epoch' or 'step', got {interval!r}")
    monitor = raw.get("monitor")
    if monitor is not None and not isinstance(monitor, str):
        raise SpecError("scheduler.monitor must be a metric name")
    return SchedulerSpec(raw["type"], dict(params), interval, monitor)


def make_scheduler(
    type_: str, params: Mapping[str, Any], optimizer: torch.optim.Optimizer, *, total_steps: int
) -> Any:
    """The scheduler on the trainer's optimizer; a value torch refuses is a SpecError."""
    try:
        return build_scheduler(type_, params, optimizer, total_steps=total_steps)
    except SchedulerError as err:
        raise SpecError(str(err)) from err


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    """The learning rate of the first parameter group: the `lr` column of metrics.csv."""
    return float(optimizer.param_groups[0]["lr"])


class Schedule:
    """A scheduler and when it is stepped: after each optimizer step, or after validation."""

    def __init__(self, scheduler: Any, interval: str, monitor: str) -> None:
        self.scheduler = scheduler
        self.interval = interval
        self.monitor = monitor
        self.by_metric = steps_by_metric(type(scheduler))

    def after_step(self) -> None:
        if self.interval == "step":
            self.scheduler.step()

    def after_epoch(self, metrics: Mapping[str, Any]) -> None:
        if self.interval != "epoch":
            return
        if self.by_metric:
            self.scheduler.step(float(metrics[self.monitor]))
        else:
            self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(state)
