"""Time the bundled trainer against a hand-written PyTorch loop, in one process.

Both train the same MLP on the same synthetic rows with the same seed, split, batch order and
optimizer (the hand loop reuses the trainer's split and epoch-order functions and builds its
nn.Sequential under the same seed, so both start from identical weights): the script checks that
they end with the same training loss, i.e. that they did the same work. Each side runs an epoch
loop with per-epoch validation; the trainer also writes its per-epoch checkpoint and metrics.
Runs alternate between the two sides (and which goes first) to spread machine noise evenly, and the ratio compares
median epoch times (trainer / hand loop; the goal on CPU is <= 1.05).

    python bench/bench_trainer.py              # both configs
    python bench/bench_trainer.py --quick      # small config only, fewer epochs
    python bench/bench_trainer.py --device cuda   # GPU: 1M rows; trainer with CUDA graphs,
                                                  # trainer eager, hand loop (eager)
    python bench/bench_trainer.py --quick --bf16  # spec v1.1 `mixed_precision: bf16` against
                                                  # a hand loop with torch.autocast(bf16)
    python bench/bench_trainer.py --bf16 --scheduler  # and a per-step OneCycleLR on both sides

On CUDA a third side runs: the trainer with CUDA graphs off (ARCGRAPH_CUDA_GRAPHS=0), so the
graph's gain is measured against both the hand loop and our own eager path in one process.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from arcgraph.training import train
from arcgraph.training.split import epoch_order, split_indices

CONFIGS = {
    "small": {"rows": 100_000, "features": 20, "hidden": 64, "batch": 256},
    "large": {"rows": 200_000, "features": 64, "hidden": 256, "batch": 512},
}
# The GPU figures: the small MLP on 1M rows, batch 256.
GPU_CONFIGS = {
    "gpu-small": {"rows": 1_000_000, "features": 20, "hidden": 64, "batch": 256},
    "gpu-large": {"rows": 1_000_000, "features": 64, "hidden": 256, "batch": 512},
}
SEED = 0
LR = 1e-3
MAX_LR = 1e-2  # --scheduler: OneCycleLR's peak
VAL_SPLIT = 0.1


def make_data(path: Path, rows: int, features: int) -> None:
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((rows, features), dtype=np.float32)
    w = rng.standard_normal(features).astype(np.float32)
    y = np.tanh(x @ w / np.sqrt(features)) + 0.1 * rng.standard_normal(rows).astype(np.float32)
    cols = {f"x{i}": x[:, i] for i in range(features)}
    cols["y"] = y.astype(np.float32)
    pq.write_table(pa.table(cols), path)


def write_specs(
    ws: Path,
    features: int,
    hidden: int,
    batch: int,
    epochs: int,
    device: str,
    bf16: bool = False,
    scheduler: bool = False,
) -> Path:
    (ws / "models").mkdir(parents=True)
    (ws / "trainers").mkdir()
    cols = ", ".join(f"x{i}" for i in range(features))
    (ws / "models" / "bench-mlp-v1.model.yaml").write_text(
        f"""inputs:
  features: {{ dtype: float32, shape: [null, {features}], columns: [{cols}] }}
graph:
  - {{ name: l1, type: torch.nn.Linear, params: {{ in_features: {features}, out_features: {hidden} }}, inputs: {{ input: features }} }}
  - {{ name: a1, type: torch.nn.functional.relu, inputs: {{ input: l1.output }} }}
  - {{ name: l2, type: torch.nn.Linear, params: {{ in_features: {hidden}, out_features: {hidden} }}, inputs: {{ input: a1.output }} }}
  - {{ name: a2, type: torch.nn.functional.relu, inputs: {{ input: l2.output }} }}
  - {{ name: l3, type: torch.nn.Linear, params: {{ in_features: {hidden}, out_features: 1 }}, inputs: {{ input: a2.output }} }}
outputs:
  prediction: l3.output
loss:
  type: torch.nn.functional.mse_loss
  inputs: {{ input: prediction, target: y }}
"""
    )
    trainer = ws / "trainers" / "bench.trainer.yaml"
    trainer.write_text(
        f"""model_ref: bench-mlp-v1
optimizer: {{ type: torch.optim.Adam, lr: {LR} }}
"""
        + (
            "scheduler: { type: torch.optim.lr_scheduler.OneCycleLR,"
            f" params: {{ max_lr: {MAX_LR} }}, interval: step }}\n"
            if scheduler
            else ""
        )
        + f"""config:
  epochs: {epochs}
  batch_size: {batch}
  validation_split: {VAL_SPLIT}
  shuffle: true
  seed: {SEED}
  verbose: false
  device: {device}
