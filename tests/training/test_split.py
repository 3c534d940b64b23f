"""validation_split and shuffle: pure functions of the seed (and epoch)."""

from __future__ import annotations

import pytest
import torch

from arcgraph.training.errors import DataError
from arcgraph.training.split import epoch_order, split_indices, validation_size


def test_sizes_round_half_up() -> None:
    assert [validation_size(n, 0.2) for n in (569, 150, 442, 2)] == [114, 30, 88, 0]
    assert validation_size(5, 0.5) == 3


def test_split_is_disjoint_sorted_complete_and_seeded() -> None:
    train, val = split_indices(150, 0.2, seed=3)
    assert (len(train), len(val)) == (120, 30)
    assert torch.equal(torch.sort(torch.cat([train, val])).values, torch.arange(150))
    assert torch.equal(val, torch.sort(val).values)
    # Exactly the first 30 of randperm(150) from a generator seeded with 3.
    perm = torch.randperm(150, generator=torch.Generator().manual_seed(3))
    assert torch.equal(val, torch.sort(perm[:30]).values)
    again, _ = split_indices(150, 0.2, seed=3)
    other, _ = split_indices(150, 0.2, seed=4)
    assert torch.equal(train, again) and not torch.equal(train, other)


def test_zero_split_keeps_every_row_for_training() -> None:
    train, val = split_indices(10, 0.0, seed=0)
    assert train.tolist() == list(range(10)) and val.numel() == 0


def test_too_few_rows() -> None:
    with pytest.raises(
        DataError, match=r"too few rows for validation_split 0.2: 2 row\(s\) give no validation row"
    ):
        split_indices(2, 0.2, seed=0)
    with pytest.raises(
        DataError, match=r"too few rows for validation_split 0.6: 1 row\(s\) leave no training row"
    ):
        split_indices(1, 0.6, seed=0)


def test_epoch_order_depends_on_seed_and_epoch_only() -> None:
    a = epoch_order(50, 1, 1, True)
    assert torch.equal(a, epoch_order(50, 1, 1, True))
    assert not torch.equal(a, epoch_order(50, 1, 2, True))
    assert not torch.equal(a, epoch_order(50, 2, 1, True))
    torch.manual_seed(0)
    x = epoch_order(50, 1, 1, True)
    torch.manual_seed(99)
    assert torch.equal(x, epoch_order(50, 1, 1, True))  # global RNG plays no part
    assert epoch_order(50, 1, 1, False) is None
