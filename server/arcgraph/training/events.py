"""Progress reporting: machine events (one dict per happening) and human output.

Events go to a callable (the CLI writes them as JSON lines for an editor). Human output goes to
stderr: a tqdm bar per epoch in a terminal, one line per `log_every` steps and per epoch
otherwise, nothing but errors when `verbose` is false. Event kinds: start, step, epoch,
checkpoint, early_stop, info, end, error.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import IO, Any

from arcgraph.training.output import write_error

EventSink = Callable[[dict[str, Any]], None]


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: they become null (the message still names them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class JsonLines:
    """An EventSink writing one JSON object per line to a file or stdout ("-")."""

    def __init__(self, target: str) -> None:
        self._own = target != "-"
        self._target = target
        try:
            self._fh: IO[str] = open(target, "a", encoding="utf-8") if self._own else sys.stdout  # noqa: SIM115
        except OSError as err:
            raise write_error(target, err) from err

    def __call__(self, event: dict[str, Any]) -> None:
        try:
            self._fh.write(json.dumps(_clean(event), allow_nan=False) + "\n")
            self._fh.flush()
        except OSError as err:
            raise write_error(self._target, err) from err

    def close(self) -> None:
        if self._own:
            self._fh.close()


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


class Reporter:
    def __init__(
        self, events: EventSink | None, verbose: bool, stream: IO[str] | None = None
    ) -> None:
        self.events = events
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._bar: Any = None
        self.epochs = 0

    @property
    def wants_steps(self) -> bool:
        """Whether anyone reads per-step losses (otherwise the loop skips the host sync)."""
        return self.events is not None or self.verbose

    def emit(self, event: dict[str, Any]) -> None:
        if self.events is not None:
            self.events(event)

    def say(self, text: str) -> None:
        if self.verbose:
            if self._bar is not None:
                self._bar.write(text, file=self.stream)
            else:
                self.stream.write(text + "\n")
                self.stream.flush()

    def start(self, info: dict[str, Any]) -> None:
        self.epochs = info["epochs"]
        self.emit({"event": "start", **info})
        resumed = f", resumed from {info['resumed_from']}" if info.get("resumed_from") else ""
        self.say(
            f"training {info['model_id']} on {info['device']}: {info['train_rows']} train / "
            f"{info['val_rows']} validation rows, {info['epochs']} epochs{resumed}\n"
            f"run directory: {info['run_dir']}"
        )

    def info(self, message: str, **extra: Any) -> None:
        self.emit({"event": "info", "message": message, **extra})
        self.say(message)

    def epoch_begin(self, epoch: int, n_batches: int, done: int) -> None:
        if self.verbose and self.tty:
            from tqdm import tqdm

            self._bar = tqdm(
                total=n_batches,
                initial=done,
                desc=f"epoch {epoch}/{self.epochs}",
                file=self.stream,
                leave=True,
                dynamic_ncols=True,
            )

    def step(self, epoch: int, batch: int, n_batches: int, loss: float, advanced: int) -> None:
        self.emit({"event": "step", "epoch": epoch, "batch": batch, "loss": loss})
        if not self.verbose:
            return
        if self._bar is not None:
            self._bar.update(advanced)
            self._bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
        else:
            self.say(f"epoch {epoch}/{self.epochs} batch {batch}/{n_batches} loss {loss:.6g}")

    def epoch_end(self, metrics: dict[str, Any], duration: float) -> None:
        self.emit({"event": "epoch", **metrics, "duration_s": duration})
        text = " ".join(f"{k} {_fmt(v)}" for k, v in metrics.items() if k != "epoch")
        if self._bar is not None:
            self._bar.n = self._bar.total
            self._bar.set_postfix_str(text, refresh=True)
            self._bar.close()
            self._bar = None
        else:
            self.say(f"epoch {metrics['epoch']}/{self.epochs} {text} ({duration:.2f}s)")

    def close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def checkpoint(self, path: str, epoch: int, batch: int, reason: str) -> None:
        self.emit(
            {"event": "checkpoint", "path": path, "epoch": epoch, "batch": batch, "reason": reason}
        )

    def early_stop(
        self, epoch: int, monitor: str, best_epoch: int | None, best: float | None
    ) -> None:
        self.emit(
            {
                "event": "early_stop",
                "epoch": epoch,
                "monitor": monitor,
                "best_epoch": best_epoch,
                "best_metric": best,
            }
        )
        self.say(
            f"early stopping after epoch {epoch}: no {monitor} improvement since epoch {best_epoch}"
        )

    def end(self, summary: dict[str, Any]) -> None:
        self.close_bar()
        self.emit({"event": "end", "summary": summary})
        best = summary.get("best_metric")
        best_text = (
            f", best {summary['monitor']} {_fmt(best)} at epoch {summary['best_epoch']}"
            if best is not None
            else ""
        )
        self.say(
            f"{summary['status']}: {summary['epochs_completed']} epoch(s){best_text}; "
            f"{summary['run_dir']}"
        )

    def error(self, err: BaseException, **extra: Any) -> None:
        self.close_bar()
        self.emit({"event": "error", "kind": type(err).__name__, "message": str(err), **extra})
