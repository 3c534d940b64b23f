"""`config.mixed_precision` (trainer spec v1.1) -> the autocast dtype and, for fp16, a GradScaler.

The forward pass and the loss run under `torch.autocast`; weights, gradients and the optimizer
state stay float32. bf16 has float32's range, so it needs no loss scaling and runs on the CPU
too; fp16 needs `torch.amp.GradScaler` (scaled loss, gradients unscaled before clipping, a step
skipped when they hold inf/NaN), which the trainer supports on CUDA only. Off (the default, and
every v1.0 spec) changes nothing: no autocast context, no scaler.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from dataclasses import dataclass

import torch

from arcgraph.training.errors import SpecError

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Precision:
    """What a run computes in: `name` None is float32 (no autocast)."""

    name: str | None
    device_type: str

    @property
    def dtype(self) -> torch.dtype | None:
        return None if self.name is None else _DTYPES[self.name]

    @property
    def scaled(self) -> bool:
        """fp16: the loss is scaled by a GradScaler (and skipped steps are counted)."""
        return self.name == "fp16"

    def autocast(self, *, cache: bool = True) -> AbstractContextManager[object]:
        """The context for forward and loss; `cache=False` inside a CUDA-graph capture (torch:
        autocast's cast cache must be off there)."""
        if self.name is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype, cache_enabled=cache)

    def make_scaler(self) -> torch.amp.GradScaler | None:
        return torch.amp.GradScaler(self.device_type) if self.scaled else None


FP32 = Precision(None, "cpu")


def _bf16_on(device: torch.device) -> bool:
    return device.type != "cuda" or torch.cuda.is_bf16_supported()


def resolve_precision(setting: bool | str, device: torch.device) -> Precision:
    """`true`: bf16 where the device supports it, else fp16 on CUDA. SpecError when the device
    cannot run the setting."""
    if setting is False:
        return Precision(None, device.type)
    name = setting
    if setting is True:
        name = "bf16" if _bf16_on(device) else "fp16"
    if name == "fp16" and device.type != "cuda":
        raise SpecError(
            f"config.mixed_precision is 'fp16' but the device is {device.type}: fp16 autocast"
            " with a GradScaler needs CUDA; use mixed_precision: bf16 (or true), which runs on"
            f" the {device.type.upper()} too"
        )
    if name == "bf16" and not _bf16_on(device):
        raise SpecError(
            f"config.mixed_precision is 'bf16' but this GPU ({torch.cuda.get_device_name(device)})"
            " does not support bfloat16; use mixed_precision: fp16 (or true)"
        )
    assert isinstance(name, str)
    return Precision(name, device.type)
