"""Where the rows live: on the training device when they fit, else in (pinned) host memory.

On the CPU the table is simply used in place. On CUDA the rows are copied to the GPU once when
they take at most half of its free memory, so a batch is one `index_select` on the device;
otherwise they stay on the host (pinned when `pin_memory`, making each batch's copy
asynchronous). `num_workers` has nothing to parallelise here: batches are gathered by tensor
indexing, not by a DataLoader's per-sample workers.
"""

from __future__ import annotations

from typing import Any

import torch

from arcgraph.builder import loss as loss_rules
from arcgraph.training.config import TrainerConfig
from arcgraph.training.data import Dataset
from arcgraph.training.loop import DeviceData
from arcgraph.training.losses import LossSpec

RESIDENT_FRACTION = 0.5


def _nbytes(tensors: list[torch.Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def place(
    dataset: Dataset,
    train_idx: torch.Tensor,
    val_idx: torch.Tensor,
    device: torch.device,
    cfg: TrainerConfig,
) -> tuple[DeviceData, list[str]]:
    """-> (the split rows, placed; notes on what num_workers / pin_memory did)."""
    notes: list[str] = []
    train_x = {k: v.index_select(0, train_idx) for k, v in dataset.inputs.items()}
    val_x = {k: v.index_select(0, val_idx) for k, v in dataset.inputs.items()}
    train_y = dataset.target.index_select(0, train_idx)
    val_y = dataset.target.index_select(0, val_idx)
    tensors = [*train_x.values(), *val_x.values(), train_y, val_y]
    resident = True
    non_blocking = False
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        resident = _nbytes(tensors) <= RESIDENT_FRACTION * free
    elif device.type == "mps":
        resident = True
    if device.type != "cpu" and resident:
        train_x = {k: v.to(device) for k, v in train_x.items()}
        val_x = {k: v.to(device) for k, v in val_x.items()}
        train_y, val_y = train_y.to(device), val_y.to(device)
        if cfg.pin_memory:
            notes.append("pin_memory: no effect, the data is resident on the device")
    elif device.type != "cpu":
        if cfg.pin_memory:
            train_x = {k: v.pin_memory() for k, v in train_x.items()}
            train_y = train_y.pin_memory()
            non_blocking = True
            notes.append("pin_memory: host rows pinned, batch copies are asynchronous")
        notes.append("the data does not fit in device memory: batches are copied from the host")
    elif cfg.pin_memory:
        notes.append("pin_memory: no effect when training on the CPU")
    if cfg.num_workers:
        notes.append(
            f"num_workers: {cfg.num_workers} ignored, batches are gathered from memory by "
            "tensor indexing (no loader workers needed)"
        )
    data = DeviceData(
        train_x=train_x,
        train_y=train_y,
        val_x=val_x,
        val_y=val_y,
        device=device,
        resident=resident or device.type == "cpu",
        non_blocking=non_blocking,
    )
    return data, notes


@torch.no_grad()
def align_target(model: torch.nn.Module, data: DeviceData, output: str, float_target: bool) -> None:
    """Give a float target the prediction's shape once (`[N]` -> `[N, 1]` for a `[B, 1]`
    output), so the loss needs no per-step reshape. Found with one eval-mode forward on two
    rows: no gradient, no RNG, no BatchNorm statistics touched."""
    if not float_target or data.train_y.dim() != 1 or data.n_train == 0:
        return
    pred = _sample_prediction(model, data, output)
    if isinstance(pred, torch.Tensor):  # else the loss check says what the output is
        data.train_y = loss_rules.aligned_target(data.train_y, pred.shape)
        data.val_y = loss_rules.aligned_target(data.val_y, pred.shape)


@torch.no_grad()
def loss_mismatch(
    model: torch.nn.Module, data: DeviceData, loss: LossSpec, column: str
) -> str | None:
    """What the shape check says on `meta` (arcgraph.builder.loss.mismatch), asked of the
    loss on the first two training rows: a prediction and target it cannot take are refused
    before training, in the same words, instead of failing in the first step."""
    if data.n_train == 0:
        return None
    pred = _sample_prediction(model, data, loss.input)
    target = data.train_y[:2].to(data.device)
    return loss_rules.mismatch(
        loss.type, loss.fn, pred, target, output=loss.input, column=column, rows=len(target)
    )


@torch.no_grad()
def class_count(model: torch.nn.Module, data: DeviceData, output: str) -> int | None:
    """The size of the prediction's class dimension (dim 1, as cross_entropy reads it), from
    one eval-mode forward on two rows; None when the output has no such dimension."""
    if data.n_train == 0:
        return None
    pred = _sample_prediction(model, data, output)
    return int(pred.shape[1]) if isinstance(pred, torch.Tensor) and pred.dim() >= 2 else None


def _sample_prediction(model: torch.nn.Module, data: DeviceData, output: str) -> Any:
    """`output` for the first two training rows, in eval mode (no BatchNorm statistics
    touched), the model's mode restored; the callers run under no_grad."""
    was_training = model.training
    model.eval()
    try:
        xb = {k: v[:2].to(data.device) for k, v in data.train_x.items()}
        return model(xb)[output]
    finally:
        model.train(was_training)
