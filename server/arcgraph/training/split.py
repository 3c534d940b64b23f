"""Which rows are held out for validation, and the order of training rows in each epoch.

Both are pure functions of the seed (and the epoch), never of global RNG state, so a resumed
run sees exactly the split and the batch order an uninterrupted run would.

Validation rows: `n_val = floor(n * validation_split + 0.5)` rows chosen uniformly at random
without replacement, as the first `n_val` entries of `torch.randperm(n)` drawn from a generator
seeded with `seed`; both index lists are then sorted (file order). A table sorted by class
(iris) is therefore split evenly in expectation, unlike "the last rows" would be.

Epoch order: with `shuffle`, `torch.randperm(n_train)` from a generator seeded with
`epoch_seed(seed, epoch)`; without, file order.
"""

from __future__ import annotations

import math

import torch

from arcgraph.training.errors import DataError

_MIX = 0x9E3779B97F4A7C15  # golden-ratio constant: spreads (seed, epoch) pairs apart
_MASK = (1 << 63) - 1


def validation_size(n_rows: int, fraction: float) -> int:
    return math.floor(n_rows * fraction + 0.5)


def split_indices(n_rows: int, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (train indices, validation indices), int64, each sorted ascending."""
    n_val = validation_size(n_rows, fraction)
    if fraction > 0 and n_val < 1:
        raise DataError(
            f"too few rows for validation_split {fraction}: {n_rows} row(s) give no validation row"
        )
    if n_rows - n_val < 1:
        raise DataError(
            f"too few rows for validation_split {fraction}: {n_rows} row(s) leave no training row"
        )
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n_rows, generator=gen)
    val = torch.sort(perm[:n_val]).values
    train = torch.sort(perm[n_val:]).values
    return train, val


def epoch_seed(seed: int, epoch: int) -> int:
    return (seed * _MIX + epoch) & _MASK


def epoch_order(n_train: int, seed: int, epoch: int, shuffle: bool) -> torch.Tensor | None:
    """Positions into the training rows for `epoch` (1-based); None means file order."""
    if not shuffle:
        return None
    gen = torch.Generator().manual_seed(epoch_seed(seed, epoch))
    return torch.randperm(n_train, generator=gen)
