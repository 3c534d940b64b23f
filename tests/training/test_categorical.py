"""Categorical inputs end to end on real data: the embedding the builder adds, the vocabulary
of the training rows (saved in the run directory and the checkpoint), unseen values, a too
small vocab_size, resume, Parquet, and the example that trains to its stated metric."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import torch
import yaml

from arcgraph.builder.build import SpecBuildError, build_model, example_inputs
from arcgraph.training import DataError, train
from arcgraph.training import checkpoint as ckpt_io
from arcgraph.training.data import load_dataset
from arcgraph.training.losses import parse_loss
from arcgraph.training.split import split_indices
from arcgraph.training.vocab import apply_vocabularies

from .conftest import DIABETES, IRIS, REPO, base_config, make_workspace

EXAMPLES = REPO / "examples"
EXAMPLE_MODEL = EXAMPLES / "models" / "iris-petal-length-v1.model.yaml"
SPEC: dict[str, Any] = yaml.safe_load(EXAMPLE_MODEL.read_text())
SPECIES = ["setosa", "versicolor", "virginica"]


def spec_with(**species: Any) -> dict[str, Any]:
    s = json.loads(json.dumps(SPEC))
    s["inputs"]["species"].update(species)
    return s


def encoded(
    path: Path, spec: dict[str, Any], seed: int = 0, saved: dict[str, Any] | None = None
) -> tuple[torch.Tensor, dict[str, Any], torch.Tensor, torch.Tensor]:
    """The trainer's steps: load, split (validation_split 0.2), vocabularies of the training rows."""
    dataset = load_dataset(path, spec, "petal_length", parse_loss(spec, torch.device("cpu")))
    train_idx, val_idx = split_indices(dataset.n_rows, 0.2, seed)
    vocabs = apply_vocabularies(dataset, spec, train_idx, saved)
    return dataset.inputs["species"], vocabs, train_idx, val_idx


def iris_rows() -> list[dict[str, Any]]:
    return pacsv.read_csv(IRIS).to_pylist()


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    pacsv.write_csv(pa.Table.from_pylist(rows), path)
    return path


# -- the model ------------------------------------------------------------------------------


def test_the_embedding_has_a_reserved_row_and_feeds_the_graph() -> None:
    torch.manual_seed(0)
    model = build_model(SPEC)
    assert model.embeddings["species"].weight.shape == (3 + 1, 4)  # vocab_size + 1 rows
    assert model.state_dict()["embeddings.species.weight"].shape == (4, 4)
    out = model(
        species=torch.tensor([0, 3]), sepals=torch.tensor([[5.0, 3.0], [6.0, 2.5]])
    )  # 3: the reserved index
    assert out["prediction"].shape == (2, 1)


def test_a_sequence_input_is_embedded_to_batch_k_dim() -> None:
    spec = {
        "inputs": {
            "tokens": {
                "dtype": "long",
                "shape": [None, 5],
                "columns": [f"t{i}" for i in range(5)],
                "categorical": True,
                "vocab_size": 10,
                "embedding_dim": 3,
            }
        },
        "graph": [{"name": "same", "type": "torch.nn.Identity", "inputs": {"input": "tokens"}}],
        "outputs": {"embedded": "same.output"},
    }
    out = build_model(spec, device="meta")(example_inputs(spec))
    assert tuple(out["embedded"].shape) == (2, 5, 3)


def test_the_builder_refuses_a_categorical_input_without_sizes() -> None:
    spec = spec_with(embedding_dim=None)
    with pytest.raises(SpecBuildError) as info:
        build_model(spec, device="meta")
    assert str(info.value) == (
        "input 'species': a categorical input needs vocab_size and embedding_dim, positive "
        "integers; got vocab_size 3, embedding_dim None"
    )


# -- the vocabulary -------------------------------------------------------------------------


def test_the_vocabulary_comes_from_the_training_rows_only(tmp_path: Path) -> None:
    rows = iris_rows()
    _, val_idx = split_indices(len(rows), 0.2, 0)
    held_out = int(val_idx[0])
    rows[held_out]["species"] = "unknown-species"  # only in a validation row
    data = write_csv(tmp_path / "iris.csv", rows)
    codes, vocabs, train_idx, _ = encoded(data, SPEC)
    assert vocabs == {
        "species": {
            "columns": ["species"],
            "vocab_size": 3,
            "unseen_index": 3,
            "values": SPECIES,  # sorted; the validation-only value is not in it
        }
    }
    assert int(codes[held_out]) == 3  # the reserved index
    assert codes.dtype == torch.int64 and codes.shape == (150,)
    names = [r["species"] for r in rows]
    assert [int(codes[i]) for i in train_idx] == [SPECIES.index(names[i]) for i in train_idx]


