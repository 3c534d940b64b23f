"""`check` and `train` agree on every optimizer of the installed torch: what check accepts
trains, what it refuses train refuses with the same words. torch.optim.Muon (2-D parameters
only) and torch.optim.SparseAdam (sparse gradients only) were accepted by check and failed in
train; now the optimizer probe constructs the optimizer with the model's parameters (built on
meta) and takes one step on stand-ins, and AG216 names the node on `optimizer.type`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from arcgraph.engine.catalog import Catalog
from arcgraph.engine.core import check_files
from arcgraph.engine.diagnostics import Severity, Span
from arcgraph.engine.fixes import fixes_for
from arcgraph.engine.report import format_text
from arcgraph.training import train
from arcgraph.training.errors import OptimizerStepError
from arcgraph.training.optim import clip_and_step
from arcgraph.training.preflight import PreflightError
from arcgraph.worker.client import TorchWorker
from edits import apply_edits

from .conftest import IRIS, REPO, base_config, make_workspace
from .test_faults import cli

IRIS_MODEL = "iris-classifier-v1"
IRIS_TEXT = (REPO / "examples" / "models" / f"{IRIS_MODEL}.model.yaml").read_text()
ONE_EPOCH = base_config(epochs=1, batch_size=32, device="cpu")

MUON = (
    "torch.optim.Muon cannot train node 'input_norm' (torch.nn.BatchNorm1d) of model "
    "'iris-classifier-v1': Muon only supports 2D parameters whereas we found a parameter with "
    "size: torch.Size([4]) (input_norm.weight); the trainer gives the optimizer every "
    "parameter of the model, so use torch.optim.AdamW instead"
)
SPARSE_ADAM = (
    "torch.optim.SparseAdam cannot train node 'input_norm' (torch.nn.BatchNorm1d) of model "
    "'iris-classifier-v1': SparseAdam does not support dense gradients, please consider Adam "
    "instead (input_norm.weight has a dense gradient); the trainer gives the optimizer every "
    "parameter of the model, so use torch.optim.Adam instead"
)


def iris(root: Path, optimizer: dict[str, Any]) -> Path:
    return make_workspace(root, IRIS_MODEL, ONE_EPOCH, optimizer, model_text=IRIS_TEXT)


def errors(trainer: Path, worker: TorchWorker) -> list[Any]:
    root = trainer.parents[1]
    return [
        d
        for d in check_files([trainer, root / "models"], [root], torch=worker)
        if d.severity == Severity.ERROR
    ]


@pytest.mark.parametrize(
    ("optimizer", "message", "fix"),
    [
        ("torch.optim.Muon", MUON, "torch.optim.AdamW"),
        ("torch.optim.SparseAdam", SPARSE_ADAM, "torch.optim.Adam"),
    ],
)
def test_check_names_the_node_the_optimizer_cannot_train(
    tmp_path: Path, worker: TorchWorker, optimizer: str, message: str, fix: str
) -> None:
    trainer = iris(tmp_path, {"type": optimizer, "lr": 0.01})
    (diag,) = errors(trainer, worker)
    assert (diag.code, diag.message, diag.path) == ("AG216", message, str(trainer))
    # on the value of optimizer.type
    line = trainer.read_text().splitlines()[diag.span.start_line]
    assert line == f"  type: {optimizer}"
    assert diag.span == Span(diag.span.start_line, 8, diag.span.start_line, 8 + len(optimizer))
    # the related place: the node's name in the model file
    (rel,) = diag.related
    model = tmp_path / "models" / f"{IRIS_MODEL}.model.yaml"
    assert Path(rel.path).resolve() == model.resolve()
    assert model.read_text().splitlines()[rel.span.start_line] == "  - name: input_norm"
    # the quick fix puts in the suggested optimizer, which check then accepts
    (quick,) = fixes_for(trainer.read_text(), diag)
    trainer.write_text(apply_edits(trainer.read_text(), quick.edits))
    assert f"type: {fix}" in trainer.read_text()
    assert errors(trainer, worker) == []


@pytest.mark.parametrize(("optimizer", "message"), [("Muon", MUON), ("SparseAdam", SPARSE_ADAM)])
def test_train_refuses_it_with_the_same_message(
    tmp_path: Path, worker: TorchWorker, optimizer: str, message: str
) -> None:
    trainer = iris(tmp_path, {"type": f"torch.optim.{optimizer}", "lr": 0.01})
    (diag,) = errors(trainer, worker)
    proc = cli("--trainer", str(trainer), "--data", str(IRIS), "--out", str(tmp_path / "runs"))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        "arcgraph train: error: the specs have 1 error; not training:",
        format_text([diag]),
    ]
    assert message in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_train_with_another_model_is_probed_with_that_model(
    tmp_path: Path, worker: TorchWorker
) -> None:
    """`--model` trains another model than model_ref: the probe uses the one trained."""
    trainer = make_workspace(
        tmp_path, "iris-linear-v1", ONE_EPOCH, {"type": "torch.optim.Muon", "lr": 0.01}
    )
    (tmp_path / "models" / f"{IRIS_MODEL}.model.yaml").write_text(IRIS_TEXT)
    model = tmp_path / "models" / f"{IRIS_MODEL}.model.yaml"
    with pytest.raises(PreflightError) as info:
        train(trainer, IRIS, model=model, out=tmp_path / "runs", verbose=False)
    assert [(d.code, d.message) for d in info.value.diagnostics] == [("AG216", MUON)]


def test_a_step_the_optimizer_refuses_is_an_error_line_not_a_traceback() -> None:
    """What the pre-flight could not foresee: the trainer's own step, with torch's words."""
    weight = torch.nn.Parameter(torch.ones(3, 2))
    weight.grad = torch.ones(3, 2)
    optimizer = torch.optim.SparseAdam([weight], lr=0.01)
    with pytest.raises(OptimizerStepError) as info:
        clip_and_step(optimizer, [weight], None, None)
    assert str(info.value) == (
        "optimizer.type: torch.optim.SparseAdam failed in its step: SparseAdam does not support "
        "dense gradients, please consider Adam instead; use another optimizer.type in the "
        "trainer spec (`arcgraph check` names the node it cannot train)"
    )


# -- every optimizer of the installed torch -------------------------------------------------

# A value for a required constructor argument (none in torch 2.13), by its annotation.
_BY_ANNOTATION = {"float": 0.01, "int": 1, "bool": False}


def default_optimizer(catalog: Catalog, name: str) -> tuple[dict[str, Any] | None, str]:
    """The optimizer section with torch's defaults (lr from the signature); None and why when
    a required argument has no sensible value."""
    info = catalog.optimizer(name)
    assert info is not None
    spec: dict[str, Any] = {"type": name, "lr": 0.01, "params": {}}
    for p in info.params:
        if p.name == "params":
            continue
        if p.name == "lr":
            if p.has_default and isinstance(p.default, int | float):
                spec["lr"] = p.default
            continue
        if not p.has_default:
            value = _BY_ANNOTATION.get(p.annotation.split(" |")[0])
            if value is None:
                return None, f"required argument {p.name}: {p.annotation} has no default value"
            spec["params"][p.name] = value
    if not spec["params"]:
        del spec["params"]
    return spec, ""


def test_check_accepts_exactly_the_optimizers_train_trains(
    tmp_path: Path, worker: TorchWorker, catalog: Catalog
) -> None:
    accepted, refused, skipped = [], [], []
    for name in catalog.optimizer_names():
        spec, why = default_optimizer(catalog, name)
        if spec is None:
            skipped.append(f"{name}: {why}")
            continue
        root = tmp_path / name.rsplit(".", 1)[-1]
        trainer = iris(root, spec)
        found = errors(trainer, worker)
        if not found:
            summary = train(trainer, IRIS, out=root / "runs", verbose=False)
            assert summary["status"] == "completed", name
            accepted.append(name)
            continue
        with pytest.raises(PreflightError) as info:
            train(trainer, IRIS, out=root / "runs", verbose=False)
        assert [d.message for d in info.value.diagnostics if d.severity == Severity.ERROR] == [
            d.message for d in found
        ], name
        refused.append(name)
    assert refused == ["torch.optim.Muon", "torch.optim.SparseAdam"], skipped
    assert len(accepted) + len(refused) + len(skipped) == len(catalog.optimizer_names())
    assert "torch.optim.LBFGS" in accepted and "torch.optim.AdamW" in accepted


SPARSE_MODEL = """\
inputs:
  tokens: { dtype: int64, shape: [null, 1], columns: [tok] }
