"""The vocabulary of a categorical input: its values -> indices into its embedding.

Built from the training rows only (never the validation rows, which would leak them): the
distinct values of the input's columns, sorted (text by code point, integers by value, as
Arc's label encoder sorts them), get indices 0, 1, ...; every other value, seen in
validation or in new data, gets the reserved index `vocab_size`, the last of the
embedding's `vocab_size + 1` rows (arcgraph.builder.build.embedding_sizes). Training rows
with more distinct values than `vocab_size` are refused, naming the column and both counts.

A vocabulary is plain JSON (`vocab.json` in the run directory, `vocabularies` in every
checkpoint); a resumed run takes the checkpoint's, so indices never move when data changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc  # most functions are made at import: uses carry pyright: ignore
import torch

from arcgraph.builder.build import embedding_sizes
from arcgraph.training.data import Categories, Dataset
from arcgraph.training.errors import DataError, ResumeError

Vocabulary = dict[
    str, Any
]  # {"columns": [...], "vocab_size": n, "unseen_index": n, "values": [...]}


def apply_vocabularies(
    dataset: Dataset,
    model_spec: Mapping[str, Any],
    train_idx: torch.Tensor,
    saved: Mapping[str, Vocabulary] | None = None,
) -> dict[str, Vocabulary]:
    """Each categorical input's vocabulary (the saved one, else built from the training
    rows), its indices put into `dataset.inputs`; -> the vocabularies by input name."""
    out: dict[str, Vocabulary] = {}
    inputs = model_spec.get("inputs") or {}
    for name, cats in dataset.categories.items():
        sizes = embedding_sizes(inputs[name])
        assert sizes is not None  # only categorical inputs have Categories
        if saved is not None and name in saved:
            vocab = dict(saved[name])
            if vocab["vocab_size"] != sizes[0]:
                raise ResumeError(
                    f"the checkpoint's vocabulary of input '{name}' has vocab_size "
                    f"{vocab['vocab_size']} but the model spec says {sizes[0]}"
                )
        else:
            vocab = build_vocabulary(name, cats, train_idx, sizes[0])
        dataset.inputs[name] = encode(cats, vocab)
        out[name] = vocab
    return out


def build_vocabulary(
    name: str, cats: Categories, train_idx: torch.Tensor, vocab_size: int
) -> Vocabulary:
    """The sorted distinct values of the training rows; more than vocab_size is an error."""
    rows = train_idx.numpy()
    if cats.flat:
        rows = (rows[:, None] * cats.per_row + np.arange(cats.per_row)).ravel()
    take = pa.array(rows, type=pa.int64())
    seen: set[Any] = set()
    for part in cats.parts:
        seen.update(pc.unique(part.take(take)).to_pylist())  # pyright: ignore[reportAttributeAccessIssue]
    values = sorted(seen)
    if len(values) > vocab_size:
        cols = ", ".join(f"'{c}'" for c in cats.columns)
        noun, verb = ("column", "holds") if len(cats.columns) == 1 else ("columns", "hold")
        raise DataError(
            f"{noun} {cols} of categorical input '{name}' {verb} {len(values)} distinct values "
            f"in the training rows but vocab_size is {vocab_size}; set vocab_size to at least "
            f"{len(values)} in the model spec"
        )
    return {
        "columns": list(cats.columns),
        "vocab_size": vocab_size,
        "unseen_index": vocab_size,
        "values": values,
    }


def encode(cats: Categories, vocab: Vocabulary) -> torch.Tensor:
    """Indices of every row's values, in the input's dtype and declared shape; values not in
    the vocabulary get the reserved index."""
    values = vocab["values"]
    codes = []
    for part in cats.parts:
        known = pa.array(values)
        if known.type != part.type:  # text in the vocabulary or in the data: compare as text
            known = pa.array([str(v) for v in values], type=pa.string())
            part = part.cast(pa.string())
        index = pc.index_in(part, value_set=known)  # pyright: ignore[reportAttributeAccessIssue]
        filled = pc.fill_null(index, vocab["unseen_index"])
        codes.append(filled.to_numpy(zero_copy_only=False).astype(np.int64))
    n = len(codes[0]) // cats.per_row if cats.flat else len(codes[0])
    arr = codes[0].reshape(n, cats.per_row) if cats.flat else np.stack(codes, axis=1)
    if len(cats.shape) == 1:
        arr = arr.reshape(n)
    return torch.from_numpy(np.ascontiguousarray(arr)).to(cats.dtype)
