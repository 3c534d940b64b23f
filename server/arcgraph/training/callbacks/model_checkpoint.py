"""arc.callbacks.ModelCheckpoint: the best `save_top_k` full checkpoints by one metric.

Files are `checkpoints/top-epoch-NNNN-<monitor>-<value>.pt`, written by the loop's atomic
checkpoint writer. The ranking (epoch, value, file) is the callback's state, saved in every
checkpoint: a resumed run deletes the files a killed run wrote after its checkpoint and then
ranks the epochs it trains again exactly as the uninterrupted run did.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from arcgraph.training.callbacks.base import Callback, FitRun
from arcgraph.training.checkpoint import CHECKPOINT_DIR

PREFIX = "top-epoch-"


class ModelCheckpoint(Callback):
    def __init__(self, monitor: str = "val_loss", mode: str = "min", save_top_k: int = 1) -> None:
        self.monitor = monitor
        self.mode = mode
        self.save_top_k = save_top_k
        self.kept: list[dict[str, Any]] = []  # best first: {"epoch", "value", "file"}
        self._dir = Path(CHECKPOINT_DIR)
        self._save: Callable[[Path], None] | None = None

    def check(self, produced: tuple[str, ...]) -> str | None:
        if self.monitor not in produced:
            return f"monitor '{self.monitor}' is not a metric of this run; it produces: " + (
                ", ".join(produced)
            )
        return None

    def file_name(self, epoch: int, value: float) -> str:
        return f"{PREFIX}{epoch:04d}-{self.monitor}-{value:.4f}.pt"

    def _mine(self, name: str) -> bool:
        return name.startswith(PREFIX) and name.endswith(".pt") and f"-{self.monitor}-" in name

    def on_fit_start(self, run: FitRun) -> None:
        self._dir = run.run_dir / CHECKPOINT_DIR
        self._save = run.save_checkpoint
        keep = {k["file"] for k in self.kept}
        if self._dir.is_dir():  # a killed run's files from after the resumed checkpoint
            for entry in self._dir.iterdir():
                if self._mine(entry.name) and entry.name not in keep:
                    entry.unlink(missing_ok=True)

    def _rank(self, value: float) -> float:
        return value if self.mode == "min" else -value

    def on_epoch_end(self, metrics: Mapping[str, Any]) -> None:
        value = float(metrics[self.monitor])
        if math.isnan(value):
            return
        full = len(self.kept) >= self.save_top_k
        if full and self._rank(value) >= self._rank(self.kept[-1]["value"]):
            return  # not better than the worst kept (ties keep the earlier epoch)
        epoch = int(metrics["epoch"])
        entry = {"epoch": epoch, "value": value, "file": self.file_name(epoch, value)}
        self.kept.append(entry)
        self.kept.sort(key=lambda k: (self._rank(k["value"]), k["epoch"]))
        dropped = self.kept[self.save_top_k :]
        del self.kept[self.save_top_k :]
        assert self._save is not None, "on_fit_start comes first"
        self._save(self._dir / entry["file"])  # the new file first, then the displaced one goes
        for old in dropped:
            with contextlib.suppress(FileNotFoundError):
                (self._dir / old["file"]).unlink()

    def state_dict(self) -> dict[str, Any]:
        return {"kept": [dict(k) for k in self.kept]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.kept = [dict(k) for k in state["kept"]]
