"""Read a CSV or Parquet table with pyarrow and turn it into the model's input tensors.

pyarrow does all parsing (multithreaded CSV, Parquet) and numeric columns reach numpy without a
copy; each input is then assembled once, row-major, in its own dtype, and handed to torch with
`torch.from_numpy` (no copy). Every problem (missing column, non-numeric value, empty cell,
NaN, a column both feature and target) is reported with the column and the row, before any
training starts. Rows are numbered from 1 (the first data row); a CSV's line is row + 1.

A categorical input's columns are kept as their values (`Categories`): their indices come from
a vocabulary of the training rows, which needs the split (arcgraph.training.vocab).
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc  # most functions are made at import: uses carry pyright: ignore
import torch

from arcgraph.builder import torchnames
from arcgraph.engine.datafiles import CSV_SUFFIXES, PARQUET_SUFFIXES
from arcgraph.engine.files import not_regular
from arcgraph.training.errors import DataError
from arcgraph.training.losses import LossSpec


@dataclass
class Categories:
    """A categorical input's values, checked (no empty cell, no fractional number): one array
    of n_rows per column, or one flattened list column of n_rows * per_row values."""

    columns: list[str]
    parts: list[pa.Array]  # strings or int64, all of one type
    per_row: int
    flat: bool  # one list column, flattened (else one part per column)
    shape: list[Any]
    dtype: torch.dtype


@dataclass
class Dataset:
    """The whole table as CPU tensors, one per model input, plus the encoded target. A
    categorical input is in `categories` until its vocabulary puts its indices in `inputs`."""

    inputs: dict[str, torch.Tensor]
    target: torch.Tensor
    n_rows: int
    labels: list[str] | None  # class names when the target column held strings
    fingerprint: dict[str, Any]
    categories: dict[str, Categories] = field(default_factory=dict)


def require_data_file(path: Path) -> None:
    """A data path must be a regular file: a folder or a FIFO is said to be one (a FIFO is
    never opened: reading it would wait for a writer)."""
    if path.is_file():
        return
    kind = not_regular(path)
    if kind is None:
        raise DataError(f"data file not found: {path}")
    if kind == "folder":
        raise DataError(f"data path {path} is a folder; give the CSV or Parquet file in it")
    raise DataError(f"data path {path} is not a regular file ({kind}); give a CSV or Parquet file")


def fingerprint(path: Path) -> dict[str, Any]:
    """What identifies a data file: a resumed run refuses a changed file unless forced. A
    folder of Parquet files (streamed): the hash of its files' names and hashes, each file
    named by its path in the folder (a linked file's target may be anywhere)."""
    if path.is_dir():
        from arcgraph.training.streaming import parquet_files

        names = parquet_files(path)
        files = [fingerprint(f) for f in names]
        digest = hashlib.sha256()
        for name, f in zip(names, files, strict=True):
            digest.update(f"{name.relative_to(path).as_posix()}\0{f['sha256']}\n".encode())
        return {
            "path": str(path.resolve()),
            "files": len(files),
            "size": sum(f["size"] for f in files),
            "sha256": digest.hexdigest(),
        }
    require_data_file(path)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    st = path.stat()
    return {
        "path": str(path.resolve()),
        "size": st.st_size,
        "mtime": st.st_mtime,
        "sha256": digest.hexdigest(),
    }


def read_table(path: Path) -> pa.Table:
    name = path.name.lower()
    require_data_file(path)
    try:
        if name.endswith(PARQUET_SUFFIXES):
            import pyarrow.parquet as pq

            return pq.read_table(path, use_threads=True)
        if name.endswith(CSV_SUFFIXES):
            from pyarrow import csv

            parse = csv.ParseOptions(delimiter="\t" if name.endswith(".tsv") else ",")
            # Only a truly empty cell is missing; "nan"/"NA" stay text or NaN, and are then
            # reported as what they are rather than as an empty cell.
            convert = csv.ConvertOptions(null_values=[""], strings_can_be_null=True)
            return csv.read_csv(
                path,
                read_options=csv.ReadOptions(use_threads=True),
                parse_options=parse,
                convert_options=convert,
            )
    except pa.ArrowException as err:
        raise DataError(f"{path.name}: cannot read the table: {err}") from err
    raise DataError(f"{path.name}: unsupported data format; use .csv, .tsv or .parquet")


def _check_column_names(table: pa.Table, path: Path) -> None:
    """pyarrow keeps header bytes as they are and fails only when a name is read; say which."""
    for i in range(table.num_columns):
        try:
            table.schema.field(i).name  # noqa: B018 - decoding is the check
        except UnicodeDecodeError as err:
            raw = bytes(err.object)
            shown = raw.decode("utf-8", errors="replace")
            where = "line 1 (the header), " if path.name.lower().endswith(CSV_SUFFIXES) else ""
            raise DataError(
                f"{path.name}: {where}column {i + 1} name {shown!r} is not valid UTF-8 "
                f"(byte 0x{raw[err.start]:02x} at position {err.start + 1}); "
                "save the file as UTF-8"
            ) from None


def load_dataset(
    path: str | Path, model_spec: Mapping[str, Any], target: str, loss: LossSpec
) -> Dataset:
    path = Path(path)
    table = read_table(path)
    _check_column_names(table, path)
    where = _Where(path)
    inputs_decl = model_spec.get("inputs") or {}
    feature_of: dict[str, str] = {}
    for input_name, decl in inputs_decl.items():
        for col in decl.get("columns") or []:
            feature_of.setdefault(str(col), input_name)
    if target in feature_of:
        raise DataError(
            f"column '{target}' is both a feature (input '{feature_of[target]}') and the target"
        )
    names = table.column_names
    missing = [c for c in (*feature_of, target) if c not in names]
    if missing:
        shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        col = missing[0]
        role = "the target" if col == target else f"input '{feature_of[col]}'"
        more = (
            f" (and {len(missing) - 1} more missing: {', '.join(missing[1:])})"
            if missing[1:]
            else ""
        )
        raise DataError(
            f"column '{col}' ({role}) is not in {path.name}{more}; its columns are: {shown}"
        )
    if table.num_rows == 0:
        raise DataError(f"{path.name} has no data rows")

    tensors: dict[str, torch.Tensor] = {}
    categories: dict[str, Categories] = {}
    for name, decl in inputs_decl.items():
        if decl.get("categorical") is True:
            categories[name] = _categories(table, name, decl, where)
        else:
            tensors[name] = _input_tensor(table, name, decl, where)
    target_tensor, labels = _target_tensor(table.column(target), target, loss, where)
    return Dataset(
        inputs=tensors,
        target=target_tensor,
        n_rows=table.num_rows,
        labels=labels,
        fingerprint=fingerprint(path),
        categories=categories,
    )


def rows_to_tensors(
    table: pa.Table,
    rows: np.ndarray,
    model_spec: Mapping[str, Any],
    target: str,
    loss: LossSpec,
    path: Path,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Some streamed rows as the model's inputs and the target, checked as a whole table is
    (a message names the row's number in the data set). Categorical inputs and text class
    labels need all the rows (a vocabulary, the label list): `check_streamable` refuses them."""
    where = _Where(path, rows=rows)
    inputs = {
        name: _input_tensor(table, name, decl, where)
        for name, decl in (model_spec.get("inputs") or {}).items()
    }
    target_tensor, _labels = _target_tensor(table.column(target), target, loss, where)
    return inputs, target_tensor


def check_streamable(
    schema: pa.Schema, model_spec: Mapping[str, Any], target: str, path: Path
) -> None:
    """What streamed data cannot have yet, said before any row is read."""
    for name, decl in (model_spec.get("inputs") or {}).items():
        if decl.get("categorical") is True:
            raise DataError(
                f"input '{name}' is categorical: its vocabulary needs all the rows, so "
                f"{path.name} cannot be streamed; give a Parquet file that fits in memory"
            )
    kind = schema.field(target).type if target in schema.names else None
    if kind is not None and (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise DataError(
            f"column '{target}' holds text labels: their list needs all the rows, so "
            f"{path.name} cannot be streamed; store the classes as integers 0..k-1"
        )


class _Where:
    """Formats a row position for messages; `rows`: the data set's row number (0-based) of
    each row of a streamed piece."""

    def __init__(self, path: Path, values_per_row: int = 1, rows: np.ndarray | None = None) -> None:
        self.path = path
        self.csv = path.name.lower().endswith(CSV_SUFFIXES)
        self.values_per_row = max(1, values_per_row)
        self.rows = rows

    def per_row(self, n: int) -> _Where:
        """For a list column's flattened values: index i lies in row i // n."""
        return _Where(self.path, n, self.rows)

    def __call__(self, index: int) -> str:
        row = index // self.values_per_row
        row = (int(self.rows[row]) if self.rows is not None else row) + 1
        return f"row {row} (line {row + 1})" if self.csv else f"row {row}"


def _plain(col: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    return col


def _check_nulls(col: pa.ChunkedArray, name: str, where: _Where) -> None:
    if col.null_count:
        first = pc.index(pc.is_null(col), True).as_py()  # pyright: ignore[reportAttributeAccessIssue]
        raise DataError(f"column '{name}': empty cell in {where(first)}")


def _numeric(
    col: pa.ChunkedArray,
    name: str,
    where: _Where,
    np_dtype: np.dtype,
    hint: str = "rescale the column",
) -> np.ndarray:
    """A numeric column as a numpy array (no copy where pyarrow allows), checked; `hint` says
    how to fix a value outside `np_dtype`'s range."""
    col = _plain(col)
    _check_nulls(col, name, where)
    kind = col.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        for i, value in enumerate(col.to_pylist()):
            try:
                float(value)
            except (TypeError, ValueError):
                raise DataError(
                    f"column '{name}': non-numeric value {value!r} in {where(i)}"
                ) from None
        arr = np.asarray(col.to_pylist(), dtype=np.float64)
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        arr = col.to_numpy()
    else:
        raise DataError(f"column '{name}': type {kind} is not numeric")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"column '{name}': {arr[i]} (not a finite number) in {where(i)}")
    if np_dtype.kind in "iu" and arr.dtype.kind == "f":
        frac = arr != np.floor(arr)
        if frac.any():
            i = int(np.argmax(frac))
            raise DataError(
                f"column '{name}': {arr[i]} in {where(i)} is not an integer (the input is {np_dtype})"
            )
    _check_range(arr, name, where, np_dtype, hint)
    return arr


def _check_range(arr: np.ndarray, name: str, where: _Where, np_dtype: np.dtype, hint: str) -> None:
    """A value the cast to `np_dtype` would turn into inf (1e300 -> float32) or wrap around
    (3e9 -> int32) is refused here, not found later as a non-finite loss."""
    if np_dtype.kind == "f":
        if arr.dtype.kind == "f" and arr.dtype.itemsize <= np_dtype.itemsize:
            return
        if arr.dtype.kind == "b":
            return
        top = float(np.finfo(np_dtype).max)
        bad = np.abs(arr) > top
        limit = f"at most {top:.6g} in magnitude"
    elif np_dtype.kind in "iu":
        if arr.dtype.kind == "b":
            return
        info = np.iinfo(np_dtype)
        if arr.dtype.kind in "iu" and np.can_cast(arr.dtype, np_dtype):
            return
        # float(info.max) + 1 is exactly 2**(bits-1) (or 2**bits): a safe exclusive bound.
        bad = (arr < info.min) | (arr >= float(info.max) + 1)
        limit = f"from {info.min} to {info.max}"
    else:
        return
    if bad.any():
        i = int(np.argmax(bad))
        value = arr[i]
        shown = f"{value:g}" if arr.dtype.kind == "f" else str(value)
        raise DataError(
            f"column '{name}': {shown} in {where(i)} does not fit in {np_dtype} ({limit}); {hint}"
        )


def _sequences(table: pa.Table, column: str, where: _Where) -> tuple[pa.Array, int]:
    """A list column's values flattened, and the one length every row's sequence has (a row
    of another length is an error: the rows must stack into one tensor)."""
    col = _plain(table.column(column))
    _check_nulls(col, column, where)
    lengths = pc.list_value_length(col).to_numpy()  # pyright: ignore[reportAttributeAccessIssue]
    if lengths.size and (lengths != lengths[0]).any():
        i = int(np.argmax(lengths != lengths[0]))
        raise DataError(
            f"column '{column}': sequence of length {lengths[i]} in {where(i)}, "
            f"expected {lengths[0]} like row 1"
        )
    per_row = int(lengths[0]) if lengths.size else 1
    return pc.list_flatten(col), per_row  # pyright: ignore[reportAttributeAccessIssue]


def _input_tensor(
    table: pa.Table, name: str, decl: Mapping[str, Any], where: _Where
) -> torch.Tensor:
    dtype = torchnames.resolve_dtype(str(decl.get("dtype", "float32")))
    np_dtype = torch.empty((), dtype=dtype).numpy().dtype
    columns = [str(c) for c in decl.get("columns") or []]
    shape = list(decl.get("shape") or [None])
    n = table.num_rows
    tail = [d for d in shape[1:]]
    widest = "float64" if np_dtype.kind == "f" else "int64"
    hint = "rescale the column" + (
        f" or declare input '{name}' as dtype {widest}" if np_dtype != np.dtype(widest) else ""
    )
    if len(columns) == 1 and _is_list(table.column(columns[0]).type):
        # One column holding a fixed-length sequence per row (Parquet list column).
        values, per_row = _sequences(table, columns[0], where)
        flat = _numeric(values, columns[0], where.per_row(per_row), np_dtype, hint).astype(
            np_dtype, copy=False
        )
        arr = flat.reshape(n, -1)
    else:
        arr = np.empty((n, len(columns)), dtype=np_dtype)
        for j, col_name in enumerate(columns):
            arr[:, j] = _numeric(table.column(col_name), col_name, where, np_dtype, hint)
    width = arr.shape[1]
    if len(shape) == 1:
        if width != 1:
            raise DataError(f"input '{name}' has shape {shape} but {width} values per row")
        arr = arr.reshape(n)
    elif (sizes := [d for d in tail if isinstance(d, int)]) == tail and math.prod(sizes) == width:
        arr = arr.reshape(n, *sizes)
    elif len(tail) == 1 and tail[0] is None:
        pass
    else:
        raise DataError(
            f"input '{name}' has shape {shape} but its columns give {width} values per row"
        )
    return _tensor(np.ascontiguousarray(arr))


def _categories(table: pa.Table, name: str, decl: Mapping[str, Any], where: _Where) -> Categories:
    """A categorical input's values: strings or integers (integral floats become integers)."""
    dtype = torchnames.resolve_dtype(str(decl.get("dtype", "int64")))
    columns = [str(c) for c in decl.get("columns") or []]
    shape = list(decl.get("shape") or [None])
    if len(columns) == 1 and _is_list(table.column(columns[0]).type):
        flat_values, per_row = _sequences(table, columns[0], where)
        parts = [_category_values(flat_values, columns[0], where.per_row(per_row))]
        flat = True
    else:
        parts = [_category_values(table.column(c), c, where) for c in columns]
        per_row, flat = len(columns), False
    if len({p.type for p in parts}) > 1:  # text and numbers across columns: compare as text
        parts = [p.cast(pa.string()) for p in parts]
    want = shape[1] if len(shape) == 2 else 1
    if len(shape) > 2 or (isinstance(want, int) and per_row != want):
        raise DataError(
            f"categorical input '{name}' has shape {shape} but its columns give {per_row} "
            "values per row"
        )
    return Categories(columns, parts, per_row, flat, shape, dtype)


def _category_values(col: pa.ChunkedArray | pa.Array, name: str, where: _Where) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        col = _plain(col).combine_chunks()
    elif pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        _check_nulls(pa.chunked_array([col]), name, where)
        return col.cast(pa.string())
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        arr = _numeric(pa.chunked_array([col]), name, where, np.dtype(np.int64))
        return pa.array(arr.astype(np.int64, copy=False))
    raise DataError(
        f"column '{name}': a categorical column holds strings or integers, not {col.type}"
    )


def _is_list(kind: pa.DataType) -> bool:
    return (
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    )


def _target_tensor(
    col: pa.ChunkedArray, name: str, loss: LossSpec, where: _Where
) -> tuple[torch.Tensor, list[str] | None]:
    col = _plain(col)
    _check_nulls(col, name, where)
    labels: list[str] | None = None
    is_text = pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
    if is_text and loss.task in ("multiclass", "binary"):
        labels = sorted(pc.unique(col).to_pylist())  # pyright: ignore[reportAttributeAccessIssue]
        if loss.task == "binary" and len(labels) != 2:
            raise DataError(
                f"column '{name}': {loss.type} needs two classes, found {len(labels)}: "
                + ", ".join(map(repr, labels[:10]))
            )
        codes = pc.index_in(col, value_set=pa.array(labels)).to_numpy()  # pyright: ignore[reportAttributeAccessIssue]
        arr = codes.astype(np.int64 if loss.task == "multiclass" else np.float32)
        return torch.from_numpy(arr), labels
    np_dtype = np.dtype(np.int64) if loss.task == "multiclass" else np.dtype(np.float32)
    arr = _numeric(col, name, where, np_dtype)
    if loss.task == "multiclass" and arr.size and arr.min() < 0:
        i = int(np.argmin(arr))
        raise DataError(f"column '{name}': class index {arr[i]} in {where(i)} is negative")
    if loss.task == "binary" and arr.size:
        bad = (arr < 0) | (arr > 1)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"column '{name}': {loss.type} needs targets in [0, 1], found {arr[i]} in {where(i)}"
            )
    return _tensor(np.ascontiguousarray(arr.astype(np_dtype, copy=False))), labels


def check_class_indices(
    dataset: Dataset, n_classes: int, column: str, output: str, path: str | Path
) -> None:
    """Cross-entropy targets are class indices below the model's class count. torch would stop
    at the first batch holding a larger one ("Target 1000 is out of bounds") without naming
    the row; this names the first such row of the file."""
    bad = dataset.target >= n_classes
    if not bool(bad.any()):
        return
    i = int(bad.nonzero()[0, 0])
    where = _Where(Path(path))(i)
    value = int(dataset.target[i])
    if dataset.labels is not None:
        raise DataError(
            f"column '{column}' has {len(dataset.labels)} classes but output '{output}' "
            f"gives {n_classes}: label {dataset.labels[value]!r} in {where} is class {value}; "
            f"make the model's last layer produce {len(dataset.labels)} values"
        )
    raise DataError(
        f"column '{column}': class index {value} in {where} is out of range: output "
        f"'{output}' gives {n_classes} classes, so the indices go from 0 to {n_classes - 1}"
    )


def _tensor(arr: np.ndarray) -> torch.Tensor:
    """torch.from_numpy, also for pyarrow's read-only zero-copy arrays: the trainer only ever
    reads these tensors (batches are gathered into new ones), so no copy is needed."""
    if arr.flags.writeable:
        return torch.from_numpy(arr)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(arr)
