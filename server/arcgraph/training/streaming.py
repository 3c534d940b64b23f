"""Parquet data larger than memory: rows streamed in record batches with `pyarrow.dataset`.

The layout. A data set is one Parquet file or a folder of them (files in path order, searched
recursively). Its blocks are the row groups, each read as a `pyarrow.dataset` fragment in
record batches; rows are numbered 0.. in that order (file order, then row-group order).

The split. Row `i` is a validation row when `hash(seed, i) / 2**64 < validation_split`
(splitmix64): a pure function of the seed and the row number, so it needs no index list in
memory, does not depend on how the rows are cut into row groups or ranks, and a resumed run
gets the same split. The validation count is therefore close to, not exactly,
`validation_split * rows` (it is counted once from the metadata and the hash, never read).

An epoch's order (with `shuffle`). The blocks are permuted by a generator seeded with
(seed, epoch); the training rows in that block order form the epoch's stream. The stream is
cut into windows of `window_rows` consecutive rows (the in-memory shuffle buffer, sized from
the memory bound), and each window is permuted by a generator seeded with (seed, epoch, its
first position). Without `shuffle`: file order, no permutation.

Ranks. Of the epoch's stream of `n_train` rows, rank `r` of `W` takes the contiguous range
`[r * n_train // W, (r + 1) * n_train // W)`: its own share of the blocks (at most two blocks
are shared with a neighbour, each rank reading only its part), shares that differ by at most
one row, together exactly every training row once. Validation rows, in file order, are split
the same way. The signature other modules rely on:
`StreamingTable(path, columns, seed=..., validation_split=..., shuffle=..., memory_mb=...,
rank=0, world_size=1)`.

Resuming. `train_rows(epoch, start)` continues an epoch after its first `start` rows of this
rank's share: whole blocks before it are skipped from the metadata, the window holding it is
read and permuted again, and rows up to it are dropped. So the reader's position is just
(epoch, rows done); `position()` gives it for a checkpoint.

Memory. A window holds at most an eighth of `memory_mb` (estimated from the Parquet
metadata's uncompressed sizes of the columns read) and is permuted into a copy; decoding a row
group takes about five times its uncompressed size in Arrow buffers (measured with pyarrow 26).
A row group larger than an eighth of the bound is therefore refused with the fix (smaller row
groups; `arcgraph convert` writes them so), since no reader could keep the bound then.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pds

from arcgraph.engine.datafiles import PARQUET_SUFFIXES
from arcgraph.training.errors import DataError

DEFAULT_MEMORY_MB = 1024
_COUNT_CHUNK = 1 << 16  # rows hashed at a time while counting the split
_READ_BATCH = 1 << 16  # rows per record batch read (at most a window)
# One column chunk at a time, not a row group's coalesced ranges: keeps the bound.
_SCAN = pds.ParquetFragmentScanOptions(pre_buffer=False)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A 64-bit mix of each value (uint64 arithmetic wraps, as intended)."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def validation_mask(rows: np.ndarray, seed: int, fraction: float) -> np.ndarray:
    """True where a row (0-based, in file order) is held out for validation."""
    if fraction <= 0:
        return np.zeros(rows.shape, dtype=bool)
    with np.errstate(over="ignore"):
        key = rows.astype(np.uint64) + np.uint64(seed & ((1 << 64) - 1)) * _GOLDEN
    return (_splitmix64(key) >> np.uint64(11)).astype(np.float64) * 2.0**-53 < fraction


def _mixed_seed(*parts: int) -> int:
    value = np.array([0], dtype=np.uint64)
    for part in parts:
        with np.errstate(over="ignore"):
            value = _splitmix64(value ^ np.uint64(part & ((1 << 64) - 1)))
    return int(value[0])


def parquet_files(path: Path) -> list[Path]:
    """The Parquet files of a data set: the file itself, or a folder's, in path order.

    A folder's files are listed by their paths in it (`os.walk` without following folder
    links), so the order, the row numbers and the fingerprint depend on the folder, not on
    where a link points. A link to a file is read wherever it points (a folder of links to
    shared files is a data set); a link to a folder is refused rather than skipped or walked
    (its rows would silently be missing, or a link loop walked), and so are a broken link and
    two names for one file (its rows would be read twice)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"data path not found: {path}")
    files: list[Path] = []
    for folder, dirs, names in os.walk(path):
        for name in sorted(dirs):
            if (Path(folder) / name).is_symlink():
                link = Path(folder) / name
                raise DataError(
                    f"data folder {path}: {link.relative_to(path)} is a link to a folder "
                    f"({os.readlink(link)}), which is not read; move or link that folder's "
                    "Parquet files into the data folder"
                )
        for name in names:
            file = Path(folder) / name
            if not name.lower().endswith(PARQUET_SUFFIXES):
                continue
            if file.is_symlink() and not file.exists():
                raise DataError(
                    f"data folder {path}: {file.relative_to(path)} is a link to "
                    f"{os.readlink(file)}, which does not exist; fix or remove the link"
                )
            if file.is_file():
                files.append(file)
    if not files:
        raise DataError(f"data folder {path} holds no Parquet file ({', '.join(PARQUET_SUFFIXES)})")
    files.sort()
    seen: dict[Path, Path] = {}
    for file in files:
        first = seen.setdefault(file.resolve(), file)
        if first != file:
            raise DataError(
                f"data folder {path}: {first.relative_to(path)} and {file.relative_to(path)} "
                "are the same file (a link), so its rows would be read twice; remove one"
            )
    return files


