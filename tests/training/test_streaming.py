"""The streaming Parquet reader (arcgraph.training.streaming): every training row once per
epoch, rank shares that partition it, seeded order, mid-epoch resume, bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arcgraph.training.errors import DataError
from arcgraph.training.streaming import StreamingTable, validation_mask

REPO = Path(__file__).resolve().parents[2]


def _folder(root: Path, sizes: tuple[int, ...] = (1000, 1037, 1074), group: int = 97) -> Path:
    """Parquet files whose `id` column is the row's number in the data set (file order)."""
    root.mkdir()
    first = 0
    for i, n in enumerate(sizes):
        ids = np.arange(first, first + n)
        table = pa.table({"id": ids, "x": ids.astype(np.float64) / 7})
        pq.write_table(table, root / f"part-{i}.parquet", row_group_size=group)
        first += n
    return root


def _ids(pieces) -> np.ndarray:
    return np.concatenate([np.zeros(0, np.int64)] + [p.table["id"].to_numpy() for p in pieces])


def _table(path: Path, **kw) -> StreamingTable:
    kw = {"seed": 3, "validation_split": 0.2, "memory_mb": 0.02, **kw}
    return StreamingTable(path, ["id", "x"], **kw)


def test_each_training_row_once_per_epoch_in_a_seeded_order(tmp_path: Path) -> None:
    data = _table(_folder(tmp_path / "d"))
    rows = np.arange(3111)
    train = rows[~validation_mask(rows, 3, 0.2)]
    assert (data.n_rows, data.n_train, data.n_val) == (3111, len(train), 3111 - len(train))
    assert data.window_rows < data.n_train / 10  # several windows: the buffer is the bound
    epoch1 = _ids(data.train_rows(1))
    epoch2 = _ids(data.train_rows(2))
    assert sorted(epoch1.tolist()) == train.tolist()
    assert sorted(epoch2.tolist()) == train.tolist()
    assert epoch1.tolist() != epoch2.tolist()  # each epoch its own order
    assert epoch1.tolist() != train.tolist()  # shuffled, not file order
    again = _ids(_table(tmp_path / "d").train_rows(1))
    assert again.tolist() == epoch1.tolist()  # same seed, same order
    other = _ids(_table(tmp_path / "d", seed=4).train_rows(1))
    assert other.tolist() != epoch1.tolist()
    # the piece's row numbers are the rows' own
    piece = next(data.train_rows(1))
    assert piece.rows.tolist() == piece.table["id"].to_pylist()
    # validation: the other rows, in file order
    assert _ids(data.validation_rows()).tolist() == rows[validation_mask(rows, 3, 0.2)].tolist()


def test_without_shuffle_rows_come_in_file_order(tmp_path: Path) -> None:
    data = _table(_folder(tmp_path / "d"), shuffle=False, validation_split=0.0)
    assert _ids(data.train_rows(1)).tolist() == list(range(3111))


@pytest.mark.parametrize("world", [2, 3])
def test_rank_shares_partition_the_single_process_rows(tmp_path: Path, world: int) -> None:
    path = _folder(tmp_path / "d")
    single = _ids(_table(path).train_rows(2))
    shares = [_ids(_table(path, rank=r, world_size=world).train_rows(2)) for r in range(world)]
    union = np.concatenate(shares)
    assert sorted(union.tolist()) == sorted(single.tolist())  # all of them ...
    assert len(set(union.tolist())) == len(union)  # ... each once (disjoint)
    sizes = [len(s) for s in shares]
    assert max(sizes) - min(sizes) <= 1
    shares_of = [_table(path, rank=r, world_size=world) for r in range(world)]
    assert sizes == [hi - lo for lo, hi in (t.share(t.n_train) for t in shares_of)]
    val = [_ids(_table(path, rank=r, world_size=world).validation_rows()) for r in range(world)]
    assert np.concatenate(val).tolist() == _ids(_table(path).validation_rows()).tolist()


