"""`config.device` -> torch.device: auto prefers cuda, then mps, then cpu; an explicitly
requested device that is absent is an error (never a silent fall back to the CPU)."""

from __future__ import annotations

import torch

from arcgraph.training.errors import SpecError


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SpecError("config.device is 'cuda' but no CUDA device is available to torch")
    if name == "mps" and not _mps_available():
        raise SpecError("config.device is 'mps' but the MPS backend is not available to torch")
    if name not in ("cpu", "cuda", "mps"):
        raise SpecError(f"config.device must be auto, cpu, cuda or mps, got {name!r}")
    return torch.device(name)
