"""The `arc.callbacks` registry as data: names, params (type, default, choices) and docs.

The checker, completion and hover need the callbacks without importing the trainer (the engine
imports no torch), so their description lives here, torch-free. The classes that run them are
in `arcgraph.training.callbacks`; a test holds both to the same names, parameters and defaults,
so adding a callback means one class there and one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PREFIX = "arc.callbacks."

# A param's `type` as YAML names it, and the Python annotation its class gives it.
PARAM_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}


@dataclass(frozen=True)
class CallbackParam:
    name: str
    type: str  # a key of PARAM_TYPES
    default: Any
    doc: str
    choices: tuple[str, ...] = ()
    minimum: int | None = None

    def __post_init__(self) -> None:  # a contributor's typo fails at import, not in a user's run
        if self.type not in PARAM_TYPES:
            raise ValueError(f"{self.name}: type {self.type!r} is not one of {list(PARAM_TYPES)}")

    def accepts(self, value: Any) -> bool:
        """Whether a YAML value fits (an integer is a number; a bool is neither)."""
        if self.type == "string":
            ok = isinstance(value, str)
        elif self.type == "boolean":
            ok = isinstance(value, bool)
        elif self.type == "integer":
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and self.choices:
            ok = value in self.choices
        if ok and self.minimum is not None:
            ok = value >= self.minimum
        return ok

    def expected(self) -> str:
        """What `accepts` wants, in the user's words."""
        if self.choices:
            return "one of " + ", ".join(f"'{c}'" for c in self.choices)
        article = "an" if self.type == "integer" else "a"
        if self.minimum is not None:
            return f"{article} {self.type} >= {self.minimum}"
        return f"{article} {self.type}"

    def markdown(self, owner: str) -> str:
        default = f" = `{self.default}`" if self.default is not None else ""
        return f"**{self.name}**: {self.type}{default} ({owner})\n\n{self.doc}"


@dataclass(frozen=True)
class CallbackInfo:
    name: str  # the spec's `type`: arc.callbacks.<Class>
    summary: str
    doc: str
    params: tuple[CallbackParam, ...] = ()
    monitor: bool = False  # its `monitor` param names a metric of metrics.csv

    @property
    def short(self) -> str:
        return self.name.removeprefix(PREFIX)

    def param(self, name: str) -> CallbackParam | None:
        return next((p for p in self.params if p.name == name), None)

    def markdown(self) -> str:
        lines = [f"**{self.name}**", "", self.summary, "", self.doc]
        if self.params:
            lines += ["", "Params:"]
            lines += [
                f"- `{p.name}` ({p.type}, default `{p.default}`): {p.doc}" for p in self.params
            ]
        return "\n".join(lines)


CALLBACKS: dict[str, CallbackInfo] = {
    c.name: c
    for c in (
        CallbackInfo(
            "arc.callbacks.TensorBoardLogger",
            "Writes every metric of metrics.csv to TensorBoard event files.",
            "Each epoch's row of metrics.csv becomes scalars under the same names (step: the "
            "epoch), readable with `tensorboard --logdir <run dir>/<log_dir>`. Needs the "
            "`tensorboard` package (`pip install 'arcgraph[train]'`). A resumed run drops the "
            "events of epochs it trains again.",
            (
                CallbackParam(
                    "log_dir",
                    "string",
                    "tb",
                    "Where the event files go, relative to the run directory.",
                ),
            ),
        ),
        CallbackInfo(
            "arc.callbacks.ModelCheckpoint",
            "Keeps the best `save_top_k` checkpoints by a monitored metric.",
            "After each epoch whose `monitor` value ranks among the best `save_top_k` so far, a "
            "full checkpoint is written (atomically) to "
            "`checkpoints/top-epoch-NNNN-<monitor>-<value>.pt` and the one it displaces is "
            "deleted. Any of them can be given to `--resume`. Its ranking is saved in every "
            "checkpoint, so a resumed run keeps the same files.",
            (
                CallbackParam(
                    "monitor", "string", "val_loss", "The metric of metrics.csv to rank by."
                ),
                CallbackParam(
                    "mode",
                    "string",
                    "min",
                    "`min`: lower is better; `max`: higher is better.",
                    choices=("min", "max"),
                ),
                CallbackParam(
                    "save_top_k", "integer", 1, "How many checkpoints to keep.", minimum=1
                ),
            ),
            monitor=True,
        ),
        CallbackInfo(
            "arc.callbacks.LearningRateMonitor",
            "Adds the learning rate to metrics.csv as the column `lr`.",
            "The learning rate of the first parameter group in effect for the epoch's last "
            "optimizer step (the same column a scheduler adds).",
        ),
    )
}
