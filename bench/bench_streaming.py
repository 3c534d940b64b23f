"""Peak memory of `arcgraph train` on a Parquet data set larger than its data memory bound.

A synthetic Parquet folder (default ~2 GB: float32 feature columns and a float32 target, in
files of row groups small enough for the bound; plain encoding, as random floats have no
dictionary worth keeping) is written row group by row group with
`pyarrow.parquet.ParquetWriter`, so generating it takes memory for one row group, not the data
set. A real `arcgraph train` process (an MLP, one epoch by default) then streams it with
ARCGRAPH_DATA_MEMORY_MB (default 512). Its peak RSS is the kernel's: `ru_maxrss` of that very
process (`os.wait4` on its pid; the command has no wrapper), cross-checked with VmHWM sampled
from /proc while it runs. The goal: under 1.2 GB (issue 13) for 2 GB of data and a 512 MB bound.

As a baseline the same command trains in memory on a small slice of the data (one Parquet file,
no bound set): the process's fixed part (torch, the model, the run directory). Printed: the
data set's size on disk and uncompressed, both runs' peak RSS and rows/s (training rows x
epochs / the run's own `duration_s`, start-up left out), peak / bound, and PASS/FAIL.

    python bench/bench_streaming.py                       # 2 GB, 512 MB bound, 1 epoch
    python bench/bench_streaming.py --size-gb 0.5 --memory-mb 256
    python bench/bench_streaming.py --keep /tmp/ag-stream  # generate once, reuse on later runs
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
GIB = 1 << 30
MIB = 1 << 20
GOAL_BYTES = int(1.2 * GIB)
GROUPS_PER_FILE = 8
FEATURES = 32

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mlp_workspace import feature_names  # noqa: E402
from mlp_workspace import write_workspace as write_specs  # noqa: E402


@dataclass
class DataSet:
    folder: Path
    files: int
    groups: int
    rows: int
    disk_bytes: int
    uncompressed_bytes: int


def generate(folder: Path, size_bytes: int, group_rows: int) -> None:
    """Files of GROUPS_PER_FILE row groups until the values reach `size_bytes`; one row group
    in memory at a time."""
    folder.mkdir(parents=True)
    names = feature_names(FEATURES)
    schema = pa.schema([(n, pa.float32()) for n in [*names, "y"]])
    row_bytes = 4 * (FEATURES + 1)
    total_groups = max(1, -(-size_bytes // (group_rows * row_bytes)))
    rng = np.random.default_rng(0)
    weights = rng.standard_normal(FEATURES).astype(np.float32)
    for start in range(0, total_groups, GROUPS_PER_FILE):
        path = folder / f"part-{start // GROUPS_PER_FILE:04d}.parquet"
        with pq.ParquetWriter(path, schema, use_dictionary=False) as writer:
            for _ in range(min(GROUPS_PER_FILE, total_groups - start)):
                x = rng.standard_normal((group_rows, FEATURES), dtype=np.float32)
                noise = rng.standard_normal(group_rows, dtype=np.float32)
                y = x @ weights + np.float32(0.1) * noise
                columns = [pa.array(x[:, i]) for i in range(FEATURES)] + [pa.array(y)]
                writer.write_table(
                    pa.Table.from_arrays(columns, schema=schema), row_group_size=group_rows
                )


def describe(folder: Path) -> DataSet:
    files = sorted(folder.glob("*.parquet"))
    groups = rows = uncompressed = 0
    for f in files:
        meta = pq.ParquetFile(f).metadata
        groups += meta.num_row_groups
        rows += meta.num_rows
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            uncompressed += sum(
                group.column(c).total_uncompressed_size for c in range(group.num_columns)
            )
    disk = sum(f.stat().st_size for f in files)
    return DataSet(folder, len(files), groups, rows, disk, uncompressed)


def write_slice(data: DataSet, path: Path, groups: int) -> int:
    """The first `groups` row groups as one file (the in-memory baseline's data)."""
    source = pq.ParquetFile(sorted(data.folder.glob("*.parquet"))[0])
    groups = min(groups, source.metadata.num_row_groups)
    with pq.ParquetWriter(path, source.schema_arrow) as writer:
        for g in range(groups):
            writer.write_table(source.read_row_group(g))
    return pq.ParquetFile(path).metadata.num_rows


def write_workspace(root: Path, epochs: int, batch: int) -> Path:
    return write_specs(
        root,
        model_id="bench-stream-v1",
        trainer_name="s",
        features=FEATURES,
        hidden=(64,),
        epochs=epochs,
        batch=batch,
        validation_split=0.05,
    )


@dataclass
class Measured:
    maxrss: int  # bytes, ru_maxrss of the trainer process
    hwm_sampled: int  # bytes, the last VmHWM read from /proc while it ran
    summary: dict
    run_info: dict
    rows_per_s: float


def _hwm(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def train(trainer: Path, data: Path, out: Path, name: str, memory_mb: int | None) -> Measured:
    """One `python -m arcgraph train` process, its peak RSS taken from the kernel."""
    cmd = [sys.executable, "-m", "arcgraph", "train", "--trainer", str(trainer), "--data"]
    cmd += [str(data), "--out", str(out), "--name", name, "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(REPO / "server"))
    env.pop("ARCGRAPH_DATA_MEMORY_MB", None)
    if memory_mb is not None:
        env["ARCGRAPH_DATA_MEMORY_MB"] = str(memory_mb)
    log = out / f"{name}.log"
    out.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)
    sampled = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            value = _hwm(proc.pid)
            if value is not None:
                sampled[0] = max(sampled[0], value)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)  # this process's own rusage, not a grandchild's
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.stderr.write(log.read_text()[-4000:])
        raise SystemExit(f"{name}: arcgraph train exited with {proc.returncode}")
    run_dir = out / "bench-stream-v1" / name
    summary = json.loads((run_dir / "summary.json").read_text())
    run_info = json.loads((run_dir / "run.json").read_text())
    rate = summary["epochs_completed"] * run_info["rows"]["train"] / summary["duration_s"]
    return Measured(usage.ru_maxrss * 1024, sampled[0], summary, run_info, rate)


def _mb(n: float) -> str:
    return f"{n / MIB:,.0f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=2.0, help="values to generate (GiB)")
    parser.add_argument("--memory-mb", type=int, default=512, help="ARCGRAPH_DATA_MEMORY_MB")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--slice-groups", type=int, default=1, help="row groups of the baseline")
    parser.add_argument(
        "--keep",
        type=Path,
        help="folder for the data set: reused when it holds one of this size, else generated "
        "there and left (default: a temp folder under /tmp, removed)",
    )
    args = parser.parse_args()
    row_bytes = 4 * (FEATURES + 1)
    # well under the reader's limit of an eighth of the bound per row group
    group_rows = min(1 << 17, args.memory_mb * MIB // 16 // row_bytes)
    size_bytes = int(args.size_gb * GIB)
    tmp = Path(tempfile.mkdtemp(prefix="ag-bench-stream-", dir="/tmp"))
    try:
        folder = args.keep / f"data-{args.size_gb:g}gb-{group_rows}" if args.keep else tmp / "d"
        started = time.perf_counter()
        if not folder.is_dir():
            generate(folder, size_bytes, group_rows)
            print(f"generated {folder} in {time.perf_counter() - started:.1f} s")
        else:
            print(f"reusing {folder}")
        data = describe(folder)
        print(
            f"data set: {data.files} files, {data.groups} row groups of {group_rows} rows, "
            f"{data.rows:,} rows x {FEATURES + 1} float32 columns; on disk "
            f"{data.disk_bytes / GIB:.2f} GiB, uncompressed {data.uncompressed_bytes / GIB:.2f} GiB"
        )
        print(
            f"{os.cpu_count()} CPU cores; batch {args.batch}, {args.epochs} epoch(s), MLP 32-64-1"
        )
        trainer = write_workspace(tmp, args.epochs, args.batch)

        small = tmp / "slice.parquet"
        slice_rows = write_slice(data, small, args.slice_groups)
        base = train(trainer, small, tmp / "runs", "in-memory", None)
        print(
            f"in memory, a slice of {slice_rows:,} rows ({slice_rows * row_bytes / MIB:.0f} MB):"
            f" peak RSS {_mb(base.maxrss)} (VmHWM sampled {_mb(base.hwm_sampled)}),"
            f" {base.rows_per_s:,.0f} rows/s"
        )
        streamed = train(trainer, folder, tmp / "runs", "streamed", args.memory_mb)
        rows = streamed.run_info["rows"]
        print(
            f"streamed, bound {args.memory_mb} MB: {rows['train']:,} training + "
            f"{rows['validation']:,} validation rows in {streamed.summary['duration_s']:.1f} s,"
            f" {streamed.rows_per_s:,.0f} rows/s; final {streamed.summary['final_metrics']}"
        )
        print(
            f"streamed peak RSS {_mb(streamed.maxrss)} (VmHWM sampled "
            f"{_mb(streamed.hwm_sampled)}); peak / bound {streamed.maxrss / (args.memory_mb * MIB):.2f};"
            f" above the in-memory baseline {_mb(streamed.maxrss - base.maxrss)} "
            f"({(streamed.maxrss - base.maxrss) / (args.memory_mb * MIB):.2f} x the bound)"
        )
        verdict = "PASS" if streamed.maxrss < GOAL_BYTES else "FAIL"
        print(f"{verdict}: peak RSS {_mb(streamed.maxrss)} vs the goal {_mb(GOAL_BYTES)}")
        return 0 if verdict == "PASS" else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
