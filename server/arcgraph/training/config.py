"""The trainer spec's `optimizer` and `config` sections as typed values with the spec's defaults.

The engine's diagnostics come first (see `preflight`); this is the trainer's own last line of
defence, so a wrong type or an unknown (misspelt) field is refused rather than silently
ignored: every field the trainer accepts is one it honours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from arcgraph.training.errors import SpecError

DEVICES = ("auto", "cpu", "cuda", "mps")
MIXED_PRECISION = (False, True, "bf16", "fp16")


@dataclass(frozen=True)
class TrainerConfig:
    epochs: int
    batch_size: int
    validation_split: float
    shuffle: bool
    early_stopping_patience: int | None = None
    early_stopping_min_delta: float = 0.001
    early_stopping_monitor: str = "val_loss"
    early_stopping_mode: str = "min"
    checkpoint_every: int = 1
    save_best_only: bool = False
    device: str = "auto"
    num_workers: int = 0
    pin_memory: bool = False
    gradient_clip_val: float | None = None
    gradient_clip_norm: float | None = None
    accumulate_grad_batches: int = 1
    log_every: int = 10
    verbose: bool = True
    seed: int | None = None
    # spec v1.1: false | true | "bf16" | "fp16" (see training/precision.py)
    mixed_precision: bool | str = False
    amp_backend: str = "native"
    # spec v1.1: torch.distributed (see training/distributed.py)
    distributed: bool = False
    world_size: int | None = None
    backend: str | None = None  # gloo | nccl; None: nccl on CUDA, gloo on CPU


@dataclass(frozen=True)
class OptimizerSpec:
    type: str
    lr: float
    params: Mapping[str, Any]


REQUIRED = ("epochs", "batch_size", "validation_split", "shuffle")
_POSITIVE_INT = (
    "epochs",
    "batch_size",
    "early_stopping_patience",
    "checkpoint_every",
    "accumulate_grad_batches",
    "log_every",
    "world_size",
)
_POSITIVE_FLOAT = ("gradient_clip_val", "gradient_clip_norm")
_BOOL = ("shuffle", "save_best_only", "pin_memory", "verbose", "distributed")
BACKENDS = ("gloo", "nccl")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def parse_trainer(spec: Any) -> tuple[str | None, OptimizerSpec, TrainerConfig]:
    """-> (model_ref, optimizer, config); SpecError names the offending field."""
    if not isinstance(spec, Mapping):
        raise SpecError("a trainer spec must be a YAML mapping")
    unknown = sorted(set(spec) - {"model_ref", "optimizer", "config", "scheduler", "callbacks"})
    if unknown:
        raise SpecError(f"unknown trainer spec section(s): {', '.join(map(str, unknown))}")
    model_ref = spec.get("model_ref")
    if model_ref is not None and not isinstance(model_ref, str):
        raise SpecError("model_ref must be a string")
    return model_ref, parse_optimizer(spec.get("optimizer")), parse_config(spec.get("config"))


def parse_optimizer(opt: Any) -> OptimizerSpec:
    if not isinstance(opt, Mapping):
        raise SpecError("optimizer: a mapping with 'type' and 'lr' is required")
    unknown = sorted(set(opt) - {"type", "lr", "params"})
    if unknown:
        raise SpecError(f"optimizer: unknown field(s) {', '.join(map(str, unknown))}")
    if not isinstance(opt.get("type"), str):
        raise SpecError("optimizer.type: a torch.optim class name is required")
    lr = opt.get("lr")
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or lr <= 0:
        raise SpecError(f"optimizer.lr must be a positive number, got {lr!r}")
    params = opt.get("params") or {}
    if not isinstance(params, Mapping):
        raise SpecError("optimizer.params must be a mapping")
    if "lr" in params:
        raise SpecError("optimizer.params.lr: give the learning rate as optimizer.lr")
    return OptimizerSpec(type=opt["type"], lr=float(lr), params=dict(params))


def _check_precision(values: Mapping[str, Any]) -> None:
    mp = values.get("mixed_precision", False)
    # `is`, not `in`: 1 == True and 0 == False, but an integer is not a setting
    if not any(mp is v if isinstance(v, bool) else mp == v for v in MIXED_PRECISION):
        raise SpecError(f"config.mixed_precision must be false, true, bf16 or fp16, got {mp!r}")
    backend = values.get("amp_backend", "native")
    if backend == "apex":
        raise SpecError(
            "config.amp_backend 'apex' is not supported: arcgraph trains with torch's native"
            " mixed precision (torch.autocast, torch.amp.GradScaler); use amp_backend: native"
        )
    if backend != "native":
        raise SpecError(f"config.amp_backend must be native, got {backend!r}")


def parse_config(cfg: Any) -> TrainerConfig:
    if not isinstance(cfg, Mapping):
        raise SpecError(
            "config: a mapping with epochs, batch_size, validation_split, shuffle is required"
        )
    known = {f.name for f in fields(TrainerConfig)}
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise SpecError(f"config: unknown field(s) {', '.join(map(str, unknown))}")
    missing = [k for k in REQUIRED if k not in cfg]
    if missing:
        raise SpecError(f"config: missing required field(s) {', '.join(missing)}")
    values = {k: v for k, v in cfg.items() if v is not None}
    for key, v in values.items():
        if key in _POSITIVE_INT and (not _is_int(v) or v < 1):
            raise SpecError(f"config.{key} must be a positive integer, got {v!r}")
        if key in _POSITIVE_FLOAT and (not _is_number(v) or v <= 0):
            raise SpecError(f"config.{key} must be a positive number, got {v!r}")
        if key in _BOOL and not isinstance(v, bool):
            raise SpecError(f"config.{key} must be true or false, got {v!r}")
    split = values["validation_split"]
    if not _is_number(split) or not 0.0 <= split < 1.0:
        raise SpecError(f"config.validation_split must be in [0.0, 1.0), got {split!r}")
    delta = values.get("early_stopping_min_delta", 0.001)
    if not _is_number(delta) or delta < 0:
        raise SpecError(f"config.early_stopping_min_delta must be a number >= 0, got {delta!r}")
    if values.get("early_stopping_mode", "min") not in ("min", "max"):
        raise SpecError(
            f"config.early_stopping_mode must be 'min' or 'max', got {values['early_stopping_mode']!r}"
        )
    if not isinstance(values.get("early_stopping_monitor", "val_loss"), str):
        raise SpecError("config.early_stopping_monitor must be a metric name")
    if values.get("device", "auto") not in DEVICES:
        raise SpecError(
            f"config.device must be one of {', '.join(DEVICES)}, got {values['device']!r}"
        )
    workers = values.get("num_workers", 0)
    if not _is_int(workers) or workers < 0:
        raise SpecError(f"config.num_workers must be an integer >= 0, got {workers!r}")
    _check_precision(values)
    if values.get("backend", "gloo") not in BACKENDS:
        raise SpecError(f"config.backend must be gloo or nccl, got {values['backend']!r}")
    seed = values.get("seed")
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise SpecError(f"config.seed must be an integer >= 0, got {seed!r}")
    values["validation_split"] = float(split)
    values["early_stopping_min_delta"] = float(delta)
    for key in _POSITIVE_FLOAT:
        if key in values:
            values[key] = float(values[key])
    return TrainerConfig(**values)
