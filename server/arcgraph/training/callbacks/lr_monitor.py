"""arc.callbacks.LearningRateMonitor: the `lr` column of metrics.csv.

The loop writes the column (the same one a scheduler adds: the first parameter group's learning
rate in effect for the epoch's last optimizer step); this callback only asks for it."""

from __future__ import annotations

from typing import ClassVar

from arcgraph.training.callbacks.base import Callback

LR_COLUMN = "lr"


class LearningRateMonitor(Callback):
    columns: ClassVar[tuple[str, ...]] = (LR_COLUMN,)
