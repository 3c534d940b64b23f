"""The trainer's exceptions: each names what failed (node, column, field) so a user can fix it."""

from __future__ import annotations


class TrainError(Exception):
    """Base of every error the trainer reports to a user (CLI exit code 1)."""


class SpecBuildError(TrainError):
    """A model spec that cannot be turned into a torch module.

    `node` is the graph node at fault (None for spec-level problems); `module` is the
    `modules` entry whose inner graph holds that node, when it is not the main graph.
    """

    def __init__(self, node: str | None, message: str, *, module: str | None = None) -> None:
        self.node = node
        self.message = message
        self.module = module
        where = ""
        if node is not None:
            where = f"node '{node}'" + (f" in module '{module}'" if module else "") + ": "
        super().__init__(where + message)


class NodeRuntimeError(TrainError):
    """A torch exception raised by one node during forward, with the node that raised it.

    `node` is the node in the main graph; `path` the nested node names below it when the
    failure happened inside a `module.X` or `arc.stack` node; `message` is torch's message.
    """

    def __init__(self, node: str, message: str, *, path: tuple[str, ...] = ()) -> None:
        self.node = node
        self.message = message
        self.path = path
        where = ".".join((node, *path))
        super().__init__(f"node '{where}': {message}")


class SpecError(TrainError):
    """A trainer or model spec that is refused before any data is read."""


class DataError(TrainError):
    """A data table that does not fit the model: names the column (and row)."""


class ResumeError(TrainError):
    """A run directory that cannot be resumed (missing checkpoint, changed specs)."""


class NonFiniteLossError(TrainError):
    """The loss became NaN/inf; the last good checkpoint is kept."""

    def __init__(self, epoch: int, batch: int, value: float) -> None:
        self.epoch = epoch
        self.batch = batch
        self.value = value
        super().__init__(
            f"non-finite loss ({value}) at epoch {epoch}, batch {batch}; "
            "stopped, the last good checkpoint is kept"
        )


class TrainingInterrupted(TrainError):
    """Ctrl-C / SIGTERM: the step finished and a checkpoint was saved."""

    def __init__(self, signum: int, checkpoint: str | None) -> None:
        self.signum = signum
        self.checkpoint = checkpoint
        msg = "interrupted"
        if checkpoint:
            msg += f"; checkpoint saved to {checkpoint} (continue with --resume)"
        super().__init__(msg)
