"""CUDA-graph capture of the training step, used only when `device.type == "cuda"`.

Small tabular models are launch-bound on a GPU: an eager step is hundreds of tiny kernels, each
a few microseconds of CPU. Replaying a captured graph launches them all at once.

Graphs (sharing one memory pool):

* A: the batch gather (when the rows live on the device: `index_select` by a static index
  tensor that each step fills with its rows), forward, loss, `(loss * scale).backward()`. The
  gradients exist (as zeros) before capture, so the captured backward adds into them in place:
  several replays of A accumulate exactly like eager accumulation. Without accumulation A also
  holds the optimizer step (clipping, `optimizer.step()`, gradients zeroed in place), so a full
  batch is one copy of its row indices and one replay.
* B: clipping (value, then norm), `optimizer.step()`, gradients zeroed in place: the step at the
  end of an accumulation group, and after the epoch's last, smaller batch.

The last, smaller batch of an epoch runs eagerly (its gradients land in the same tensors) and B
steps, so no row is dropped. The first WARMUP_STEPS optimizer steps run eagerly on a side
stream as real training steps (capture needs warmed-up kernels and an initialised optimizer
state); capture never runs the batch it records, so that batch is then replayed. Anything that
cannot be captured (an optimizer without `capturable`, data-dependent shapes, a host sync inside
the model) falls back to eager for the rest of the run, with the reason reported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch

from arcgraph.training.optim import clip_and_step, needs_closure
from arcgraph.training.precision import FP32, Precision

WARMUP_STEPS = 3

# Optimizers whose step is graph-safe without a `capturable` flag.
_PLAIN_OK = {"SGD"}


def capture_blocker(
    optimizer: torch.optim.Optimizer, device: torch.device, precision: Precision = FP32
) -> str | None:
    """Why capture cannot be tried at all, or None. bf16 autocast is captured with the step;
    fp16's GradScaler is not capturable."""
    if device.type != "cuda":
        return "not a CUDA device"
    if precision.scaled:
        return (
            "mixed_precision fp16: torch's GradScaler decides on the host whether to skip each"
            " step, which a CUDA graph cannot capture"
        )
    groups = optimizer.param_groups
    name = type(optimizer).__name__
    if needs_closure(optimizer):
        return f"{name} re-evaluates the loss through a closure during its step"
    if name in _PLAIN_OK:
        return None
    if not all(g.get("capturable", False) for g in groups):
        return f"{name} does not support capturable=True"
    return None