@pytest.mark.parametrize("start", [0, 1, 137, 500, 1200, "end"])
def test_resume_mid_epoch_continues_with_the_rows_not_yet_seen(
    tmp_path: Path, start: int | str
) -> None:
    path = _folder(tmp_path / "d")
    whole = _ids(_table(path, rank=1, world_size=2).train_rows(3))
    start = len(whole) if start == "end" else int(start)
    assert start <= len(whole)
    fresh = _table(path, rank=1, world_size=2)  # a new reader, as after a restart
    rest = _ids(fresh.train_rows(3, start))
    assert rest.tolist() == whole[start:].tolist()
    assert fresh.position(3, start) == {"epoch": 3, "rows": start, "rank": 1, "world_size": 2}


def test_a_single_file_and_errors(tmp_path: Path) -> None:
    path = _folder(tmp_path / "d", sizes=(500,))
    data = StreamingTable(path / "part-0.parquet", ["x"], seed=1, memory_mb=1)
    assert data.n_rows == 500 and data.n_val == 0
    with pytest.raises(DataError, match=r"column 'nope' is not in part-0\.parquet"):
        StreamingTable(path / "part-0.parquet", ["nope"], seed=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no Parquet file"):
        StreamingTable(tmp_path / "empty", ["x"], seed=1)
    big = _folder(tmp_path / "big", sizes=(200_000,), group=200_000)
    with pytest.raises(
        DataError, match=r"row group 1 holds \d+\.\d+ MB .* bound \(2 MB\); rewrite it with smaller"
    ):
        StreamingTable(big, ["id", "x"], seed=1, memory_mb=2)


_MEASURE = """
import json, sys, tracemalloc
import numpy.random  # imported by the reader: its import is not data
import pyarrow as pa
import pyarrow.compute
import pyarrow.dataset
from arcgraph.training.streaming import StreamingTable
tracemalloc.start()
data = StreamingTable(sys.argv[1], [f"c{i}" for i in range(8)], seed=7,
                      validation_split=0.1, memory_mb=float(sys.argv[2]))
rows = sum(p.table.num_rows for p in data.train_rows(1))
rows += sum(p.table.num_rows for p in data.validation_rows())
print(json.dumps({"rows": rows, "arrow_peak": pa.default_memory_pool().max_memory(),
                  "python_peak": tracemalloc.get_traced_memory()[1]}))
"""


def test_peak_memory_stays_under_the_bound_for_data_several_times_larger(tmp_path: Path) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    rng = np.random.default_rng(0)
    rows_per_file = 150_000
    for f in range(4):  # 4 x 150,000 rows x 8 float64 = 38.4 MB of values
        cols = {f"c{i}": rng.random(rows_per_file) for i in range(8)}
        pq.write_table(pa.table(cols), folder / f"p{f}.parquet", row_group_size=10_000)
    bound_mb = 8
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(folder), str(bound_mb)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO / "server"), "PATH": "/usr/bin:/bin"},
    )
    got = json.loads(out.stdout)
    assert got["rows"] == 4 * rows_per_file
    data_bytes = 4 * rows_per_file * 8 * 8
    assert data_bytes > 4 * bound_mb * (1 << 20)
    assert got["arrow_peak"] + got["python_peak"] < bound_mb * (1 << 20), got


_MEASURE_HEAD = """
import json, sys
from arcgraph.training.streaming import StreamingTable

def hwm():
    status = open("/proc/self/status").read().split("VmHWM:")[1]
    return int(status.split()[0]) * 1024

data = StreamingTable(sys.argv[1], [f"c{i}" for i in range(8)], seed=1, memory_mb=64)
before = hwm()
head = data.head(2)
print(json.dumps({"rows": head.table.num_rows, "grown": hwm() - before}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_the_sample_head_reads_within_the_bound(tmp_path: Path) -> None:
    # head(2) once scanned a row group in 2-row batches: all of them decoded at once, 190 MB
    # of RSS for this 6 MB row group (675 MB for 2 GB of data's 17 MB groups)
    path = tmp_path / "one.parquet"
    rng = np.random.default_rng(0)
    cols = {f"c{i}": rng.random(100_000) for i in range(8)}
    pq.write_table(pa.table(cols), path, row_group_size=100_000)
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE_HEAD, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO / "server"), "PATH": "/usr/bin:/bin"},
    )
    got = json.loads(out.stdout)
    assert got["rows"] == 2
    assert got["grown"] < 64 << 20, got
