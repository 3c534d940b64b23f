"""One test per trainer-spec config field, each showing the field's effect."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from arcgraph.builder.build import build_model
from arcgraph.training import SpecError, train
from arcgraph.training import loop as loop_module
from arcgraph.training.checkpoint import load
from arcgraph.training.split import epoch_order

from .conftest import BREAST_CANCER, FIXTURES, IRIS, Events, base_config, make_workspace

N_TRAIN = 120  # iris, validation_split 0.2


def run(
    tmp_path: Path,
    events: Events | None = None,
    model: str = "iris-linear-v1",
    optimizer: dict[str, Any] | None = None,
    **config: Any,
) -> dict[str, Any]:
    trainer = make_workspace(tmp_path, model, base_config(**config), optimizer)
    return train(trainer, IRIS, out=tmp_path / "runs", events=events, run_name="r")


def weights(summary: dict[str, Any], name: str) -> dict[str, torch.Tensor]:
    return torch.load(Path(summary["run_dir"]) / name, weights_only=True)


def initial_weights(seed: int, model: str = "iris-linear-v1") -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    spec = yaml.safe_load((FIXTURES / "models" / f"{model}.model.yaml").read_text())
    return build_model(spec).state_dict()


def checkpoint_files(summary: dict[str, Any]) -> list[str]:
    return sorted(p.name for p in (Path(summary["run_dir"]) / "checkpoints").iterdir())


def metrics(summary: dict[str, Any]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((Path(summary["run_dir"]) / "metrics.csv").read_text())))


def test_epochs(tmp_path: Path, events: Events) -> None:
    summary = run(tmp_path, events, epochs=4)
    assert [e["epoch"] for e in events.of("epoch")] == [1, 2, 3, 4]
    assert summary["epochs_completed"] == 4 and len(metrics(summary)) == 4


@pytest.mark.parametrize(("batch_size", "steps"), [(16, 8), (50, 3), (500, 1)])
def test_batch_size(tmp_path: Path, events: Events, batch_size: int, steps: int) -> None:
    run(tmp_path, events, epochs=1, batch_size=batch_size, log_every=1)
    assert [e["batch"] for e in events.of("step")] == list(range(1, steps + 1))
    assert events.of("start")[0]["steps_per_epoch"] == steps


def test_a_last_batch_of_one_row_joins_the_one_before(tmp_path: Path, events: Events) -> None:
    # 120 rows in batches of 17: seven batches, the last with 18 rows, not 7 x 17 + 1 row,
    # which a BatchNorm model (iris-mlp-v1) could not train on.
    summary = run(tmp_path, events, model="iris-mlp-v1", epochs=1, batch_size=17, log_every=1)
    assert summary["status"] == "completed"
    assert [e["batch"] for e in events.of("step")] == list(range(1, 8))
    assert events.of("start")[0]["steps_per_epoch"] == 7


def test_validation_split(tmp_path: Path, events: Events) -> None:
    summary = run(tmp_path, events, epochs=1, validation_split=0.5)
    split = json.loads((Path(summary["run_dir"]) / "split.json").read_text())
    assert (len(split["train"]), len(split["validation"])) == (75, 75)
    assert sorted(split["train"] + split["validation"]) == list(range(150))
    perm = torch.randperm(150, generator=torch.Generator().manual_seed(5))
    assert split["validation"] == sorted(perm[:75].tolist())


def test_validation_split_zero_trains_on_all_rows_and_monitors_train_loss(tmp_path: Path) -> None:
    summary = run(tmp_path, epochs=1, validation_split=0.0)
    assert summary["monitor"] == "train_loss"
    assert list(summary["final_metrics"]) == ["epoch", "train_loss"]


@pytest.mark.parametrize("shuffle", [False, True])
def test_shuffle_decides_the_first_batch(tmp_path: Path, events: Events, shuffle: bool) -> None:
    summary = run(tmp_path, events, epochs=1, batch_size=10, log_every=1, shuffle=shuffle)
    split = json.loads((Path(summary["run_dir"]) / "split.json").read_text())
    train_rows = torch.tensor(split["train"])
    order = epoch_order(N_TRAIN, 5, 1, shuffle)
    first = train_rows[:10] if order is None else train_rows[order[:10]]
    expected_rows = list(range(10)) if not shuffle else None
    if expected_rows is not None:
        assert torch.equal(first, train_rows[:10])
    # The first logged loss is the initial model's loss on exactly those rows.
    from arcgraph.training.data import load_dataset
    from arcgraph.training.losses import parse_loss

    spec = yaml.safe_load((FIXTURES / "models" / "iris-linear-v1.model.yaml").read_text())
    ds = load_dataset(IRIS, spec, "species", parse_loss(spec, torch.device("cpu")))
    torch.manual_seed(5)
    model = build_model(spec)
    loss = torch.nn.functional.cross_entropy(
        model(features=ds.inputs["features"][first])["logits"], ds.target[first]
    )
    assert events.of("step")[0]["loss"] == pytest.approx(loss.item(), rel=1e-6)


def test_shuffle_changes_the_result(tmp_path: Path) -> None:
    a = run(tmp_path / "a", epochs=2, shuffle=True)
    b = run(tmp_path / "b", epochs=2, shuffle=False)
    assert a["final_metrics"]["train_loss"] != b["final_metrics"]["train_loss"]


def test_early_stopping_patience_and_best_weights_restored(tmp_path: Path, events: Events) -> None:
    summary = run(
        tmp_path, events, epochs=10, early_stopping_patience=2, early_stopping_min_delta=100.0
    )
    # Epoch 1 is the only "improvement" (nothing beats it by 100): stop after 1 + 2 epochs.
    assert (summary["status"], summary["epochs_completed"], summary["best_epoch"]) == (
        "early_stopped",
        3,
        1,
    )
    assert events.of("early_stop")[0] == {
        "event": "early_stop",
        "epoch": 3,
        "monitor": "val_loss",
        "best_epoch": 1,
        "best_metric": summary["best_metric"],
    }
    assert summary["restored_best_weights"] is True
    assert summary["weights"].endswith("best.pt")
    assert summary["best_metric"] == float(metrics(summary)[0]["val_loss"])
    best, last = weights(summary, "best.pt"), weights(summary, "last.pt")
    assert not torch.equal(best["linear.weight"], last["linear.weight"])


def test_early_stopping_mode_max_on_accuracy(tmp_path: Path) -> None:
    summary = run(
        tmp_path,
        epochs=10,
        early_stopping_patience=1,
        early_stopping_monitor="val_accuracy",
        early_stopping_mode="max",
        early_stopping_min_delta=0.5,
    )
    assert (summary["epochs_completed"], summary["best_epoch"], summary["monitor"]) == (
        2,
        1,
        "val_accuracy",
    )


def test_early_stopping_min_delta_zero_counts_any_improvement(tmp_path: Path) -> None:
    summary = run(tmp_path, epochs=6, early_stopping_patience=3, early_stopping_min_delta=0.0)
    losses = [float(r["val_loss"]) for r in metrics(summary)]
    assert summary["best_epoch"] == 1 + losses.index(min(losses))


def test_monitor_that_is_not_produced_is_refused_before_reading_data(tmp_path: Path) -> None:
    # The engine's located diagnostic (the same text `arcgraph check` prints) refuses it.
    trainer = make_workspace(
        tmp_path,
        "iris-linear-v1",
        base_config(early_stopping_monitor="val_mae", early_stopping_patience=2),
    )
    with pytest.raises(SpecError) as info:
        train(trainer, tmp_path / "no-such-file.csv", out=tmp_path / "runs")
    assert str(info.value).startswith("the specs have 1 error; not training:\n")
    assert f"{trainer}:12:27: error AG224 early_stopping_monitor 'val_mae'" in str(info.value)


def test_val_monitor_without_validation_is_refused_by_the_engine(tmp_path: Path) -> None:
    """AG220 on an explicit val_* monitor with validation_split: 0 is an error, since the
    trainer refuses the run (it was a warning, then the trainer's own unlocated words)."""
    config = base_config(validation_split=0.0, early_stopping_monitor="val_loss")
    trainer = make_workspace(tmp_path, "iris-linear-v1", config)
    line = trainer.read_text().splitlines().index("  early_stopping_monitor: val_loss") + 1
    with pytest.raises(SpecError) as info:
        train(trainer, IRIS, out=tmp_path / "runs")
    assert str(info.value) == (
        f"the specs have 1 error; not training:\n{trainer}:{line}:27: error AG220"
        " early_stopping_monitor 'val_loss' is computed on the validation split, but"
        " validation_split is 0; set validation_split to e.g. 0.2 or monitor train_loss"
    )
    assert not (tmp_path / "runs").exists()


def test_monitor_check_of_the_trainer_itself() -> None:
    """The trainer's own check (behind the engine's) for a monitor the run will not produce."""
    from arcgraph.training.api import choose_monitor
    from arcgraph.training.config import parse_config
    from arcgraph.training.losses import parse_loss

    spec = yaml.safe_load((FIXTURES / "models" / "iris-linear-v1.model.yaml").read_text())
    loss = parse_loss(spec, torch.device("cpu"))
    raw = base_config(validation_split=0.0, early_stopping_monitor="val_loss")
    with pytest.raises(SpecError) as info:
        choose_monitor(parse_config(raw), raw, loss)
    assert str(info.value) == (
        "config.early_stopping_monitor 'val_loss' is not a metric of this run (validation_split is 0); "
        "it produces: train_loss"
    )
    raw = base_config(early_stopping_monitor="val_mae")
    with pytest.raises(SpecError, match=r"it produces: train_loss, val_loss, val_accuracy$"):
        choose_monitor(parse_config(raw), raw, loss)


def test_checkpoint_every(tmp_path: Path, events: Events) -> None:
    summary = run(tmp_path, events, epochs=5, checkpoint_every=2)
    assert checkpoint_files(summary) == ["epoch-0002.pt", "epoch-0004.pt"]
    assert [(e["epoch"], e["reason"]) for e in events.of("checkpoint")] == [
        (2, "schedule"),
        (4, "schedule"),
    ]
    state = load(Path(summary["run_dir"]) / "checkpoints" / "epoch-0004.pt")
    assert state["epoch"] == 4 and len(state["history"]) == 4
    assert set(state) >= {
        "model",
        "optimizer",
        "early_stopping",
        "best_metric",
        "rng",
        "split",
        "spec_hashes",
    }


def test_save_best_only(tmp_path: Path) -> None:
    summary = run(
        tmp_path, epochs=8, save_best_only=True, optimizer={"type": "torch.optim.SGD", "lr": 0.5}
    )
    losses = [float(r["val_loss"]) for r in metrics(summary)]
    expected, best = [], math.inf
    for epoch, value in enumerate(losses, 1):
        if value < best:
            best = value
            expected.append(f"epoch-{epoch:04d}.pt")
    assert checkpoint_files(summary) == expected
    assert len(expected) < 8  # SGD at lr 0.5 oscillates: some epochs are not saved


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")
def test_device_cuda_absent_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(
        SpecError, match=r"^config.device is 'cuda' but no CUDA device is available to torch$"
    ):
        run(tmp_path, device="cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="auto would pick cuda")
def test_device_auto_and_cpu(tmp_path: Path) -> None:
    assert run(tmp_path / "a", epochs=1, device="auto")["device"] in ("cpu", "mps")
    assert run(tmp_path / "b", epochs=1, device="cpu")["device"] == "cpu"


def test_num_workers_and_pin_memory_are_reported(tmp_path: Path, events: Events) -> None:
    run(tmp_path, events, epochs=1, num_workers=2, pin_memory=True, device="cpu")
    assert [e["message"] for e in events.of("info")] == [
        "pin_memory: no effect when training on the CPU",
        "num_workers: 2 ignored, batches are gathered from memory by tensor indexing (no loader workers needed)",
    ]


def _one_sgd_step(
    tmp_path: Path, **config: Any
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    summary = run(
        tmp_path,
        epochs=1,
        batch_size=500,
        shuffle=False,
        optimizer={"type": "torch.optim.SGD", "lr": 1.0},
        **config,
    )
    return initial_weights(5), weights(summary, "last.pt")


def test_gradient_clip_val(tmp_path: Path) -> None:
    before, after = _one_sgd_step(tmp_path / "clip", gradient_clip_val=0.001)
    change = torch.cat([(after[k] - before[k]).flatten() for k in before]).abs()
    assert float(change.max()) == pytest.approx(0.001, rel=1e-3)
    _, free = _one_sgd_step(tmp_path / "free")
    assert float(torch.cat([(free[k] - before[k]).flatten() for k in before]).abs().max()) > 0.01


def test_gradient_clip_norm(tmp_path: Path) -> None:
    before, after = _one_sgd_step(tmp_path / "clip", gradient_clip_norm=0.01)
    norm = torch.cat([(after[k] - before[k]).flatten() for k in before]).norm()
    assert float(norm) == pytest.approx(0.01, rel=1e-3)


def test_accumulate_grad_batches_equals_one_big_batch(tmp_path: Path) -> None:
    # 120 rows: 15 batches of 8 in groups of 4 (the last group: 3 batches, 24 rows) step
    # exactly like batches of 32 (the last one: 24 rows).
    acc = run(tmp_path / "acc", epochs=2, batch_size=8, accumulate_grad_batches=4)
    big = run(tmp_path / "big", epochs=2, batch_size=32)
    a, b = weights(acc, "last.pt"), weights(big, "last.pt")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    steps = [
        load(Path(s["run_dir"]) / "checkpoints" / "epoch-0002.pt")["optimizer"]["state"][0]["step"]
        for s in (acc, big)
    ]
    assert [float(s) for s in steps] == [8.0, 8.0]
    single = run(tmp_path / "single", epochs=2, batch_size=8)
    assert not torch.allclose(
        weights(single, "last.pt")["linear.weight"], a["linear.weight"], atol=1e-4
    )


def test_log_every_controls_step_events_and_lines(
    tmp_path: Path, events: Events, capsys: pytest.CaptureFixture[str]
) -> None:
    run(tmp_path, events, epochs=2, batch_size=16, log_every=3, verbose=True)
    assert [(e["epoch"], e["batch"]) for e in events.of("step")] == [(1, 3), (1, 6), (2, 3), (2, 6)]
    err = capsys.readouterr().err
    assert "epoch 1/2 batch 3/8 loss " in err and "epoch 1/2 batch 6/8 loss " in err
    assert len([line for line in err.splitlines() if " batch " in line]) == 4
    assert len([line for line in err.splitlines() if line.startswith("epoch 2/2 train_loss ")]) == 1


def test_verbose_false_is_quiet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(tmp_path, epochs=2, verbose=False)
    assert capsys.readouterr().err == ""


def test_seed_same_seed_bit_identical_other_seed_differs(tmp_path: Path) -> None:
    one = _bc(tmp_path / "one", seed=1)
    two = _bc(tmp_path / "two", seed=1)
    other = _bc(tmp_path / "other", seed=2)
    assert (Path(one["run_dir"]) / "metrics.csv").read_bytes() == (
        Path(two["run_dir"]) / "metrics.csv"
    ).read_bytes()
    w1, w2 = weights(one, "last.pt"), weights(two, "last.pt")
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    assert one["final_metrics"] != other["final_metrics"]


def _bc(root: Path, seed: int) -> dict[str, Any]:
    trainer = make_workspace(root, "bc-mlp-v1", base_config(epochs=2, seed=seed))
    return train(trainer, BREAST_CANCER, out=root / "runs", run_name="r")


def test_validation_in_chunks_gives_the_whole_set_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation runs in chunks (rows per chunk from the input size); chunks of one training
    batch (4 of them on iris's 30 held-out rows) give the metrics of a single pass."""
    assert loop_module.eval_chunk_rows({"x": torch.zeros(30, 4)}, 8) == 16384
    whole = run(tmp_path / "whole", model="iris-mlp-v1", epochs=2, batch_size=8)
    monkeypatch.setattr(loop_module, "EVAL_ELEMENTS", 1)
    assert loop_module.eval_chunk_rows({"x": torch.zeros(30, 4)}, 8) == 8
    chunked = run(tmp_path / "chunked", model="iris-mlp-v1", epochs=2, batch_size=8)
    for key in ("val_loss", "val_accuracy"):
        assert chunked["final_metrics"][key] == pytest.approx(
            whole["final_metrics"][key], rel=1e-6
        ), key
