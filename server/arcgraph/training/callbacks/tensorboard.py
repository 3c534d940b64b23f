"""arc.callbacks.TensorBoardLogger: metrics.csv as TensorBoard scalars, one step per epoch."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arcgraph.training.callbacks.base import Callback, FitRun

INSTALL_HINT = "pip install 'arcgraph[train]' (or pip install tensorboard)"


def tensorboard_missing() -> bool:
    """torch.utils.tensorboard needs the tensorboard package, which torch does not require."""
    try:
        importlib.import_module("tensorboard")
    except ImportError:
        return True
    return False


class TensorBoardLogger(Callback):
    def __init__(self, log_dir: str = "tb") -> None:
        self.log_dir = log_dir
        self._writer: Any = None

    def check(self, produced: tuple[str, ...]) -> str | None:
        del produced
        if tensorboard_missing():
            return f"needs the tensorboard package, which is not installed: {INSTALL_HINT}"
        return None

    def on_fit_start(self, run: FitRun) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # A resumed run trains the epochs after its checkpoint again: purge_step makes
        # TensorBoard drop what a killed run had logged for them.
        purge = run.start_epoch + 1 if run.start_epoch else None
        self._writer = SummaryWriter(
            log_dir=str(run.run_dir / Path(self.log_dir)), purge_step=purge
        )

    def on_epoch_end(self, metrics: Mapping[str, Any]) -> None:
        epoch = int(metrics["epoch"])
        for name, value in metrics.items():
            if name != "epoch":
                # double precision: the event holds metrics.csv's value exactly
                self._writer.add_scalar(
                    name, float(value), epoch, new_style=True, double_precision=True
                )
        self._writer.flush()  # a live `tensorboard --logdir` sees each epoch as it ends

    def on_fit_end(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
