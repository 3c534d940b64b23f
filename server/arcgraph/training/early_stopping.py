"""Early stopping and "best so far" tracking on one monitored metric.

An epoch improves when its metric beats the best by more than `min_delta` (below it in `min`
mode, above it in `max` mode). After `patience` epochs in a row without an improvement the run
stops; the best weights are restored at the end. The state is a plain dict, saved in every
checkpoint, so a resumed run stops at the same epoch.
"""

from __future__ import annotations

import math
from typing import Any


class EarlyStopping:
    def __init__(self, monitor: str, mode: str, min_delta: float, patience: int | None) -> None:
        self.monitor = monitor
        self.mode = mode
        self.min_delta = min_delta
        self.patience = patience
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None

    def improves(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, epoch: int, value: float) -> bool:
        """Record an epoch's metric; True when it is the new best."""
        if self.improves(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            return True
        self.wait += 1
        if self.patience is not None and self.wait >= self.patience:
            self.stopped_epoch = epoch
        return False

    @property
    def should_stop(self) -> bool:
        return self.stopped_epoch is not None

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state["best"]
        self.best_epoch = state["best_epoch"]
        self.wait = state["wait"]
        self.stopped_epoch = state["stopped_epoch"]
