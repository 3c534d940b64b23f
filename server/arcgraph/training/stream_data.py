"""Streamed rows for the training loop: the DeviceData interface over a StreamingTable.

The loop asks for batches in increasing order; each comes from the reader's windows (already
shuffled, see arcgraph.training.streaming), converted to tensors a window at a time and cut
into batches, so memory holds about one window.

On W processes the loop's plan (loop.batch_plan) is over the global `n` training rows, the
same on every rank, so every rank runs the same steps; rank r is asked for `World.shard(lo,
hi)` of each global batch [lo, hi) and takes those rows from its own share of the stream,
[r*n//W, (r+1)*n//W) (StreamingTable.share). They add up to exactly that share: every batch
but the last starts and ends on a multiple of batch_size, itself a multiple of W, so each
gives r `(hi - lo) / W` rows, and for the last, [lo, n) with lo a multiple of W,
`(r+1)*n//W - r*n//W = (r+1)*(n-lo)//W - r*(n-lo)//W`. So no rank runs out of rows or leaves
one unread, for any accumulate_grad_batches (it only groups batches) and any last batch (one
smaller than W leaves some ranks no rows: they still run the step; with a BatchNorm that is
not synced, one under 2 x W rows joins the batch before it, Loop.plan, and the merged batch
still starts on a multiple of batch_size, so the same sum holds). A resumed
epoch starts at a batch start `first_row` (a multiple of W): this rank's `first_row / W`
rows are skipped by the reader. The global batches differ from one process's (each rank
shuffles its own share), so a W-process streamed run matches one process statistically,
not exactly (an in-memory one does, up to float summation order).

When data is streamed (`should_stream`): a folder of Parquet files always (the in-memory
path refuses folders), a single Parquet file only when a bound is set (ARCGRAPH_DATA_MEMORY_MB
or `--data-memory-mb`, the flag winning) and the file's values take more than it; anything
else keeps the in-memory path unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch

from arcgraph.engine.datafiles import PARQUET_SUFFIXES
from arcgraph.memory import release_free_memory
from arcgraph.training.errors import DataError
from arcgraph.training.loop import DeviceData
from arcgraph.training.memory_bound import parse_mb, usable_mb
from arcgraph.training.streaming import DEFAULT_MEMORY_MB, StreamingTable

MEMORY_ENV = "ARCGRAPH_DATA_MEMORY_MB"
Convert = Callable[[pa.Table, np.ndarray], tuple[dict[str, torch.Tensor], torch.Tensor]]


def memory_bound_mb(given: float | None = None) -> float | None:
    """The data memory bound: `given` (--data-memory-mb) when set, else
    ARCGRAPH_DATA_MEMORY_MB (None when neither is)."""
    if given is not None:
        if not usable_mb(given):
            raise DataError(f"data memory bound {given!r} MB: give a number > 0, e.g. 512")
        return float(given)
    text = os.environ.get(MEMORY_ENV)
    if not text:
        return None
    value = parse_mb(text)
    if value is None:
        raise DataError(f"{MEMORY_ENV}={text!r}: give the bound in MB as a number > 0, e.g. 512")
    return value


def should_stream(path: Path, bound_mb: float | None) -> bool:
    """A Parquet folder always; a Parquet file when its uncompressed values exceed the bound."""
    if path.is_dir():
        return True
    if bound_mb is None or not path.name.lower().endswith(PARQUET_SUFFIXES):
        return False
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except (pa.ArrowException, OSError):
        return False  # the in-memory reader says what is wrong with it
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return size > bound_mb * (1 << 20)


def bound_or_default(bound_mb: float | None) -> float:
    return DEFAULT_MEMORY_MB if bound_mb is None else bound_mb


class StreamData(DeviceData):
    """Batches read from a StreamingTable; `train_x`/`train_y` hold two sample rows only (for
    the placement checks' one forward)."""

    own_order = True

    def __init__(self, table: StreamingTable, convert: Convert, device: torch.device) -> None:
        first = table.head(2)
        sample_x, sample_y = convert(first.table, first.rows)
        super().__init__(
            train_x=sample_x,
            train_y=sample_y,
            val_x=sample_x,
            val_y=sample_y,
            device=device,
            resident=False,
        )
        self.table = table
        self.convert = convert
        self._chunks: Iterator[tuple[dict[str, torch.Tensor], torch.Tensor]] = iter(())
        self._held: tuple[dict[str, torch.Tensor], torch.Tensor] | None = None
        self._last: tuple[tuple[int, int], tuple[dict[str, torch.Tensor], torch.Tensor]] | None = (
            None
        )

    def windows(self) -> dict[str, float] | None:
        """What the epoch's order depends on besides the seed and the process count, for a
        checkpoint: the shuffle window and the memory bound it comes from (None: no shuffle,
        file order whatever the bound)."""
        if not self.table.shuffle:
            return None
        return {"window_rows": self.table.window_rows, "memory_mb": self.table.memory_mb}

    @property
    def n_train(self) -> int:
        return self.table.n_train

    @property
    def n_val(self) -> int:
        return self.table.n_val

    def _converted(
        self, pieces: Iterator
    ) -> Iterator[tuple[dict[str, torch.Tensor], torch.Tensor]]:
        for piece in pieces:
            xb, yb = self.convert(piece.table, piece.rows)
            del piece
            # The last window's buffers and temporaries are freed by now; glibc would keep
            # them between the torch allocations made meanwhile, and RSS grew by a window's
            # worth every few windows (2 GB at a 512 MB bound: 1.3 GB peak in one process, 0.83 GB with this).
            release_free_memory()
            if self.train_y.dim() == 2 and yb.dim() == 1:  # aligned as align_target did
                yb = yb.unsqueeze(1)
            yield xb, yb

    def start_epoch(self, epoch: int, first_row: int) -> None:
        lo, hi = self.table.share(first_row)
        self._chunks = self._converted(self.table.train_rows(epoch, hi - lo))
        self._held = None
        self._last = None

    def batch(
        self, order: torch.Tensor | None, lo: int, hi: int
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The next `hi - lo` rows of this rank's stream (`order` is always None). Asked
        again for the same rows (the CUDA-graph step reads a batch twice when it captures), it
        gives the same batch."""
        if self._last is not None and self._last[0] == (lo, hi):
            return self._last[1]
        if hi == lo:  # a batch smaller than W leaves a rank without rows (it still steps)
            empty = {k: v[:0].to(self.device) for k, v in self.train_x.items()}
            return empty, self.train_y[:0].to(self.device)
        xs: list[dict[str, torch.Tensor]] = []
        ys: list[torch.Tensor] = []
        need = hi - lo
        while need > 0:
            held = self._held if self._held is not None else next(self._chunks)
            xh, yh = held
            n = int(yh.shape[0])
            take = min(n, need)
            xs.append({k: v[:take] for k, v in xh.items()})
            ys.append(yh[:take])
            self._held = ({k: v[take:] for k, v in xh.items()}, yh[take:]) if take < n else None
            need -= take
        if len(ys) == 1:
            xb, yb = xs[0], ys[0]
        else:
            xb = {k: torch.cat([x[k] for x in xs]) for k in xs[0]}
            yb = torch.cat(ys)
        batch = {k: v.to(self.device) for k, v in xb.items()}, yb.to(self.device)
        self._last = ((lo, hi), batch)
        return batch

    def val_chunks(
        self, lo: int, hi: int, step: int
    ) -> Iterator[tuple[dict[str, torch.Tensor], torch.Tensor]]:
        """This rank's validation rows (`[lo, hi)` of them: the reader's own share)."""
        if hi - lo != self.table.val_share_rows():
            raise RuntimeError(f"validation share [{lo}, {hi}) is not the reader's")
        for xh, yh in self._converted(self.table.validation_rows()):
            for a in range(0, int(yh.shape[0]), step):
                xb = {k: v[a : a + step].to(self.device) for k, v in xh.items()}
                yield xb, yh[a : a + step].to(self.device)


def streamed_resume_problem(
    path: Path, state: dict[str, Any], world_size: int, windows: dict[str, float] | None = None
) -> str | None:
    """Why a streamed run cannot continue from checkpoint `path` on `world_size` processes
    with shuffle `windows` (StreamData.windows; None: it can). At an epoch's end anything
    resumes; mid-epoch only the count and the bound that wrote it, since each rank's share of
    the epoch and its shuffle windows depend on them, so others would train another set of
    rows for the rest of that epoch."""
    batch = int(state.get("batch") or 0)
    if not batch:
        return None
    epoch = int(state["epoch"]) + 1
    saved = int(state.get("world_size", 1))  # before it was recorded: streamed ran on 1 only
    if saved == world_size:
        return _windows_problem(path, state.get("stream_windows"), windows, epoch, batch)
    flag = "without --nproc-per-node" if saved == 1 else f"--nproc-per-node {saved}"

    def procs(n: int) -> str:
        return f"{n} process" + ("es" if n > 1 else "")

    return (
        f"{path}: this checkpoint stopped streamed data mid-epoch (epoch {epoch}, after batch"
        f" {batch}) on {procs(saved)}; on {procs(world_size)} the rest of epoch {epoch} would"
        f" train other rows. Resume it on {procs(saved)} ({flag}), or from an epoch's end:"
        f" move {path.name} out of {path.parent} and resume again"
    )


def _windows_problem(
    path: Path, saved: Any, windows: dict[str, float] | None, epoch: int, batch: int
) -> str | None:
    """A mid-epoch checkpoint's shuffle windows against this run's (no record: not known)."""
    if not isinstance(saved, dict) or windows is None:
        return None
    if saved.get("window_rows") == windows["window_rows"]:
        return None
    bound = f"{float(saved['memory_mb']):g}"
    return (
        f"{path}: this checkpoint stopped streamed data mid-epoch (epoch {epoch}, after batch"
        f" {batch}) with a data memory bound of {bound} MB (shuffle windows of"
        f" {saved['window_rows']} rows); at {windows['memory_mb']:g} MB the windows hold"
        f" {windows['window_rows']} rows and the rest of epoch {epoch} would train other rows."
        f" Resume it with --data-memory-mb {bound} (or ARCGRAPH_DATA_MEMORY_MB={bound}), or"
        f" from an epoch's end: move {path.name} out of {path.parent} and resume again"
    )
