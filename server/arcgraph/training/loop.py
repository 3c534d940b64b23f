"""The training loop: batched tensor indexing, no per-step host sync, durable progress.

Per step the loop gathers a batch by indexing tensors that already live on the device (no
DataLoader, no per-sample collation), runs forward/backward, steps at the end of each
accumulation group, and copies the loss into a per-epoch device buffer. It reads values back to
the host only when someone reads them (a `log_every` step while verbose or with an event
listener) and once per epoch, for the metrics.

Checkpoints: after every `checkpoint_every`-th epoch (default 1) a full checkpoint
`checkpoints/epoch-NNNN.pt`; with `save_best_only` only when the monitored metric beats its value
at the last saved checkpoint (strictly, in the monitor's mode). A first Ctrl-C/SIGTERM adds
`checkpoints/epoch-NNNN-batch-MMMMM.pt` after the current step (with the partial accumulation
gradients). best.pt (the epoch that improved the monitor by more than min_delta) is
written with each checkpoint when it changed, and at the end; last.pt when the run ends or is
interrupted (never with non-finite weights).

Gradient accumulation: each batch's loss is scaled by (its rows / the rows of its accumulation
group), so a group's gradient is the mean over the group's rows, exactly as one big batch; an
epoch's last group may be shorter (fewer batches, a smaller last batch) and still steps.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from arcgraph.training import checkpoint as ckpt_io
from arcgraph.training import rundir
from arcgraph.training.callbacks.base import Callback, FitRun
from arcgraph.training.config import TrainerConfig
from arcgraph.training.distributed import SINGLE, World, sum_, unsynced_batchnorm
from arcgraph.training.early_stopping import EarlyStopping
from arcgraph.training.errors import (
    DataError,
    NonFiniteLossError,
    ResumeError,
    SpecError,
    TrainingInterrupted,
)
from arcgraph.training.events import Reporter
from arcgraph.training.losses import LossSpec, abs_error, correct_count
from arcgraph.training.optim import clip_and_step, clip_grads, needs_closure, optimizer_step
from arcgraph.training.precision import FP32, Precision
from arcgraph.training.schedule import Schedule, current_lr
from arcgraph.training.signals import GracefulStop
from arcgraph.training.split import epoch_order

# Validation runs in chunks of about this many input elements (at least a training batch, at
# most EVAL_ROWS_MAX rows): a small tabular model evaluates in one or two calls, a model with
# long sequences in chunks whose activations stay modest.
EVAL_ELEMENTS = 1 << 18
EVAL_ROWS_MAX = 16384


@dataclass
class DeviceData:
    """Training and validation rows, gathered once (and moved to the device where they fit)."""

    train_x: dict[str, torch.Tensor]
    train_y: torch.Tensor
    val_x: dict[str, torch.Tensor]
    val_y: torch.Tensor
    device: torch.device
    resident: bool = True  # False: rows stay in (pinned) host memory, batches are copied
    non_blocking: bool = False
    own_order = False  # True: the rows come in their reader's (streamed, shuffled) order

    @property
    def n_train(self) -> int:
        return int(self.train_y.shape[0])

    @property
    def n_val(self) -> int:
        return int(self.val_y.shape[0])

    def batch(
        self, order: torch.Tensor | None, lo: int, hi: int
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        if order is None:
            xb = {k: v[lo:hi] for k, v in self.train_x.items()}
            yb = self.train_y[lo:hi]
        else:
            idx = order[lo:hi]
            xb = {k: v.index_select(0, idx) for k, v in self.train_x.items()}
            yb = self.train_y.index_select(0, idx)
        if not self.resident:
            nb = self.non_blocking
            xb = {k: v.to(self.device, non_blocking=nb) for k, v in xb.items()}
            yb = yb.to(self.device, non_blocking=nb)
        return xb, yb

    def start_epoch(self, epoch: int, first_row: int) -> None:
        """Rows in memory need no preparing; a streamed reader starts the epoch here."""

    def val_chunks(
        self, lo: int, hi: int, step: int
    ) -> Iterator[tuple[dict[str, torch.Tensor], torch.Tensor]]:
        """Validation rows [lo, hi) on the device, `step` rows at a time."""
        for a in range(lo, hi, step):
            b = min(a + step, hi)
            xb = {k: v[a:b] for k, v in self.val_x.items()}
            yb = self.val_y[a:b]
            if not self.resident:
                xb = {k: v.to(self.device) for k, v in xb.items()}
                yb = yb.to(self.device)
            yield xb, yb


def batch_plan(
    n: int, batch_size: int, accumulate: int, min_last: int = 2
) -> list[tuple[int, int, float, bool]]:
    """Per batch of an epoch of `n` rows: (first row, end row, loss scale, step after it?).

    Every batch but the last starts and ends on a multiple of `batch_size`, which is what lets
    a streamed reader hand each of W ranks exactly its share (`batch_size` being a multiple of
    W). A last batch of fewer than `min_last` rows joins the batch before it: a batch of one
    row cannot train a model with batch statistics (BatchNorm: "Expected more than 1 value per
    channel"), so the default is 2; W CPU processes with a BatchNorm each normalize over their
    own share, so they pass 2 x W (see Loop.plan). The last batch still starts on a multiple
    of `batch_size`."""
    bounds = [(lo, min(lo + batch_size, n)) for lo in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < min_last:
        bounds[-2:] = [(bounds[-2][0], n)]
    n_batches = len(bounds)
    plan = []
    for b, (lo, hi) in enumerate(bounds):
        g0 = (b // accumulate) * accumulate
        g1 = min(g0 + accumulate, n_batches)
        group_rows = bounds[g1 - 1][1] - bounds[g0][0]
        scale = 1.0 if accumulate == 1 else (hi - lo) / group_rows
        plan.append((lo, hi, scale, b + 1 == g1))
    return plan


@dataclass
class Progress:
    """Where training stands; what a checkpoint restores."""

    epoch: int = 0  # completed epochs
    batch: int = 0  # batches already done in epoch `epoch + 1` (interrupt checkpoints only)
    partial_losses: torch.Tensor | None = None  # their losses
    history: list[dict[str, Any]] = field(default_factory=list)
    best_state: dict[str, torch.Tensor] | None = None
    ckpt_best: float | None = None  # monitor value at the last save_best_only checkpoint
    elapsed_s: float = 0.0


@dataclass
class RunContext:
    """What the loop writes into checkpoints besides training state."""

    run_dir: Path
    model_id: str
    spec_hashes: dict[str, str]
    data_sha256: str
    seed: int
    split: dict[str, torch.Tensor]
    vocabularies: dict[str, Any] = field(default_factory=dict)  # categorical inputs'
    # streamed data's shuffle windows (StreamData.windows): a mid-epoch resume needs the same
    stream_windows: dict[str, float] | None = None


def rng_state() -> dict[str, Any]:
    np_state = np.random.get_state(legacy=True)  # the default; numpy's stub says otherwise
    if isinstance(np_state, dict):  # only for a bit generator other than the global MT19937
        raise TypeError(f"numpy's global random state is not MT19937: {np_state['bit_generator']}")
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": random.getstate(),
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    npst = state["numpy"]
    np.random.set_state((npst[0], np.asarray(npst[1], dtype=np.uint32), *npst[2:]))


def eval_chunk_rows(inputs: dict[str, torch.Tensor], batch_size: int) -> int:
    """Rows per validation chunk: EVAL_ELEMENTS input elements, within [batch, EVAL_ROWS_MAX]."""
    per_row = sum(max(1, t[0].numel()) for t in inputs.values() if t.shape[0]) or 1
    return max(batch_size, min(EVAL_ROWS_MAX, EVAL_ELEMENTS // per_row))


def _clone_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class Loop:
    def __init__(
        self,
        *,
        model: torch.nn.Module,
        loss: LossSpec,
        optimizer: torch.optim.Optimizer,
        cfg: TrainerConfig,
        data: DeviceData,
        reporter: Reporter,
        stop: GracefulStop,
        run: RunContext,
        monitor: str,
        graph_step: Any = None,
        schedule: Schedule | None = None,
        lr_column: bool = False,
        callbacks: Sequence[Callback] = (),
        precision: Precision = FP32,
        world: World = SINGLE,
        ddp: torch.nn.Module | None = None,
    ) -> None:
        self.model = model
        # Distributed: each rank trains its share of every batch through the DDP wrapper
        # (gradients averaged), reads and writes the plain model's state; rank 0 alone writes.
        self.world = world
        self.net = model if ddp is None else ddp
        self.group_stop = False  # a Ctrl-C/SIGTERM seen by any rank (decided with the loss)
        self.loss = loss
        self.optimizer = optimizer
        self.cfg = cfg
        self.data = data
        self.reporter = reporter
        self.stop = stop
        self.run = run
        self.monitor = monitor
        self.graph_step = graph_step
        self.callbacks = list(callbacks)  # spec v1.1: arc.callbacks
        self.schedule = schedule
        # metrics.csv's `lr`: with a scheduler (v1.1), or when a caller asks for it
        self.lr_column = lr_column or schedule is not None
        self.last_lr = current_lr(optimizer)  # in effect for the latest optimizer step
        self.precision = precision  # spec v1.1; FP32: no autocast, no scaler (as v1.0)
        self.scaler = precision.make_scaler()  # fp16 only
        self.skipped_steps = 0  # fp16: the steps of this epoch the scaler skipped (inf/NaN)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.closure = needs_closure(optimizer)
        if self.closure and self.scaler is not None:
            raise SpecError(
                f"config.mixed_precision 'fp16' scales the loss with torch's GradScaler, which"
                f" cannot step {type(optimizer).__name__} (its step re-evaluates the loss"
                " through a closure); use mixed_precision: bf16 or another optimizer"
            )
        self.early = EarlyStopping(
            monitor,
            cfg.early_stopping_mode,
            cfg.early_stopping_min_delta,
            cfg.early_stopping_patience,
        )
        self.progress = Progress()
        self.device = data.device
        self._best_written = True
        self.writer = ckpt_io.BackgroundWriter()

    # -- state ----------------------------------------------------------------------------
    def state_dict(self, *, epoch: int, batch: int, partial: torch.Tensor | None) -> dict[str, Any]:
        grads = None
        if batch and any(p.grad is not None for p in self.params):
            grads = [None if p.grad is None else p.grad.detach().cpu() for p in self.params]
        return {
            "format": ckpt_io.CHECKPOINT_FORMAT,
            "epoch": epoch,
            "batch": batch,
            "partial_losses": None if partial is None else partial.detach().cpu(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "grads": grads,
            **self._callbacks_state(),
            **self._schedule_state(),
            **self._scaler_state(),
            "early_stopping": self.early.state_dict(),
            "best_metric": self.early.best,
            "best_epoch": self.early.best_epoch,
            "best_model": self.progress.best_state,
            "ckpt_best": self.progress.ckpt_best,
            "history": self.progress.history,
            "rng": rng_state(),
            # The held-out rows and the row count define the split (training = the rest):
            # a fraction of the bytes of both index lists.
            "split": {
                "rows": int(self.run.split["train"].numel() + self.run.split["validation"].numel()),
                "validation": self.run.split["validation"].to(torch.int32),
            },
            "spec_hashes": self.run.spec_hashes,
            "vocabularies": self.run.vocabularies,
            "data_sha256": self.run.data_sha256,
            "seed": self.run.seed,
            "elapsed_s": self.progress.elapsed_s,
            # who wrote it: a streamed run resumes mid-epoch only with the same count
            "world_size": self.world.world_size,
            "stream_windows": self.run.stream_windows,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        split = state["split"]
        rows = int(self.run.split["train"].numel() + self.run.split["validation"].numel())
        same = split["rows"] == rows and torch.equal(
            split["validation"].long(), self.run.split["validation"].cpu().long()
        )
        if not same:
            raise ResumeError(
                "the checkpoint's validation rows differ from this data's split; "
                "the data or the seed changed"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state.get("grads") is not None:
            for p, g in zip(self.params, state["grads"], strict=True):
                p.grad = None if g is None else g.to(p.device)
        self.early.load_state_dict(state["early_stopping"])
        for callback, saved in zip(self.callbacks, state.get("callbacks") or [], strict=False):
            callback.load_state_dict(saved)
        if self.scaler is not None and state.get("scaler") is not None:
            self.scaler.load_state_dict(state["scaler"])
            self.skipped_steps = int(state.get("skipped_steps", 0))
        if self.schedule is not None and state.get("scheduler") is not None:
            self.schedule.load_state_dict(state["scheduler"])
        self.last_lr = float(state.get("last_lr", self.last_lr))
        best = state.get("best_model")
        self.progress = Progress(
            epoch=state["epoch"],
            batch=state["batch"],
            partial_losses=state.get("partial_losses"),
            history=list(state["history"]),
            best_state=None if best is None else {k: v.to(self.device) for k, v in best.items()},
            ckpt_best=state.get("ckpt_best"),
            elapsed_s=float(state.get("elapsed_s", 0.0)),
        )
        set_rng_state(state["rng"])

    def _scaler_state(self) -> dict[str, Any]:
        """fp16's GradScaler (its scale and growth tracker) and the epoch's skipped steps so
        far; nothing without a scaler (v1.0, bf16)."""
        if self.scaler is None:
            return {}
        return {"scaler": self.scaler.state_dict(), "skipped_steps": self.skipped_steps}

    def attach_schedule(self, schedule: Schedule) -> None:
        """The scheduler, built once the steps per epoch are known (`plan`); it may have set
        the first learning rate (LinearLR's start_factor, OneCycleLR's max_lr / div_factor)."""
        self.schedule = schedule
        self.lr_column = True
        self.last_lr = current_lr(self.optimizer)

    def _schedule_state(self) -> dict[str, Any]:
        """The scheduler's state and the `lr` column's value; nothing for a v1.0 spec."""
        if not self.lr_column:
            return {}
        state = None if self.schedule is None else self.schedule.state_dict()
        return {"scheduler": state, "last_lr": self.last_lr}

    def _after_step(self) -> None:
        """After each optimizer step: its learning rate noted, a per-step scheduler stepped."""
        if self.lr_column:
            self.last_lr = current_lr(self.optimizer)
        if self.schedule is not None:
            self.schedule.after_step()

    def _callbacks_state(self) -> dict[str, Any]:
        """The callbacks' states, in the spec's order; nothing for a v1.0 spec."""
        if not self.callbacks:
            return {}
        return {"callbacks": [callback.state_dict() for callback in self.callbacks]}

    def _save_full(self, path: Path) -> None:
        """A resumable checkpoint after the last completed epoch, for a callback."""
        ckpt_io.save(self.state_dict(epoch=self.progress.epoch, batch=0, partial=None), path)

    def _save_checkpoint(
        self, epoch: int, batch: int, partial: torch.Tensor | None, reason: str
    ) -> Path:
        name = ckpt_io.checkpoint_name(epoch + 1 if batch else epoch, batch)
        path = self.run.run_dir / ckpt_io.CHECKPOINT_DIR / name
        if not self.world.main:  # every rank holds the same state: rank 0 writes it
            return path
        ckpt_io.save(self.state_dict(epoch=epoch, batch=batch, partial=partial), path)
        self.reporter.checkpoint(str(path), epoch + 1 if batch else epoch, batch, reason)
        return path

    def _write_best(self, *, durable: bool) -> None:
        """best.pt follows the checkpoints, not every improvement (each checkpoint holds the
        best weights, so a resumed run rewrites it anyway); made durable at the end."""
        if not self.world.main:
            return
        if self.progress.best_state is not None and (durable or not self._best_written):
            self._save_weights(rundir.BEST_FILE, self.progress.best_state, durable=durable)
            self._best_written = True

    def _save_weights(
        self, name: str, state: dict[str, torch.Tensor], *, durable: bool = True
    ) -> Path:
        path = self.run.run_dir / name
        if not self.world.main:
            return path
        weights = {k: v.detach().cpu() for k, v in state.items()}
        ckpt_io.atomic_write(path, lambda fh: torch.save(weights, fh), durable=durable)
        return path

    # -- the loop -------------------------------------------------------------------------
    def plan(self, n: int) -> list[tuple[int, int, float, bool]]:
        """This run's batches of an epoch of `n` rows (see `batch_plan`). W processes with a
        BatchNorm that is not synced (CPU) need at least 2 rows each of every batch: a last
        batch of fewer than 2 x W rows joins the one before; an epoch of fewer rows is
        refused. Any other run has one process's plan."""
        world = self.world.world_size
        node = unsynced_batchnorm(self.model) if world > 1 else None
        if node is None:
            return batch_plan(n, self.cfg.batch_size, self.cfg.accumulate_grad_batches)
        plan = batch_plan(n, self.cfg.batch_size, self.cfg.accumulate_grad_batches, 2 * world)
        if n < 2 * world:
            raise DataError(
                f"the training split has {n} rows, too few for {world} processes: the model's"
                f" BatchNorm '{node}' needs at least 2 rows on each"
                f" process ({2 * world} in all; SyncBatchNorm needs CUDA); use fewer processes"
                " (--nproc-per-node) or more data"
            )
        return plan

    def _backward(self, loss: torch.Tensor, scale: float) -> None:
        """The (accumulation-scaled) loss's backward; fp16 scales it by the GradScaler too."""
        scaled = loss if scale == 1.0 else loss * scale
        (scaled if self.scaler is None else self.scaler.scale(scaled)).backward()

    def _step(self) -> None:
        cfg = self.cfg
        clip_val, clip_norm = cfg.gradient_clip_val, cfg.gradient_clip_norm
        if not clip_and_step(self.optimizer, self.params, clip_val, clip_norm, self.scaler):
            self.skipped_steps += 1
        self.optimizer.zero_grad(set_to_none=True)

    def train_epoch(self, epoch: int) -> float:
        """Train one epoch (from `progress.batch` on); returns the mean training loss."""
        data, cfg, model = self.data, self.cfg, self.model
        n = data.n_train
        plan = self.plan(n)
        n_batches = len(plan)
        order = None if data.own_order else epoch_order(n, self.run.seed, epoch, cfg.shuffle)
        if order is not None and data.resident:
            order = order.to(self.device)
        # Per-batch losses stay on the device (a list append costs nothing; no host sync).
        losses: list[torch.Tensor] = []
        start = self.progress.batch
        data.start_epoch(epoch, plan[start][0] if start < n_batches else n)
        if start and self.progress.partial_losses is not None:
            losses.extend(self.progress.partial_losses.to(self.device).unbind())
        self.progress.batch, self.progress.partial_losses = 0, None
        if not start:
            self.skipped_steps = 0
        out_key, loss_fn = self.loss.input, self.loss.fn
        log_every = cfg.log_every if self.reporter.wants_steps else 0
        checked = start
        stop = self.stop
        graph = self.graph_step
        self.reporter.epoch_begin(epoch, n_batches, start)
        model.train()
        for b in range(start, n_batches):
            lo, hi, scale, do_step = plan[b]
            if graph is None and self.closure:
                a, z = self.world.shard(lo, hi)
                losses.append(self._closure_step(*data.batch(order, a, z), hi - lo))
            elif graph is None and self.world.distributed:
                losses.append(self._shard_batch(order, lo, hi, scale, do_step))
            elif graph is None:
                xb, yb = data.batch(order, lo, hi)
                with self.precision.autocast():
                    loss = loss_fn(model(xb)[out_key], yb)
                self._backward(loss, scale)
                if do_step:
                    self._step()
                losses.append(loss.detach())
            else:
                losses.append(self._graph_batch(graph, order, scale, do_step, lo, hi, b).clone())
                graph = self.graph_step  # None once a capture failed
            if do_step or self.closure:
                self._after_step()
            if log_every and (b + 1) % log_every == 0:
                value = losses[b].item()
                self._check_finite(losses, checked, b + 1, epoch)
                self.reporter.step(epoch, b + 1, n_batches, value, b + 1 - checked)
                checked = b + 1
            if stop.requested is not None or self.group_stop:
                self._interrupt(epoch, b + 1, torch.stack(losses))
        self._check_finite(losses, checked, n_batches, epoch)
        sizes = torch.tensor(
            [hi - lo for lo, hi, _, _ in plan], dtype=torch.float32, device=self.device
        )
        return float((torch.stack(losses).float() * sizes).sum().item() / n)

    def _shard_loss(
        self, xb: dict[str, torch.Tensor], yb: torch.Tensor, rows: int
    ) -> tuple[torch.Tensor, float]:
        """This rank's loss on its share of a batch of `rows` rows and the weight that makes
        DDP's average of the ranks' gradients the whole batch's mean gradient. A rank with no
        rows (a batch smaller than W) still runs forward/backward: DDP's reduction needs all."""
        n = int(yb.shape[0])
        with self.precision.autocast():
            pred = self.net(xb)[self.loss.input]
            loss = self.loss.fn(pred, yb) if n else pred.sum() * 0.0
        return loss, n * self.world.world_size / rows

    def _batch_loss(self, loss: torch.Tensor, n: int, rows: int) -> torch.Tensor:
        """The whole batch's mean loss from each rank's mean on its `n` rows (the same on every
        rank, so every rank sees the same losses, checks and checkpoints)."""
        if not self.world.distributed:
            return loss.detach()
        # the stop flag travels with the loss: every rank stops after the same batch, so
        # rank 0's interrupt checkpoint is never left waiting on a rank that already left
        flag = 0.0 if self.stop.requested is None else 1.0
        total = torch.stack([loss.detach().float() * n, loss.new_tensor(flag, dtype=torch.float32)])
        summed = sum_(self.world, total)
        self.group_stop = bool(summed[1] > 0)
        return summed[0] / rows

    def _shard_batch(
        self, order: torch.Tensor | None, lo: int, hi: int, scale: float, do_step: bool
    ) -> torch.Tensor:
        """One batch on W processes: this rank's rows of it, the gradient averaged by DDP."""
        xb, yb = self.data.batch(order, *self.world.shard(lo, hi))
        loss, weight = self._shard_loss(xb, yb, hi - lo)
        self._backward(loss, scale * weight)
        if do_step:
            self._step()
        return self._batch_loss(loss, int(yb.shape[0]), hi - lo)

    def _closure_step(
        self, xb: dict[str, torch.Tensor], yb: torch.Tensor, rows: int
    ) -> torch.Tensor:
        """One step of an optimizer that re-evaluates the batch's loss itself (LBFGS). Returns
        the loss before the step, as the other optimizers' batches do (on W processes, the
        whole batch's: every rank's optimizer decides on the same value)."""
        cfg, optimizer = self.cfg, self.optimizer
        n = int(yb.shape[0])

        def closure() -> torch.Tensor:
            optimizer.zero_grad(set_to_none=True)
            loss, weight = self._shard_loss(xb, yb, rows)
            (loss if weight == 1.0 else loss * weight).backward()
            clip_grads(self.params, cfg.gradient_clip_val, cfg.gradient_clip_norm)
            return self._batch_loss(loss, n, rows)

        loss = optimizer_step(optimizer, closure)
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    def _graph_batch(
        self,
        graph: Any,
        order: torch.Tensor | None,
        scale: float,
        do_step: bool,
        lo: int,
        hi: int,
        b: int,
    ) -> torch.Tensor:
        """One batch on CUDA: eager until captured, then replayed (the epoch's last, smaller
        batch always eagerly)."""
        full = hi - lo == self.cfg.batch_size
        if full and graph.captured:
            if graph.gathers:
                loss = graph.replay_rows(order, lo, hi, scale)
            else:
                loss = graph.forward_backward(*self.data.batch(order, lo, hi), scale)
            if do_step and not graph.fused:
                graph.eager_step()
            return loss
        xb, yb = self.data.batch(order, lo, hi)
        at_group_start = b % self.cfg.accumulate_grad_batches == 0
        if full and graph.ready_to_capture(at_group_start):
            rows = (self.data.train_x, self.data.train_y) if self.data.resident else None
            try:
                graph.capture(xb, yb, rows)
                self.reporter.info(f"captured the training step in a CUDA graph (batch {hi - lo})")
            except Exception as err:  # any capture failure means: stay eager
                self.reporter.info(f"CUDA graph capture failed, training eagerly: {err}")
                self.graph_step = None
                with self.precision.autocast():
                    loss = self.loss.fn(self.model(xb)[self.loss.input], yb)
                self._backward(loss, scale)
                if do_step:
                    self._step()
                return loss.detach()
            return self._graph_batch(graph, order, scale, do_step, lo, hi, b)
        loss = graph.eager_forward_backward(xb, yb, scale)
        if do_step:
            graph.eager_step()
        return loss

    def _check_finite(self, losses: list[torch.Tensor], lo: int, hi: int, epoch: int) -> None:
        if hi <= lo:
            return
        window = torch.stack(losses[lo:hi])
        finite = torch.isfinite(window)
        if not bool(finite.all()):
            first = int((~finite).nonzero()[0, 0])
            raise NonFiniteLossError(epoch, lo + first + 1, float(window[first]))

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        data = self.data
        if data.n_val == 0:
            return {}
        self.model.eval()
        step = eval_chunk_rows(data.val_x, self.cfg.batch_size)
        acc = torch.float32 if self.device.type == "mps" else torch.float64  # MPS has no float64
        total = torch.zeros((), dtype=acc, device=self.device)
        extra = torch.zeros((), dtype=acc, device=self.device)
        elements = 0
        first, end = self.world.shard(0, data.n_val)  # each rank its share, then summed
        for xb, yb in data.val_chunks(first, end, step):
            with self.precision.autocast():
                pred = self.model(xb)[self.loss.input]
                batch_loss = self.loss.fn(pred, yb)
            total += batch_loss.to(acc) * int(yb.shape[0])
            if self.loss.task in ("binary", "multiclass"):
                extra += correct_count(self.loss, pred, yb)
                elements += int(yb.numel())
            elif self.loss.task == "regression":
                s, count = abs_error(pred, yb)
                extra += s.to(acc)
                elements += count
        self.model.train()
        counts = torch.stack([total, extra, torch.tensor(elements, dtype=acc, device=self.device)])
        val_loss, extra_value, elements = sum_(self.world, counts).tolist()
        metrics = {"val_loss": val_loss / data.n_val}
        if self.loss.task in ("binary", "multiclass"):
            metrics["val_accuracy"] = extra_value / elements
        elif self.loss.task == "regression":
            metrics["val_mae"] = extra_value / elements
        return metrics

    def fit(self) -> dict[str, Any]:
        run = FitRun(self.run.run_dir, self.progress.epoch, self._save_full)
        for callback in self.callbacks:
            callback.on_fit_start(run)
        try:
            return self._fit()
        finally:
            for callback in self.callbacks:
                callback.on_fit_end()

    def _fit(self) -> dict[str, Any]:
        cfg, prog = self.cfg, self.progress
        started = self._started = time.perf_counter()
        base_elapsed = self._base_elapsed = prog.elapsed_s
        status = "completed"
        stopped_early = self.early.should_stop
        epoch = prog.epoch
        while epoch < cfg.epochs and not stopped_early:
            epoch += 1
            t0 = time.perf_counter()
            train_loss = self.train_epoch(epoch)
            metrics: dict[str, Any] = {"epoch": epoch, "train_loss": train_loss, **self.evaluate()}
            if self.scaler is not None:  # fp16 (v1.1): optimizer steps skipped for inf/NaN
                metrics["skipped_steps"] = self.skipped_steps
            if self.lr_column:
                metrics["lr"] = self.last_lr
            if self.schedule is not None:
                self.schedule.after_epoch(metrics)
            prog.epoch = epoch
            prog.history.append(metrics)
            prog.elapsed_s = base_elapsed + time.perf_counter() - started
            self._write_metrics(durable=False)
            value = float(metrics[self.monitor])
            if self.early.update(epoch, value):
                prog.best_state = _clone_state(self.model)
                self._best_written = False
            for callback in self.callbacks:
                callback.on_epoch_end(metrics)
            if epoch % cfg.checkpoint_every == 0 and self._checkpoint_wanted(value):
                self._save_checkpoint(epoch, 0, None, "schedule")
                self._write_best(durable=False)
            self.reporter.epoch_end(metrics, time.perf_counter() - t0)
            if self.early.should_stop:
                stopped_early = True
                self.reporter.early_stop(
                    epoch, self.monitor, self.early.best_epoch, self.early.best
                )
        if stopped_early:
            status = "early_stopped"
        self.writer.flush()
        self._write_best(durable=True)
        self._write_metrics(durable=True)
        self._save_weights(rundir.LAST_FILE, self.model.state_dict())
        restored = False
        if cfg.early_stopping_patience is not None and prog.best_state is not None:
            self.model.load_state_dict(prog.best_state)
            restored = True
        prog.elapsed_s = base_elapsed + time.perf_counter() - started
        return self.summary(status, restored=restored)

    def _write_metrics(self, *, durable: bool) -> None:
        if self.world.main:
            path = self.run.run_dir / rundir.METRICS_FILE
            rundir.write_metrics(path, self.progress.history, durable=durable)

    def _checkpoint_wanted(self, value: float) -> bool:
        """save_best_only: only when the monitor beats its value at the last saved checkpoint."""
        if not self.cfg.save_best_only:
            return True
        best = self.progress.ckpt_best
        better = best is None or (
            value < best if self.cfg.early_stopping_mode == "min" else value > best
        )
        if better and not math.isnan(value):
            self.progress.ckpt_best = value
            return True
        return False

    def _interrupt(self, epoch: int, batch: int, losses: torch.Tensor) -> None:
        self.reporter.close_bar()
        path = self._save_checkpoint(epoch - 1, batch, losses, "interrupt")
        self._write_best(durable=True)
        self._write_metrics(durable=True)
        self._save_weights(rundir.LAST_FILE, self.model.state_dict())
        signum = self.stop.requested or 2
        if not self.world.main:
            raise TrainingInterrupted(signum, str(path))
        self.progress.elapsed_s = self._base_elapsed + time.perf_counter() - self._started
        summary = self.summary("interrupted", restored=False)
        summary["checkpoint"] = str(path)
        rundir.write_json(self.run.run_dir / rundir.SUMMARY_FILE, summary)
        raise TrainingInterrupted(signum, str(path))

    def summary(self, status: str, *, restored: bool) -> dict[str, Any]:
        history = self.progress.history
        best_epoch = self.early.best_epoch
        best_row = next((row for row in history if row["epoch"] == best_epoch), {})
        return {
            "status": status,
            "epochs_completed": self.progress.epoch,
            "best_epoch": self.early.best_epoch,
            "best_metric": self.early.best,
            "monitor": self.monitor,
            "monitor_mode": self.cfg.early_stopping_mode,
            "final_metrics": history[-1] if history else {},
            "best_metrics": best_row,
            "restored_best_weights": restored,
            # The weights to use: the best epoch's when early stopping restored them.
            "weights": str(self.run.run_dir / (rundir.BEST_FILE if restored else rundir.LAST_FILE)),
            "run_dir": str(self.run.run_dir),
            "model_id": self.run.model_id,
            "seed": self.run.seed,
            "device": str(self.device),
            "world_size": self.world.world_size,
            "duration_s": round(self.progress.elapsed_s, 3),
        }