graph:
  - name: emb
    type: torch.nn.Embedding
    params: { num_embeddings: 5, embedding_dim: 3, sparse: true }
    inputs: { input: tokens }
  - name: flat
    type: torch.flatten
    params: { start_dim: 1 }
    inputs: { input: emb.output }
outputs:
  logits: flat.output
loss:
  type: torch.nn.functional.cross_entropy
  inputs: { input: logits, target: label }
"""


def test_sparse_gradients_of_a_sparse_embedding_are_judged_as_train_gives_them(
    tmp_path: Path, worker: TorchWorker
) -> None:
    """An Embedding with sparse: true gets a sparse gradient: SparseAdam trains it, Adam
    cannot (torch's step says so; check and train agree both ways)."""
    data = tmp_path / "tokens.csv"
    data.write_text("tok,label\n" + "".join(f"{i % 5},{i % 5 % 3}\n" for i in range(40)))
    optimizer = {"type": "torch.optim.SparseAdam", "lr": 0.1}
    trainer = make_workspace(tmp_path, "emb-v1", ONE_EPOCH, optimizer, model_text=SPARSE_MODEL)
    assert errors(trainer, worker) == []
    summary = train(trainer, data, out=tmp_path / "runs", verbose=False)
    assert summary["status"] == "completed"
    optimizer["type"] = "torch.optim.Adam"
    trainer = make_workspace(tmp_path, "emb-v1", ONE_EPOCH, optimizer, model_text=SPARSE_MODEL)
    (diag,) = errors(trainer, worker)
    assert (diag.code, diag.message) == (
        "AG216",
        "torch.optim.Adam cannot train node 'emb' (torch.nn.Embedding) of model 'emb-v1': Adam "
        "does not support sparse gradients, please consider SparseAdam instead (emb.weight has "
        "a sparse gradient); the trainer gives the optimizer every parameter of the model, so "
        "use torch.optim.SparseAdam instead",
    )
    with pytest.raises(PreflightError) as info:
        train(trainer, data, out=tmp_path / "runs", verbose=False)
    assert [d.message for d in info.value.diagnostics] == [diag.message]
