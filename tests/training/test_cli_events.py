"""The command line (`python -m arcgraph.training`, what `arcgraph train` registers), events,
the engine pre-flight, and human output."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from arcgraph.training import SpecError, train
from arcgraph.training.events import Reporter

from .conftest import DIABETES, IRIS, REPO, base_config, make_workspace


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "server"), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "arcgraph.training", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_events_to_stdout_are_json_lines_and_human_output_goes_to_stderr(tmp_path: Path) -> None:
    trainer = make_workspace(
        tmp_path,
        "iris-linear-v1",
        # cpu: on CUDA an `info` event (the step captured in a CUDA graph) joins the sequence
        base_config(epochs=2, batch_size=40, log_every=1, verbose=True, device="cpu"),
    )
    proc = cli(
        "--trainer",
        str(trainer),
        "--data",
        str(IRIS),
        "--out",
        str(tmp_path / "runs"),
        "--name",
        "r",
        "--events",
        "-",
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["event"] for e in events] == [
        "start",
        "step", "step", "step", "checkpoint", "epoch",
        "step", "step", "step", "checkpoint", "epoch",
        "end",
    ]  # fmt: skip
    run = tmp_path / "runs" / "iris-linear-v1" / "r"
    assert events[0]["run_dir"] == str(run)
    assert events[0]["train_rows"] == 120 and events[0]["steps_per_epoch"] == 3
    assert set(events[5]) == {
        "event",
        "epoch",
        "train_loss",
        "val_loss",
        "val_accuracy",
        "duration_s",
    }
    assert events[4]["path"] == str(run / "checkpoints" / "epoch-0001.pt")
    assert events[-1]["summary"] == json.loads((run / "summary.json").read_text())
    lines = proc.stderr.splitlines()
    assert lines[0] == "training iris-linear-v1 on cpu: 120 train / 30 validation rows, 2 epochs"
    assert lines[1] == f"run directory: {run}"
    assert lines[2].startswith("epoch 1/2 batch 1/3 loss ")
    assert lines[5].startswith("epoch 1/2 train_loss ") and " val_accuracy " in lines[5]
    assert lines[-1].startswith("completed: 2 epoch(s), best val_loss ")


def test_events_to_a_file_and_quiet(tmp_path: Path) -> None:
    trainer = make_workspace(tmp_path, "iris-linear-v1", base_config(epochs=1))
    out = tmp_path / "ev.jsonl"
    proc = cli(
        "--trainer",
        str(trainer),
        "--data",
        str(IRIS),
        "--out",
        str(tmp_path / "runs"),
        "--events",
        str(out),
        "--quiet",
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert [json.loads(line)["event"] for line in out.read_text().splitlines()][-1] == "end"


def test_spec_errors_are_refused_with_located_diagnostics_before_reading_data(
    tmp_path: Path,
) -> None:
    trainer = make_workspace(tmp_path, "iris-linear-v1", base_config(batch_size=0, epoch=3))
    proc = cli(
        "--trainer",
        str(trainer),
        "--data",
        str(tmp_path / "missing.csv"),
        "--out",
        str(tmp_path / "runs"),
        "--events",
        "-",
    )
    assert proc.returncode == 1
    assert proc.stderr == (
        "arcgraph train: error: the specs have 2 errors; not training:\n"
        f"{trainer}:7:15: error AG113 'config.batch_size' must be a positive integer; got 0\n"
        f"{trainer}:12:3: error AG111 unknown key 'epoch' in config; did you mean 'epochs'?\n"
    )
    event = json.loads(proc.stdout.splitlines()[-1])
    assert (event["event"], event["kind"]) == ("error", "PreflightError")
    assert not (tmp_path / "runs").exists()


def test_unknown_torch_names_are_refused_with_their_place(tmp_path: Path) -> None:
    # The pre-flight checks against the torch catalog: file, line, column and a did-you-mean.
    trainer = make_workspace(
        tmp_path, "iris-linear-v1", base_config(), {"type": "torch.optim.Adamm", "lr": 0.01}
    )
    with pytest.raises(SpecError) as err:
        train(trainer, tmp_path / "missing.csv", out=tmp_path / "runs")
    assert str(err.value) == (
        "the specs have 1 error; not training:\n"
        f"{trainer}:3:9: error AG210 'torch.optim.Adamm' is not an optimizer in torch.optim; "
        "did you mean 'torch.optim.Adam'?"
    )


def test_model_override_and_unknown_model(tmp_path: Path) -> None:
    trainer = make_workspace(tmp_path, "iris-linear-v1", base_config(epochs=1))
    make_workspace(tmp_path, "iris-mlp-v1", base_config(epochs=1), name="other")
    summary = train(trainer, IRIS, model="iris-mlp-v1", out=tmp_path / "runs", verbose=False)
    assert summary["model_id"] == "iris-mlp-v1"
    path = tmp_path / "models" / "iris-mlp-v1.model.yaml"
    assert (
        train(trainer, IRIS, model=path, out=tmp_path / "runs", verbose=False)["model_id"]
        == "iris-mlp-v1"
    )
    with pytest.raises(
        SpecError, match=f"^model 'nope-v1' is not in the workspace registry under {tmp_path}$"
    ):
        train(trainer, IRIS, model="nope-v1", out=tmp_path / "runs")


def test_target_override_reaches_the_data_checks(tmp_path: Path) -> None:
    trainer = make_workspace(tmp_path, "diabetes-mlp-v1", base_config(epochs=1))
    proc = cli(
        "--trainer",
        str(trainer),
        "--data",
        str(DIABETES),
        "--out",
        str(tmp_path / "runs"),
        "--target",
        "bmi",
    )
    assert proc.returncode == 1
    assert (
        proc.stderr
        == "arcgraph train: error: column 'bmi' is both a feature (input 'features') and the target\n"
    )


def test_trainer_spec_typos_are_refused(tmp_path: Path) -> None:
    from arcgraph.training.config import parse_config

    with pytest.raises(SpecError, match=r"^config: unknown field\(s\) epoch$"):
        parse_config({**base_config(), "epoch": 3})
    with pytest.raises(SpecError, match=r"^config.batch_size must be a positive integer, got 0$"):
        parse_config(base_config(batch_size=0))


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_a_progress_bar_per_epoch(tmp_path: Path) -> None:
    stream = _Tty()
    rep = Reporter(None, verbose=True, stream=stream)
    rep.epochs = 2
    rep.epoch_begin(1, 10, 0)
    rep.step(1, 5, 10, 0.5, 5)
    rep.epoch_end({"epoch": 1, "train_loss": 0.25}, 0.1)
    text = stream.getvalue()
    assert "epoch 1/2" in text and "10/10" in text and "train_loss 0.25" in text


def test_api_summary_is_what_the_run_wrote(tmp_path: Path) -> None:
    trainer = make_workspace(tmp_path, "iris-linear-v1", base_config(epochs=1))
    summary = train(trainer, IRIS, out=tmp_path / "runs", verbose=False)
    assert summary == json.loads((Path(summary["run_dir"]) / "summary.json").read_text())
    assert (
        yaml.safe_load((Path(summary["run_dir"]) / "trainer.yaml").read_text())["model_ref"]
        == "iris-linear-v1"
    )