@dataclass(frozen=True)
class _Block:
    fragment: Any  # a pyarrow.dataset fragment of one row group
    first_row: int  # its first row's number in the data set
    rows: int
    train: int  # its training rows
    bytes: int  # uncompressed bytes of the columns read


@dataclass
class Rows:
    """Some rows, in the order the trainer takes them, with their row numbers (0-based, in
    file order) for messages."""

    table: pa.Table
    rows: np.ndarray


class StreamingTable:
    """A Parquet data set read in bounded memory; see the module's docstring."""

    def __init__(
        self,
        path: str | Path,
        columns: Sequence[str],
        *,
        seed: int,
        validation_split: float = 0.0,
        shuffle: bool = True,
        memory_mb: float = DEFAULT_MEMORY_MB,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
        self.path = Path(path)
        self.files = parquet_files(self.path)
        self.columns = list(columns)
        self.seed, self.fraction, self.shuffle = seed, validation_split, shuffle
        self.rank, self.world_size = rank, world_size
        self.memory_mb = memory_mb
        self.memory_bytes = int(memory_mb * (1 << 20))
        try:
            dataset = pds.dataset([str(f) for f in self.files], format="parquet")
        except (pa.ArrowException, OSError) as err:
            raise DataError(f"{self.path.name}: cannot read the Parquet data: {err}") from err
        self.schema = dataset.schema
        missing = [c for c in self.columns if c not in self.schema.names]
        if missing:
            raise DataError(
                f"column '{missing[0]}' is not in {self.path.name}; its columns are: "
                + ", ".join(self.schema.names[:20])
            )
        self.blocks = self._blocks(dataset)
        self.n_rows = sum(b.rows for b in self.blocks)
        self.n_train = sum(b.train for b in self.blocks)
        self.n_val = self.n_rows - self.n_train
        per_row = max(1, sum(b.bytes for b in self.blocks) // max(1, self.n_rows))
        self.window_rows = max(1, self.memory_bytes // 8 // per_row)

    def _blocks(self, dataset: pds.Dataset) -> list[_Block]:
        blocks: list[_Block] = []
        first = 0
        fragments = sorted(dataset.get_fragments(), key=lambda f: self.files.index(Path(f.path)))
        for fragment in fragments:
            meta = fragment.metadata
            wanted = {meta.schema.column(i).path.split(".")[0] for i in range(meta.num_columns)}
            for piece, index in zip(
                fragment.split_by_row_group(), range(meta.num_row_groups), strict=True
            ):
                group = meta.row_group(index)
                size = sum(
                    group.column(j).total_uncompressed_size
                    for j in range(group.num_columns)
                    if group.column(j).path_in_schema.split(".")[0] in self.columns
                    and group.column(j).path_in_schema.split(".")[0] in wanted
                )
                if group.num_rows and size > self.memory_bytes // 8:
                    raise DataError(
                        f"{Path(fragment.path).name}: row group {index + 1} holds "
                        f"{size / (1 << 20):.3g} MB of the columns read, more than an eighth of the "
                        f"data memory bound ({self.memory_bytes / (1 << 20):.3g} MB); rewrite it "
                        "with smaller row groups or raise the bound"
                    )
                train = group.num_rows - self._count_val(first, group.num_rows)
                blocks.append(_Block(piece, first, group.num_rows, train, size))
                first += group.num_rows
        if first == 0:
            raise DataError(f"{self.path.name} has no data rows")
        return blocks

    def _count_val(self, first: int, n: int) -> int:
        count = 0
        for lo in range(first, first + n, _COUNT_CHUNK):
            hi = min(lo + _COUNT_CHUNK, first + n)
            count += int(
                validation_mask(np.arange(lo, hi, dtype=np.int64), self.seed, self.fraction).sum()
            )
        return count

    # -- shares ---------------------------------------------------------------------------
    def share(self, total: int, rank: int | None = None) -> tuple[int, int]:
        """A rank's contiguous range of `total` rows (training or validation stream)."""
        r = self.rank if rank is None else rank
        return r * total // self.world_size, (r + 1) * total // self.world_size

    def val_share_rows(self, rank: int | None = None) -> int:
        lo, hi = self.share(self.n_val, rank)
        return hi - lo

    def position(self, epoch: int, rows: int) -> dict[str, int]:
        """The reader's state for a checkpoint: `rows` of this rank's share of `epoch` done."""
        return {"epoch": epoch, "rows": rows, "rank": self.rank, "world_size": self.world_size}

    # -- reading --------------------------------------------------------------------------
    def head(self, n: int) -> Rows:
        """The data set's first `n` rows in file order (training or validation): a sample the
        same on every rank, whose share of the stream may hold no row at all."""
        block = next(b for b in self.blocks if b.rows)
        # Read as the stream reads, then cut: batches of `n` rows would decode the whole row
        # group into tiny batches at once (2-row batches of a 131,072-row group: +675 MB RSS).
        batch = next(
            iter(
                block.fragment.to_batches(
                    columns=self.columns,
                    batch_size=max(n, min(_READ_BATCH, self.window_rows)),
                    use_threads=False,
                    batch_readahead=0,
                    fragment_readahead=0,
                    fragment_scan_options=_SCAN,
                )
            )
        )
        table = pa.Table.from_batches([batch]).slice(0, n)
        return Rows(table, np.arange(block.first_row, block.first_row + table.num_rows))

    def block_order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.blocks))
        gen = np.random.Generator(np.random.PCG64(_mixed_seed(self.seed, epoch)))
        return gen.permutation(len(self.blocks))

    def train_rows(self, epoch: int, start: int = 0) -> Iterator[Rows]:
        """This rank's training rows of `epoch` (1-based) from its `start`-th row on, in the
        epoch's order, in windows (the first one cut at `start`)."""
        lo, hi = self.share(self.n_train)
        w = self.window_rows
        first_window = start // w
        pos = first_window * w  # position in this rank's stream
        order = self.block_order(epoch)
        stream = _Pieces(self._read(order, lo + pos, hi, train=True))
        while pos < hi - lo:
            n = min(w, hi - lo - pos)
            window = stream.take(n)
            if self.shuffle:
                gen = np.random.Generator(
                    np.random.PCG64(_mixed_seed(self.seed, epoch, lo + pos, n))
                )
                perm = gen.permutation(n)
                window = Rows(window.table.take(pa.array(perm)), window.rows[perm])
            skip = max(0, start - pos)
            if skip:
                window = Rows(window.table.slice(skip), window.rows[skip:])
            pos += n
            yield window

    def validation_rows(self) -> Iterator[Rows]:
        """This rank's validation rows, in file order, a window at a time."""
        lo, hi = self.share(self.n_val)
        stream = _Pieces(self._read(np.arange(len(self.blocks)), lo, hi, train=False))
        done = lo
        while done < hi:
            n = min(self.window_rows, hi - done)
            yield stream.take(n)
            done += n

    def _read(self, order: np.ndarray, lo: int, hi: int, *, train: bool) -> Iterator[Rows]:
        """Rows [lo, hi) of the stream of training (or validation) rows over the blocks in
        `order`, as record batches; blocks wholly before `lo` are skipped unread."""
        pos = 0
        for index in order:
            block = self.blocks[int(index)]
            count = block.train if train else block.rows - block.train
            if pos + count <= lo or count == 0:
                pos += count
                continue
            if pos >= hi:
                return
            offset = block.first_row
            batches = block.fragment.to_batches(
                columns=self.columns,
                batch_size=min(_READ_BATCH, self.window_rows),
                use_threads=False,
                batch_readahead=0,
                fragment_readahead=0,
                fragment_scan_options=_SCAN,
            )
            for batch in batches:
                rows = np.arange(offset, offset + batch.num_rows, dtype=np.int64)
                offset += batch.num_rows
                keep = validation_mask(rows, self.seed, self.fraction) != train
                kept = int(keep.sum())
                a, b = max(lo - pos, 0), min(hi - pos, kept)
                pos += kept
                if b <= a:
                    continue
                index_kept = np.flatnonzero(keep)[a:b]
                table = pa.Table.from_batches([batch]).take(pa.array(index_kept))
                yield Rows(table, rows[index_kept])
                if pos >= hi:
                    return


class _Pieces:
    """Cuts a stream of pieces into runs of exactly `n` rows (a piece may cross a cut)."""

    def __init__(self, stream: Iterator[Rows]) -> None:
        self.stream = stream
        self.left: Rows | None = None

    def take(self, n: int) -> Rows:
        tables, rows, got = [], [], 0
        while got < n:
            piece = self.left if self.left is not None else next(self.stream)
            self.left = None
            want = n - got
            if piece.table.num_rows > want:
                self.left = Rows(piece.table.slice(want), piece.rows[want:])
                piece = Rows(piece.table.slice(0, want), piece.rows[:want])
            tables.append(piece.table)
            rows.append(piece.rows)
            got += piece.table.num_rows
        table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        return Rows(table, np.concatenate(rows))
