"""The MLP workspace the training benchmarks run: a model spec of Linear/ReLU layers on `k`
float32 feature columns `f0..` with an MSE loss on `y`, and its trainer (Adam, lr 0.001,
seed 1), written as `models/<id>.model.yaml` and `trainers/<name>.trainer.yaml` under a root.
bench_distributed.py and bench_streaming.py share it, so their specs cannot drift apart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

TRAINER = """\
model_ref: {model_id}
optimizer: {{type: torch.optim.Adam, lr: 0.001}}
config: {{epochs: {epochs}, batch_size: {batch}, validation_split: {validation_split}, shuffle: true, seed: 1,
         verbose: false, device: {device}}}
"""


def feature_names(features: int) -> list[str]:
    """The feature columns the data must hold (plus the target `y`)."""
    return [f"f{i}" for i in range(features)]


def _layer(name: str, type_: str, source: str, params: str = "") -> str:
    params_line = f"    params: {{{params}}}\n" if params else ""
    return f"  - name: {name}\n    type: {type_}\n{params_line}    inputs: {{input: {source}}}\n"


def mlp_model(features: int, hidden: Sequence[int]) -> str:
    """features -> hidden[0] -> ... -> 1, a ReLU after each hidden layer."""
    graph, source, width = [], "x", features
    for i, size in enumerate(hidden):
        suffix = "" if i == 0 else str(i + 1)
        linear = f"in_features: {width}, out_features: {size}"
        graph.append(_layer(f"h{suffix}", "torch.nn.Linear", source, linear))
        graph.append(_layer(f"a{suffix}", "torch.nn.ReLU", f"h{suffix}.output"))
        source, width = f"a{suffix}.output", size
    graph.append(_layer("out", "torch.nn.Linear", source, f"in_features: {width}, out_features: 1"))
    return (
        "inputs:\n  x:\n    dtype: float32\n"
        f"    shape: [null, {features}]\n    columns: [{', '.join(feature_names(features))}]\n"
        "graph:\n" + "".join(graph) + "outputs:\n  prediction: out.output\n"
        "loss:\n  type: torch.nn.functional.mse_loss\n"
        "  inputs: {input: prediction, target: y}\n"
    )


def write_workspace(
    root: Path,
    *,
    model_id: str,
    trainer_name: str,
    features: int,
    hidden: Sequence[int],
    epochs: int,
    batch: int,
    validation_split: float,
    device: str = "cpu",
) -> Path:
    """Writes the model and trainer specs under `root`; -> the trainer's path."""
    (root / "models").mkdir(exist_ok=True)
    (root / "models" / f"{model_id}.model.yaml").write_text(mlp_model(features, hidden))
    (root / "trainers").mkdir(exist_ok=True)
    trainer = root / "trainers" / f"{trainer_name}.trainer.yaml"
    trainer.write_text(
        TRAINER.format(
            model_id=model_id,
            epochs=epochs,
            batch=batch,
            validation_split=validation_split,
            device=device,
        )
    )
    return trainer
