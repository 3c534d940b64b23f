"""The run directory `<out>/<model-id>/<timestamp-or-name>/` and the files in it.

model.yaml, trainer.yaml   the exact spec texts trained
run.json                   spec hashes, versions, data fingerprint, seed, device, labels
split.json                 the training and validation row indices (0-based data rows)
vocab.json                 the vocabulary of each categorical input (arcgraph.training.vocab)
metrics.csv                one row per completed epoch
checkpoints/               full training state (see checkpoint.py / loop.py)
best.pt, last.pt           weights (state_dict) of the best and of the last epoch
summary.json, loss.png     the outcome and the loss curves
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from arcgraph.training.checkpoint import CHECKPOINT_DIR, atomic_write_text
from arcgraph.training.errors import RunDirError
from arcgraph.training.output import check_out_dir, write_error

MODEL_FILE = "model.yaml"
TRAINER_FILE = "trainer.yaml"
EFFECTIVE_TRAINER_FILE = "trainer.effective.yaml"  # with the run's --set overrides
RUN_FILE = "run.json"
SPLIT_FILE = "split.json"
VOCAB_FILE = "vocab.json"
METRICS_FILE = "metrics.csv"
SUMMARY_FILE = "summary.json"
PLOT_FILE = "loss.png"
BEST_FILE = "best.pt"
LAST_FILE = "last.pt"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def versions() -> dict[str, str]:
    import numpy
    import pyarrow

    from arcgraph.version import __version__

    return {
        "arcgraph": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "pyarrow": pyarrow.__version__,
        "platform": platform.platform(),
    }


def _exists_error(run_dir: Path) -> RunDirError:
    return RunDirError(f"run directory {run_dir} already exists (use --resume to continue it)")


def check_new_name(out: Path, model_id: str, name: str | None) -> None:
    """Before any data is read: --out can hold runs and --name is not taken (new_run_dir still
    decides, atomically, when two processes race for the name)."""
    check_out_dir(Path(out))
    if name is not None and (Path(out) / model_id / name).exists():
        raise _exists_error(Path(out) / model_id / name)


def new_run_dir(out: Path, model_id: str, name: str | None) -> Path:
    """A fresh directory, created by one mkdir: of two processes asking for the same --name
    exactly one gets it. A timestamp name gets a numeric suffix if it is taken."""
    parent = Path(out) / model_id
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise write_error(parent, err) from err
    base = name or time.strftime("%Y%m%d-%H%M%S")
    candidate = parent / base
    n = 1
    while True:
        try:
            candidate.mkdir()
            break
        except FileExistsError:
            if name is not None:
                raise _exists_error(candidate) from None
            n += 1
            candidate = parent / f"{base}-{n}"
        except OSError as err:
            raise write_error(candidate, err) from err
    return candidate


def make_checkpoint_dir(run_dir: Path) -> None:
    try:
        (Path(run_dir) / CHECKPOINT_DIR).mkdir(exist_ok=True)
    except OSError as err:
        raise write_error(Path(run_dir) / CHECKPOINT_DIR, err) from err


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_metrics(path: Path, history: list[dict[str, Any]], *, durable: bool = False) -> None:
    """Rewrites metrics.csv in full (tiny), so a resumed run never shows replayed epochs twice.
    Not fsynced per epoch: every checkpoint holds the history it is rebuilt from."""
    if not history:
        atomic_write_text(path, "", durable=durable)
        return
    buf = io.StringIO()
    columns = list(history[0])
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    atomic_write_text(path, buf.getvalue(), durable=durable)


def plot_losses(path: Path, history: list[dict[str, Any]], title: str) -> None:
    """Train and validation loss per epoch, drawn with the Agg canvas directly (no pyplot, no
    global backend switch: safe inside an editor's process)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    epochs = [row["epoch"] for row in history]
    ax.plot(epochs, [row["train_loss"] for row in history], marker="o", ms=3, label="train_loss")
    if history and "val_loss" in history[0]:
        ax.plot(epochs, [row["val_loss"] for row in history], marker="o", ms=3, label="val_loss")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write_text_bytes(path, buf.getvalue())


def atomic_write_text_bytes(path: Path, data: bytes) -> None:
    from arcgraph.training.checkpoint import atomic_write

    atomic_write(path, lambda fh: fh.write(data))
