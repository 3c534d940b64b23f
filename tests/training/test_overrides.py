"""`arcgraph train --set KEY=VALUE`: checked like the file, located in it, saved with the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from arcgraph.cli import main

from .conftest import IRIS, base_config, make_workspace


def train_cli(trainer: Path, tmp_path: Path, *args: str) -> int:
    out = str(tmp_path / "runs")
    return main(
        ["train", "--trainer", str(trainer), "--data", str(IRIS), "--out", out, "--quiet", *args]
    )


def test_an_override_runs_a_cuda_spec_on_the_cpu_and_is_saved_with_the_run(
    tmp_path: Path,
) -> None:
    trainer = make_workspace(
        tmp_path, "iris-linear-v1", base_config(epochs=3, batch_size=40, device="cuda")
    )
    args = ("--name", "r", "--set", "config.device=cpu", "--set", "config.epochs=2")
    assert train_cli(trainer, tmp_path, *args) == 0
    run = tmp_path / "runs" / "iris-linear-v1" / "r"
    assert (run / "trainer.yaml").read_text() == trainer.read_text()  # the file, as it was
    effective = yaml.safe_load((run / "trainer.effective.yaml").read_text())
    assert effective["config"]["device"] == "cpu"
    assert effective["config"]["epochs"] == 2
    info = json.loads((run / "run.json").read_text())
    assert info["overrides"] == ["config.device=cpu", "config.epochs=2"]
    assert info["device"] == "cpu"
    assert len((run / "metrics.csv").read_text().splitlines()) == 1 + 2  # header + 2 epochs


def test_a_run_without_overrides_writes_no_effective_spec(tmp_path: Path) -> None:
    trainer = make_workspace(tmp_path, "iris-linear-v1", base_config(epochs=1, batch_size=40))
    assert train_cli(trainer, tmp_path, "--name", "r") == 0
    run = tmp_path / "runs" / "iris-linear-v1" / "r"
    assert not (run / "trainer.effective.yaml").exists()
    assert "overrides" not in json.loads((run / "run.json").read_text())


def test_a_bad_override_is_located_on_its_key_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trainer = make_workspace(tmp_path, "iris-linear-v1", base_config(batch_size=0))
    args = ("--set", "optimizer.lr=abc", "--set", "optimizer.params=5")
    assert train_cli(trainer, tmp_path, *args) == 1
    assert capsys.readouterr().err == (
        "arcgraph train: error: the specs have 3 errors; not training:\n"
        # params is not in the file: located on its section's key
        f"{trainer}:2:1: error AG112 --set optimizer.params=5: 'optimizer.params' must be a "
        "mapping; got 5\n"
        f"{trainer}:4:3: error AG112 --set optimizer.lr=abc: 'optimizer.lr' must be a positive "
        "number; got 'abc'\n"
        # the file's own error keeps its place below the inserted line
        f"{trainer}:7:15: error AG113 'config.batch_size' must be a positive integer; got 0\n"
    )
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("override", "why"),
    [
        ("config.device", "expected KEY=VALUE, e.g. --set config.device=cpu"),
        ("config..device=cpu", "'config..device' has an empty part; write a dotted key path"),
        (
            "optimizer.lr=[1",
            "the value is not valid YAML (expected ',' or ']', but got '<stream end>')",
        ),
        ("config.seed.x=1", "config.seed is a single value, not a mapping with 'x'"),
    ],
)
def test_an_override_that_cannot_apply_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], override: str, why: str
) -> None:
    trainer = make_workspace(tmp_path, "iris-linear-v1", base_config())
    assert train_cli(trainer, tmp_path, "--set", override) == 1
    assert capsys.readouterr().err == f"arcgraph train: error: {trainer}: --set {override}: {why}\n"


def test_resume_may_change_the_device_but_not_what_the_run_computes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trainer = make_workspace(tmp_path, "iris-linear-v1", base_config(epochs=1, batch_size=40))
    assert train_cli(trainer, tmp_path, "--name", "r", "--set", "optimizer.lr=0.05") == 0
    run = tmp_path / "runs" / "iris-linear-v1" / "r"
    capsys.readouterr()
    # The same computation on another device: resumed (here: nothing left to do).
    args = ("--resume", str(run), "--set", "optimizer.lr=0.05", "--set", "config.device=cpu")
    assert train_cli(trainer, tmp_path, *args) == 0
    # Without the lr override it is another training.
    assert train_cli(trainer, tmp_path, "--resume", str(run)) == 1
    assert capsys.readouterr().err == (
        f"arcgraph train: error: the trainer changed since {run} was started; resuming would "
        "mix two different trainings (use --force to resume anyway)\n"
    )