"""
        + ("  mixed_precision: bf16\n" if bf16 else "")
    )
    return trainer


class HandLoop:
    """What one would write by hand: tensors in memory, randperm batches, Adam, eval per epoch."""

    def __init__(
        self,
        data: Path,
        features: int,
        hidden: int,
        batch: int,
        device: torch.device,
        bf16: bool = False,
        scheduler_epochs: int = 0,
    ) -> None:
        self.bf16 = bf16  # forward and loss under torch.autocast(bf16), as the trainer's v1.1
        table = pq.read_table(data)
        x = torch.from_numpy(
            np.column_stack([table.column(f"x{i}").to_numpy() for i in range(features)])
        )
        y = torch.from_numpy(table.column("y").to_numpy())
        train_idx, val_idx = split_indices(len(y), VAL_SPLIT, SEED)
        self.xt, self.yt = x[train_idx].to(device), y[train_idx].unsqueeze(1).to(device)
        self.xv, self.yv = x[val_idx].to(device), y[val_idx].unsqueeze(1).to(device)
        self.device = device
        torch.manual_seed(SEED)
        self.model = torch.nn.Sequential(
            torch.nn.Linear(features, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, 1),
        ).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.batch = batch
        # OneCycleLR stepped per optimizer step over the whole run, as the trainer's
        # `interval: step` with the total_steps it supplies (epochs x steps per epoch)
        steps = math.ceil(len(self.yt) / batch) * scheduler_epochs
        self.sched = (
            torch.optim.lr_scheduler.OneCycleLR(self.opt, max_lr=MAX_LR, total_steps=steps)
            if scheduler_epochs
            else None
        )
        self.last_train_loss = float("nan")

    def autocast(self) -> contextlib.AbstractContextManager[object]:
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def epoch(self, epoch: int) -> float:
        t0 = time.perf_counter()
        model, opt, xt, yt, bs = self.model, self.opt, self.xt, self.yt, self.batch
        n = len(yt)
        order = epoch_order(n, SEED, epoch, True).to(self.device)
        total = torch.zeros((), device=self.device)
        model.train()
        for lo in range(0, n, bs):
            idx = order[lo : lo + bs]
            xb, yb = xt.index_select(0, idx), yt.index_select(0, idx)
            with self.autocast():
                loss = torch.nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            if self.sched is not None:
                self.sched.step()
            total += loss.detach() * len(idx)
        model.eval()
        with torch.no_grad(), self.autocast():
            torch.nn.functional.mse_loss(model(self.xv), self.yv).item()
        self.last_train_loss = total.item() / n
        return time.perf_counter() - t0


def bench(
    name: str,
    cfg: dict[str, int],
    epochs: int,
    rounds: int,
    device: str,
    bf16: bool = False,
    scheduler: bool = False,
) -> float:
    dev = torch.device(device)
    sides = ("ours", "hand") if dev.type != "cuda" else ("ours", "hand", "ours-eager")
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        data = ws / "data.parquet"
        make_data(data, cfg["rows"], cfg["features"])
        trainer = write_specs(
            ws, cfg["features"], cfg["hidden"], cfg["batch"], epochs, device, bf16, scheduler
        )
        times: dict[str, list[float]] = {side: [] for side in sides}
        final: dict[str, float] = {}
        infos: list[str] = []
        for r in range(rounds):
            # Who goes first rotates, so no side always runs on a warmer machine.
            for side in sides[r % len(sides) :] + sides[: r % len(sides)]:
                if side == "hand":
                    loop = HandLoop(
                        data,
                        cfg["features"],
                        cfg["hidden"],
                        cfg["batch"],
                        dev,
                        bf16,
                        epochs if scheduler else 0,
                    )
                    times[side] += [loop.epoch(e) for e in range(1, epochs + 1)]
                    final[side] = loop.last_train_loss
                    continue
                events: list[dict] = []
                os.environ["ARCGRAPH_CUDA_GRAPHS"] = "0" if side == "ours-eager" else "1"
                try:
                    train(
                        trainer, data, out=ws / "runs", events=events.append, run_name=f"{side}{r}"
                    )
                finally:
                    os.environ.pop("ARCGRAPH_CUDA_GRAPHS", None)
                times[side] += [e["duration_s"] for e in events if e["event"] == "epoch"]
                end = next(e for e in events if e["event"] == "end")
                final[side] = end["summary"]["final_metrics"]["train_loss"]
                infos += [f"{side}: {e['message']}" for e in events if e["event"] == "info"]
        hand_med, hand_min = statistics.median(times["hand"]), min(times["hand"])
        tol = 1e-5 if dev.type == "cpu" else 1e-3
        gpu = f", {torch.cuda.get_device_name(dev)}" if dev.type == "cuda" else ""
        print(
            f"{name}: {cfg['rows']} rows, MLP {cfg['features']}->{cfg['hidden']}->"
            f"{cfg['hidden']}->1, batch {cfg['batch']}, {epochs} epochs x {rounds} rounds, "
            f"device {device}{gpu}{', bf16 autocast' if bf16 else ''}{', OneCycleLR per step' if scheduler else ''}, torch {torch.__version__}, threads {torch.get_num_threads()}"
        )
        for info in sorted(set(infos)):
            print(f"  [{info}]")
        for side in sides:
            med, low = statistics.median(times[side]), min(times[side])
            same = abs(final[side] - final["hand"]) <= tol * max(1.0, abs(final["hand"]))
            print(
                f"  {side:<10} median epoch {med * 1e3:9.1f} ms (min {low * 1e3:.1f})"
                f"  ratio to hand: median {med / hand_med:.3f}, min {low / hand_min:.3f}"
                f"  final train_loss {final[side]:.6f} (same as hand: {same})"
            )
        return statistics.median(times["ours"]) / hand_med


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small config, 2 epochs x 2 rounds")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument(
        "--bf16", action="store_true", help="mixed_precision: bf16 vs a hand loop with autocast"
    )
    parser.add_argument(
        "--scheduler", action="store_true", help="a per-step OneCycleLR on both sides (spec v1.1)"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    configs = GPU_CONFIGS if args.device.startswith("cuda") else CONFIGS
    names = list(configs)[:1] if args.quick else list(configs)
    epochs, rounds = (2, 2) if args.quick else (args.epochs, args.rounds)
    for name in names:
        bench(name, configs[name], epochs, rounds, args.device, args.bf16, args.scheduler)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
