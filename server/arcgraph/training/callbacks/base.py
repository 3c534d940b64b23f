"""The callback protocol: what the loop calls, and what a callback may ask of the run.

A callback is a class registered in `arcgraph.training.callbacks.REGISTRY` under its spec name
(`arc.callbacks.<Class>`), described for the checker in `arcgraph.engine.callbacks_catalog`
(same params, same defaults; a test holds them together). The loop calls, in this order:
`on_fit_start(run)` once (also on a resume, after `load_state_dict`), `on_epoch_end(metrics)`
after each epoch's row of metrics.csv is written and before that epoch's checkpoint (so the
checkpoint holds the callback's state after the epoch), and `on_fit_end()` when training ends,
also by an interrupt or an error. `state_dict()` goes into every checkpoint and comes back
through `load_state_dict()` on a resume: plain data only (checkpoints load weights_only).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar


@dataclass(frozen=True)
class FitRun:
    """What a callback may ask of the run it is in."""

    run_dir: Path
    start_epoch: int  # epochs completed before this fit (a resume's checkpoint epoch)
    save_checkpoint: Callable[[Path], None]  # a full, resumable checkpoint, written atomically


class Callback:
    """The protocol, with the do-nothing defaults a callback overrides."""

    # Columns of metrics.csv this callback asks the loop for (LearningRateMonitor: `lr`).
    columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        """A callback's constructor takes exactly its catalogued params (none here)."""

    def check(self, produced: tuple[str, ...]) -> str | None:
        """Before training: why this callback cannot run with these metrics, or None."""
        del produced
        return None

    def on_fit_start(self, run: FitRun) -> None:
        del run

    def on_epoch_end(self, metrics: Mapping[str, Any]) -> None:
        del metrics

    def on_fit_end(self) -> None:
        return None

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        del state