class CudaGraphStep:
    def __init__(
        self,
        model: torch.nn.Module,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        output: str,
        optimizer: torch.optim.Optimizer,
        clip_val: float | None,
        clip_norm: float | None,
        accumulate: int = 1,
        precision: Precision = FP32,
    ) -> None:
        self.model = model
        self.precision = precision  # bf16 (v1.1): autocast around forward and loss
        self.loss_fn = loss_fn
        self.output = output
        self.optimizer = optimizer
        self.clip_val = clip_val
        self.clip_norm = clip_norm
        # Without accumulation every batch steps: graph A takes the step too.
        self.fused = accumulate == 1
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.stream = torch.cuda.Stream()
        self.graph_a: Any = None
        self.graph_b: Any = None
        self.static_x: dict[str, torch.Tensor] = {}
        self.static_y: torch.Tensor | None = None
        self.static_idx: torch.Tensor | None = None  # rows of the batch (device-resident data)
        self.static_scale: torch.Tensor | None = None
        self.scale = 1.0  # the value in static_scale
        self.static_loss: torch.Tensor | None = None
        self.eager_steps = 0

    @property
    def captured(self) -> bool:
        return self.graph_b is not None

    @property
    def gathers(self) -> bool:
        """Whether graph A gathers its batch itself (`replay_rows`)."""
        return self.static_idx is not None

    # -- eager (warm-up and the last partial batch) ---------------------------------------
    def eager_forward_backward(
        self, xb: dict[str, torch.Tensor], yb: torch.Tensor, scale: float
    ) -> torch.Tensor:
        self.stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.stream):
            with self.precision.autocast():
                loss = self.loss_fn(self.model(xb)[self.output], yb)
            (loss if scale == 1.0 else loss * scale).backward()
        torch.cuda.current_stream().wait_stream(self.stream)
        return loss.detach()

    def eager_step(self) -> None:
        if self.captured:
            self.graph_b.replay()
            return
        self.stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.stream):
            clip_and_step(self.optimizer, self.params, self.clip_val, self.clip_norm)
            self.optimizer.zero_grad(set_to_none=True)
        torch.cuda.current_stream().wait_stream(self.stream)
        self.eager_steps += 1

    def _step_and_zero(self) -> None:
        clip_and_step(self.optimizer, self.params, self.clip_val, self.clip_norm)
        for p in self.params:
            if p.grad is not None:  # set for every parameter before capture
                p.grad.zero_()

    # -- capture and replay ---------------------------------------------------------------
    def ready_to_capture(self, at_group_start: bool) -> bool:
        return not self.captured and at_group_start and self.eager_steps >= WARMUP_STEPS

    def capture(
        self,
        xb: dict[str, torch.Tensor],
        yb: torch.Tensor,
        rows: tuple[dict[str, torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        """Record the graphs for batches shaped like (xb, yb); raises if capture fails.

        `rows`: the device-resident training tensors (x by input, y); graph A then gathers
        its batch from them by `static_idx`. Must be called at an accumulation-group start
        (gradients are None)."""
        torch.cuda.synchronize()
        for p in self.params:
            p.grad = torch.zeros_like(p)
        batch = int(yb.shape[0])
        if rows is not None:
            idx = self.static_idx = torch.zeros(batch, dtype=torch.long, device=yb.device)
            rows_x, rows_y = rows

            def batch_in_graph() -> tuple[dict[str, torch.Tensor], torch.Tensor]:
                """Graph A gathers its batch from the device-resident rows by `static_idx`."""
                x = {k: v.index_select(0, idx) for k, v in rows_x.items()}
                return x, rows_y.index_select(0, idx)
        else:
            static_x = self.static_x = {k: v.clone() for k, v in xb.items()}
            static_y = self.static_y = yb.clone()

            def batch_in_graph() -> tuple[dict[str, torch.Tensor], torch.Tensor]:
                """Graph A reads the batch the caller copies into `static_x`/`static_y`."""
                return static_x, static_y

        self.static_scale = torch.ones((), device=yb.device)
        self.scale = 1.0
        graph_a = torch.cuda.CUDAGraph()
        graph_b = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph_a):
                x, y = batch_in_graph()
                with self.precision.autocast(cache=False):  # no cast cache inside a capture
                    loss = self.loss_fn(self.model(x)[self.output], y)
                (loss if self.fused else loss * self.static_scale).backward()
                if self.fused:
                    self._step_and_zero()
            with torch.cuda.graph(graph_b, pool=graph_a.pool()):
                self._step_and_zero()
        except BaseException:
            for p in self.params:
                p.grad = None
            self.static_idx = None
            with contextlib.suppress(RuntimeError):  # the capture's error is what we report
                torch.cuda.synchronize()
            raise
        self.static_loss = loss.detach()
        self.graph_a, self.graph_b = graph_a, graph_b

    def _set_scale(self, scale: float) -> None:
        if scale != self.scale:
            assert self.static_scale is not None
            self.static_scale.fill_(scale)
            self.scale = scale

    def replay_rows(
        self, order: torch.Tensor | None, lo: int, hi: int, scale: float
    ) -> torch.Tensor:
        """One full batch (rows `order[lo:hi]`, or `lo..hi` unshuffled) through graph A."""
        idx = self.static_idx
        assert idx is not None and self.static_loss is not None
        if order is None:
            torch.arange(lo, hi, out=idx)
        else:
            idx.copy_(order[lo:hi])
        self._set_scale(scale)
        self.graph_a.replay()
        return self.static_loss

    def forward_backward(
        self, xb: dict[str, torch.Tensor], yb: torch.Tensor, scale: float
    ) -> torch.Tensor:
        """One full batch already gathered (rows in host memory) through graph A."""
        for k, v in xb.items():
            self.static_x[k].copy_(v, non_blocking=True)
        assert self.static_y is not None and self.static_loss is not None
        self.static_y.copy_(yb, non_blocking=True)
        self._set_scale(scale)
        self.graph_a.replay()
        return self.static_loss
