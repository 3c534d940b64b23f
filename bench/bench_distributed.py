"""Samples per second of `arcgraph train` with 1 and with 2 processes (gloo, this machine's CPU
cores; NCCL on GPUs with --device cuda).

The same spec, data and seed on both sides: an MLP on synthetic rows (a CSV in a temp folder).
Each side is a real `arcgraph train` command (the 2-process one under torchrun); samples/s is
(epochs x training rows) / the run's own `duration_s` from summary.json, so process start-up
and torchrun's rendezvous are left out. The final metrics of the two runs are printed side by
side: they must agree (W processes train the one-process model).

    python bench/bench_distributed.py                 # 20 000 rows, 5 epochs, batch 256
    python bench/bench_distributed.py --rows 100000 --epochs 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mlp_workspace import feature_names  # noqa: E402
from mlp_workspace import write_workspace as write_specs  # noqa: E402


def write_workspace(root: Path, rows: int, features: int, epochs: int, batch: int, device: str):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, features)).astype(np.float32)
    y = x @ rng.standard_normal(features).astype(np.float32)
    names = feature_names(features)
    data = root / "data.csv"
    with data.open("w") as fh:
        fh.write(",".join([*names, "y"]) + "\n")
        np.savetxt(fh, np.column_stack([x, y]), delimiter=",", fmt="%.6f")
    trainer = write_specs(
        root,
        model_id="bench-mlp-v1",
        trainer_name="b",
        features=features,
        hidden=(256, 256),
        epochs=epochs,
        batch=batch,
        validation_split=0.1,
        device=device,
    )
    return trainer, data


def run(trainer: Path, data: Path, out: Path, name: str, nproc: int) -> dict:
    cmd = [sys.executable, "-m", "arcgraph", "train", "--trainer", str(trainer), "--data"]
    cmd += [str(data), "--out", str(out), "--name", name, "--quiet"]
    if nproc > 1:
        cmd += ["--nproc-per-node", str(nproc)]
    env = dict(os.environ, PYTHONPATH=str(REPO / "server"))
    subprocess.run(cmd, check=True, env=env)
    return json.loads((out / "bench-mlp-v1" / name / "summary.json").read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        trainer, data = write_workspace(
            root, args.rows, args.features, args.epochs, args.batch, args.device
        )
        train_rows = args.rows - int(args.rows * 0.1)
        print(f"{os.cpu_count()} CPU cores; {train_rows} training rows x {args.epochs} epochs")
        for nproc in (1, 2):
            summary = run(trainer, data, root / "runs", f"w{nproc}", nproc)
            rate = args.epochs * train_rows / summary["duration_s"]
            print(
                f"{nproc} process(es): {rate:10.0f} samples/s  ({summary['duration_s']:.2f} s)"
                f"  final {summary['final_metrics']}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
