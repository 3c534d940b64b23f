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
"""

from __future__ import annotations

import argparse
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

from arcgraph.training import train  # noqa: E402
from arcgraph.training.split import epoch_order, split_indices  # noqa: E402

CONFIGS = {
    "small": {"rows": 100_000, "features": 20, "hidden": 64, "batch": 256},
    "large": {"rows": 200_000, "features": 64, "hidden": 256, "batch": 512},
}
SEED = 0
LR = 1e-3
VAL_SPLIT = 0.1


def make_data(path: Path, rows: int, features: int) -> None:
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((rows, features), dtype=np.float32)
    w = rng.standard_normal(features).astype(np.float32)
    y = np.tanh(x @ w / np.sqrt(features)) + 0.1 * rng.standard_normal(rows).astype(np.float32)
    cols = {f"x{i}": x[:, i] for i in range(features)}
    cols["y"] = y.astype(np.float32)
    pq.write_table(pa.table(cols), path)


def write_specs(ws: Path, features: int, hidden: int, batch: int, epochs: int) -> Path:
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
config:
  epochs: {epochs}
  batch_size: {batch}
  validation_split: {VAL_SPLIT}
  shuffle: true
  seed: {SEED}
  verbose: false
"""
    )
    return trainer


class HandLoop:
    """What one would write by hand: tensors in memory, randperm batches, Adam, eval per epoch."""

    def __init__(self, data: Path, features: int, hidden: int, batch: int) -> None:
        table = pq.read_table(data)
        x = torch.from_numpy(
            np.column_stack([table.column(f"x{i}").to_numpy() for i in range(features)])
        )
        y = torch.from_numpy(table.column("y").to_numpy())
        train_idx, val_idx = split_indices(len(y), VAL_SPLIT, SEED)
        self.xt, self.yt = x[train_idx], y[train_idx].unsqueeze(1)
        self.xv, self.yv = x[val_idx], y[val_idx].unsqueeze(1)
        torch.manual_seed(SEED)
        self.model = torch.nn.Sequential(
            torch.nn.Linear(features, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, 1),
        )
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.batch = batch
        self.last_train_loss = float("nan")

    def epoch(self, epoch: int) -> float:
        t0 = time.perf_counter()
        model, opt, xt, yt, bs = self.model, self.opt, self.xt, self.yt, self.batch
        n = len(yt)
        order = epoch_order(n, SEED, epoch, True)
        total = torch.zeros(())
        model.train()
        for lo in range(0, n, bs):
            idx = order[lo : lo + bs]
            xb, yb = xt.index_select(0, idx), yt.index_select(0, idx)
            loss = torch.nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            total += loss.detach() * len(idx)
        model.eval()
        with torch.no_grad():
            torch.nn.functional.mse_loss(model(self.xv), self.yv).item()
        self.last_train_loss = total.item() / n
        return time.perf_counter() - t0


def bench(name: str, cfg: dict[str, int], epochs: int, rounds: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        data = ws / "data.parquet"
        make_data(data, cfg["rows"], cfg["features"])
        trainer = write_specs(ws, cfg["features"], cfg["hidden"], cfg["batch"], epochs)
        ours: list[float] = []
        hand: list[float] = []
        our_loss = hand_loss = float("nan")
        for r in range(rounds):
            # Who goes first alternates, so neither side always runs on a warmer machine.
            for side in ("ours", "hand") if r % 2 == 0 else ("hand", "ours"):
                if side == "ours":
                    events: list[dict] = []
                    train(trainer, data, out=ws / "runs", events=events.append, run_name=f"r{r}")
                    ours += [e["duration_s"] for e in events if e["event"] == "epoch"]
                    end = next(e for e in events if e["event"] == "end")
                    our_loss = end["summary"]["final_metrics"]["train_loss"]
                else:
                    loop = HandLoop(data, cfg["features"], cfg["hidden"], cfg["batch"])
                    hand += [loop.epoch(e) for e in range(1, epochs + 1)]
                    hand_loss = loop.last_train_loss
        ratio = statistics.median(ours) / statistics.median(hand)
        ratio_min = min(ours) / min(hand)
        same = abs(our_loss - hand_loss) <= 1e-5 * max(1.0, abs(hand_loss))
        print(
            f"{name}: {cfg['rows']} rows, MLP {cfg['features']}->{cfg['hidden']}->"
            f"{cfg['hidden']}->1, batch {cfg['batch']}, {epochs} epochs x {rounds} rounds, "
            f"torch threads {torch.get_num_threads()}\n"
            f"  trainer   median epoch {statistics.median(ours) * 1e3:8.1f} ms  (min {min(ours) * 1e3:.1f})\n"
            f"  hand loop median epoch {statistics.median(hand) * 1e3:8.1f} ms  (min {min(hand) * 1e3:.1f})\n"
            f"  ratio trainer/hand: median {ratio:.3f}, min {ratio_min:.3f}   same final train_loss: {same} "
            f"({our_loss:.6f} vs {hand_loss:.6f})"
        )
        return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small config, 2 epochs x 2 rounds")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = ["small"] if args.quick else list(CONFIGS)
    epochs, rounds = (2, 2) if args.quick else (args.epochs, args.rounds)
    for name in names:
        bench(name, CONFIGS[name], epochs, rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
