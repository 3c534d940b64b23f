"""The trainer's exceptions: each names what failed (node, column, field) so a user can fix it."""

from __future__ import annotations

# The builder's errors and their base live with the model builder (torch only); re-exported.
from arcgraph.builder.errors import NodeRuntimeError as NodeRuntimeError
from arcgraph.builder.errors import SpecBuildError as SpecBuildError
from arcgraph.builder.errors import TrainError as TrainError


class SpecError(TrainError):
    """A trainer or model spec that is refused before any data is read."""


class OptimizerStepError(TrainError):
    """The optimizer's own step refused what it was given (the pre-flight's AG216 foresees
    the known cases; this keeps any other one a located line instead of a traceback)."""


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


class RunDirError(TrainError):
    """A run directory that cannot be used: `--name` of an existing run, or one in use."""


class RunDirBusyError(RunDirError):
    """Another process trains in this run directory (it holds the directory's lock)."""

    def __init__(self, run_dir: str, pid: int | None) -> None:
        self.run_dir = run_dir
        self.pid = pid
        who = f"process {pid}" if pid is not None else "another process"
        super().__init__(
            f"run directory {run_dir} is in use by {who}; wait for that training to end "
            "(or stop it) before resuming it"
        )


class OutputError(TrainError):
    """A file or folder the trainer writes (under --out, or --events) cannot be written.

    `path` is what failed; `reason` says why in words (read-only file system, no space left,
    a file where a folder should be)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot write {path}: {reason}")