def test_integer_categories_on_real_data() -> None:
    spec = {
        "inputs": {
            "sex": {
                "dtype": "int32",
                "shape": [None],
                "columns": ["sex"],
                "categorical": True,
                "vocab_size": 2,
                "embedding_dim": 2,
            }
        },
        "graph": [
            {
                "name": "l",
                "type": "torch.nn.Linear",
                "params": {"in_features": 2, "out_features": 1},
                "inputs": {"input": "sex"},
            }
        ],
        "outputs": {"p": "l.output"},
        "loss": {
            "type": "torch.nn.functional.mse_loss",
            "inputs": {"input": "p", "target": "progression"},
        },
    }
    dataset = load_dataset(DIABETES, spec, "progression", parse_loss(spec, torch.device("cpu")))
    train_idx, _ = split_indices(dataset.n_rows, 0.2, 0)
    vocabs = apply_vocabularies(dataset, spec, train_idx)
    assert vocabs["sex"]["values"] == [1, 2]
    raw = pacsv.read_csv(DIABETES).column("sex").to_numpy()
    assert dataset.inputs["sex"].dtype == torch.int32
    assert torch.equal(dataset.inputs["sex"], torch.from_numpy(raw - 1).to(torch.int32))


def test_parquet_gives_the_indices_csv_gives(tmp_path: Path) -> None:
    table = pacsv.read_csv(IRIS)
    parquet = tmp_path / "iris.parquet"
    species = table.column("species").dictionary_encode()  # as pandas writes categories
    pq.write_table(table.set_column(4, "species", species), parquet)
    from_csv, csv_vocabs, _, _ = encoded(IRIS, SPEC)
    from_parquet, parquet_vocabs, _, _ = encoded(parquet, SPEC)
    assert parquet_vocabs == csv_vocabs
    assert torch.equal(from_parquet, from_csv)


def test_a_vocab_size_below_the_training_values_is_one_clear_error(tmp_path: Path) -> None:
    trainer = make_workspace(
        tmp_path,
        "iris-petal-length-v1",
        base_config(epochs=1),
        model_text=EXAMPLE_MODEL.read_text().replace("vocab_size: 3 ", "vocab_size: 2 "),
    )
    with pytest.raises(DataError) as info:
        train(trainer, IRIS, out=tmp_path / "runs")
    assert str(info.value) == (
        "column 'species' of categorical input 'species' holds 3 distinct values in the "
        "training rows but vocab_size is 2; set vocab_size to at least 3 in the model spec"
    )
    assert not (tmp_path / "runs").exists()  # refused before a run directory was made


# -- the run directory and resume -----------------------------------------------------------


def test_the_vocabulary_is_saved_and_a_resume_takes_the_checkpoints(tmp_path: Path) -> None:
    trainer = make_workspace(
        tmp_path,
        "iris-petal-length-v1",
        base_config(epochs=2),
        model_text=EXAMPLE_MODEL.read_text(),
    )
    first = train(trainer, IRIS, out=tmp_path / "runs", run_name="r")
    run = Path(first["run_dir"])
    saved = json.loads((run / "vocab.json").read_text())
    assert saved["species"]["values"] == SPECIES
    state = ckpt_io.load(run / "checkpoints" / "epoch-0002.pt")
    assert state["vocabularies"] == saved

    # New data in which setosa is spelled 'Iris-setosa': built afresh, the vocabulary would
    # sort it first and move every index. The resumed run keeps the checkpoint's.
    changed = write_csv(
        tmp_path / "iris2.csv",
        [{**r, "species": r["species"].replace("setosa", "Iris-setosa")} for r in iris_rows()],
    )
    trainer.write_text(trainer.read_text().replace("epochs: 2", "epochs: 3"))
    summary = train(trainer, changed, resume=run, force=True)
    assert summary["epochs_completed"] == 3
    assert json.loads((run / "vocab.json").read_text()) == saved
    assert ckpt_io.load(run / "checkpoints" / "epoch-0003.pt")["vocabularies"] == saved
    codes, _, _, _ = encoded(changed, SPEC, saved=saved)
    names = [r["species"] for r in iris_rows()]
    assert [int(c) for c in codes] == [
        3 if n == "setosa" else SPECIES.index(n) for n in names
    ]  # 'Iris-setosa' was never seen: the reserved index


# -- the example ----------------------------------------------------------------------------


def test_the_example_trains_to_its_stated_metric(tmp_path: Path) -> None:
    """examples/README.md: seed 0, best val_mae 0.16 cm; the per-species mean gets 0.27."""
    summary = train(
        EXAMPLES / "trainers" / "iris-petal-length.trainer.yaml",
        EXAMPLES / "data" / "iris.csv",
        out=tmp_path / "runs",
        verbose=False,
    )
    best = summary["best_metrics"]
    split = json.loads((Path(summary["run_dir"]) / "split.json").read_text())
    table = pacsv.read_csv(EXAMPLES / "data" / "iris.csv")
    y = np.asarray(table.column("petal_length").to_pylist())
    species = np.asarray(table.column("species").to_pylist())
    train_rows, val_rows = np.asarray(split["train"]), np.asarray(split["validation"])
    means = {s: y[train_rows][species[train_rows] == s].mean() for s in SPECIES}
    baseline = np.abs(y[val_rows] - np.asarray([means[s] for s in species[val_rows]])).mean()
    assert round(float(baseline), 2) == 0.27
    assert best["val_mae"] < 0.2 < baseline
    assert best["val_loss"] < 0.06
