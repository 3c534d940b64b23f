"""Nothing is lost: SIGKILL + --resume, Ctrl-C/SIGTERM checkpoints, changed specs, NaN stops.

Runs that get signals are real `python -m arcgraph.training` subprocesses (one torch thread,
like the reference run they are compared with).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import weakref
from pathlib import Path
from typing import Any

import pytest
import torch

from arcgraph.training import NonFiniteLossError, ResumeError, train
from arcgraph.training import checkpoint as ckpt_io
from arcgraph.training.checkpoint import list_checkpoints

from .conftest import BREAST_CANCER, REPO, Events, base_config, make_workspace

CONFIG = base_config(epochs=12, batch_size=8, log_every=1, seed=21)


def cli(args: list[str], **kw: Any) -> subprocess.Popen[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "server"), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "arcgraph.training", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def read_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def wait_for(path: Path, proc: subprocess.Popen[str], cond: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(cond(e) for e in read_events(path)):
            return
        if proc.poll() is not None:
            raise AssertionError(f"run ended before the signal: {proc.communicate()}")
        time.sleep(0.005)
    raise AssertionError("timed out waiting for the run")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run in a subprocess: the result every interrupted run must reproduce."""
    root = tmp_path_factory.mktemp("ref")
    trainer = make_workspace(root, "bc-mlp-v1", CONFIG)
    proc = cli(
        [
            "--trainer",
            str(trainer),
            "--data",
            str(BREAST_CANCER),
            "--out",
            str(root / "runs"),
            "--name",
            "r",
        ]
    )
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return root / "runs" / "bc-mlp-v1" / "r"


def kill_mid_epoch(
    proc: subprocess.Popen[str], events: Path, run: Path, epoch: int, batch: int
) -> list[str]:
    """SIGKILL the run once its events reach `batch` of `epoch` (no cleanup can run); the
    names of the checkpoints it left (it wrote no summary)."""
    wait_for(
        events, proc, lambda e: e["event"] == "step" and e["epoch"] == epoch and e["batch"] == batch
    )
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (run / "summary.json").exists()
    return [p.name for p in list_checkpoints(run)]


def assert_same_result(run: Path, reference: Path) -> None:
    assert (run / "metrics.csv").read_text() == (reference / "metrics.csv").read_text()
    a = torch.load(run / "last.pt", weights_only=True)
    b = torch.load(reference / "last.pt", weights_only=True)
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    sa, sb = (json.loads((r / "summary.json").read_text()) for r in (run, reference))
    assert (sa["status"], sa["final_metrics"], sa["best_epoch"]) == (
        sb["status"],
        sb["final_metrics"],
        sb["best_epoch"],
    )


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(
    tmp_path: Path, reference: Path
) -> None:
    trainer = make_workspace(tmp_path, "bc-mlp-v1", CONFIG)
    events = tmp_path / "events.jsonl"
    args = [
        "--trainer",
        str(trainer),
        "--data",
        str(BREAST_CANCER),
        "--out",
        str(tmp_path / "runs"),
        "--name",
        "r",
    ]
    proc = cli([*args, "--events", str(events)])
    run = tmp_path / "runs" / "bc-mlp-v1" / "r"
    done = kill_mid_epoch(proc, events, run, epoch=4, batch=20)
    assert "epoch-0003.pt" in done and "epoch-0012.pt" not in done
    resumed = cli(
        [
            "--trainer",
            str(trainer),
            "--data",
            str(BREAST_CANCER),
            "--resume",
            str(run),
            "--events",
            str(events),
        ]
    )
    _out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    start = [e for e in read_events(events) if e["event"] == "start"][-1]
    assert start["resumed_from"] == str(list_checkpoints(run)[-1].parent / done[0])
    assert_same_result(run, reference)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_first_signal_saves_a_checkpoint_and_resume_matches(
    tmp_path: Path, reference: Path, sig: int, code: int
) -> None:
    trainer = make_workspace(tmp_path, "bc-mlp-v1", CONFIG)
    events = tmp_path / "events.jsonl"
    args = [
        "--trainer",
        str(trainer),
        "--data",
        str(BREAST_CANCER),
        "--out",
        str(tmp_path / "runs"),
        "--name",
        "r",
    ]
    proc = cli([*args, "--events", str(events)])
    wait_for(events, proc, lambda e: e["event"] == "step" and e["epoch"] == 2 and e["batch"] == 10)
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    run = tmp_path / "runs" / "bc-mlp-v1" / "r"
    name = signal.Signals(sig).name
    assert (
        f"{name}: finishing the current step and saving a checkpoint (send it again to abort now)"
        in err
    )
    latest = list_checkpoints(run)[0]
    assert latest.name.startswith("epoch-0002-batch-")  # mid-epoch, right after the current step
    assert (
        f"arcgraph train: interrupted; checkpoint saved to {latest} (continue with --resume)" in err
    )
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"
    last = read_events(events)[-1]
    assert (last["event"], last["kind"], last["checkpoint"]) == (
        "error",
        "TrainingInterrupted",
        str(latest),
    )
    resumed = cli(["--trainer", str(trainer), "--data", str(BREAST_CANCER), "--resume", str(run)])
    _out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert_same_result(run, reference)


def test_second_signal_aborts_at_once() -> None:
    from arcgraph.training.signals import GracefulStop

    with GracefulStop(message=False) as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested == signal.SIGINT
        with pytest.raises(KeyboardInterrupt, match="aborted by a second SIGINT"):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _small(tmp_path: Path, **config: Any) -> tuple[Path, dict[str, Any]]:
    trainer = make_workspace(tmp_path, "bc-mlp-v1", base_config(**config))
    return trainer, train(trainer, BREAST_CANCER, out=tmp_path / "runs", run_name="r")


def test_resume_with_changed_specs_is_refused_unless_forced(tmp_path: Path, events: Events) -> None:
    trainer, first = _small(tmp_path, epochs=2)
    run = Path(first["run_dir"])
    trainer.write_text(trainer.read_text().replace("epochs: 2", "epochs: 4"))
    with pytest.raises(ResumeError) as info:
        train(trainer, BREAST_CANCER, resume=run)
    assert str(info.value) == (
        f"the trainer changed since {run} was started; resuming would mix two different "
        "trainings (use --force to resume anyway)"
    )
    summary = train(trainer, BREAST_CANCER, resume=run, force=True, events=events)
    assert summary["epochs_completed"] == 4
    assert events.of("start")[0]["resumed_from"] == str(run / "checkpoints" / "epoch-0002.pt")
    assert [e["epoch"] for e in events.of("epoch")] == [3, 4]
    assert len((run / "metrics.csv").read_text().splitlines()) == 5
    info_json = json.loads((run / "run.json").read_text())
    assert "forced_from" in info_json and "epochs: 4" in (run / "trainer.yaml").read_text()


def test_resume_with_changed_data_is_refused(tmp_path: Path) -> None:
    trainer, first = _small(tmp_path, epochs=1)
    other = tmp_path / "bc.csv"
    other.write_text(BREAST_CANCER.read_text().replace("17.99", "18.0"))
    with pytest.raises(ResumeError, match=r"^the data changed since"):
        train(trainer, other, resume=first["run_dir"])


def test_resume_of_a_finished_run_does_nothing(tmp_path: Path, events: Events) -> None:
    trainer, first = _small(tmp_path, epochs=1)
    again = train(trainer, BREAST_CANCER, resume=first["run_dir"], events=events)
    assert again == first
    assert (
        events.of("info")[0]["message"]
        == f"{first['run_dir']} already finished (completed); nothing to resume"
    )


def _interrupted_after_epoch_2(tmp_path: Path) -> tuple[Path, Path]:
    """A 3-epoch run as if killed after epoch 2's checkpoint: (trainer, run directory)."""
    trainer, first = _small(tmp_path, epochs=3)
    run = Path(first["run_dir"])
    (run / "summary.json").unlink()
    (run / "checkpoints" / "epoch-0003.pt").unlink()
    return trainer, run


def test_resume_drops_the_loaded_checkpoint_once_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loaded checkpoint's weights are copied into the model; the checkpoint itself must
    not stay referenced (a second copy of every weight) while training runs."""
    trainer, run = _interrupted_after_epoch_2(tmp_path)
    loaded: list[weakref.ref[torch.Tensor]] = []
    real_load = ckpt_io.load

    def load_and_watch(path: Path, map_location: Any = "cpu") -> Any:
        state = real_load(path, map_location)
        loaded.extend(weakref.ref(t) for t in state["model"].values())
        return state

    monkeypatch.setattr(ckpt_io, "load", load_and_watch)
    alive: list[int] = []  # checkpoint tensors still alive at each epoch's end

    def sink(event: dict[str, Any]) -> None:
        if event["event"] == "epoch":
            alive.append(sum(ref() is not None for ref in loaded))

    summary = train(trainer, BREAST_CANCER, resume=run, events=sink)
    assert summary["epochs_completed"] == 3
    model_keys = real_load(run / "checkpoints" / "epoch-0002.pt")["model"]
    assert len(loaded) == len(model_keys) == 9  # one load: the epoch-2 checkpoint
    assert alive == [0]


def test_resume_refuses_a_checkpoint_of_another_format(tmp_path: Path) -> None:
    """Through the API and `arcgraph train --resume`: one line naming the file, the format it
    has and the one this version reads; nothing is trained."""
    trainer, run = _interrupted_after_epoch_2(tmp_path)
    newest = run / "checkpoints" / "epoch-0002.pt"
    state = ckpt_io.load(newest)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "server"), env.get("PYTHONPATH")]))
    args = ["--trainer", str(trainer), "--data", str(BREAST_CANCER), "--resume", str(run)]
    for fmt, has in ((2, "checkpoint format 2"), (None, "no checkpoint format")):
        if fmt is None:
            del state["format"]
        else:
            state["format"] = fmt
        ckpt_io.save(state, newest)
        expected = (
            f"{newest} has {has}; this arcgraph reads format 1 (resume it with the arcgraph "
            "version that wrote it, or start a new run)"
        )
        with pytest.raises(ResumeError) as info:
            train(trainer, BREAST_CANCER, resume=run)
        assert str(info.value) == expected
        proc = subprocess.run(
            [sys.executable, "-m", "arcgraph", "train", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (proc.returncode, proc.stdout, proc.stderr) == (
            1,
            "",
            f"arcgraph train: error: {expected}\n",
        )
    assert not (run / "summary.json").exists()
    assert [p.name for p in list_checkpoints(run)] == ["epoch-0002.pt", "epoch-0001.pt"]


DIVERGING = """inputs:
  x: { dtype: float32, shape: [null, 1], columns: [x] }
graph:
  - { name: lin, type: torch.nn.Linear, params: { in_features: 1, out_features: 1 }, inputs: { input: x } }
outputs:
  y: lin.output
loss:
  type: torch.nn.functional.mse_loss
  inputs: { input: y, target: y }
"""


def test_non_finite_loss_stops_naming_epoch_and_batch(tmp_path: Path, events: Events) -> None:
    # SGD at lr 1 on mean((w + b)^2) multiplies w + b by -3 per step: inf after ~40 steps.
    data = tmp_path / "d.csv"
    data.write_text("x,y\n" + "1.0,0.0\n" * 50)
    trainer = make_workspace(
        tmp_path,
        "diverge-v1",
        base_config(epochs=30, batch_size=10),
        {"type": "torch.optim.SGD", "lr": 1.0},
        model_text=DIVERGING,
    )
    with pytest.raises(NonFiniteLossError) as info:
        train(trainer, data, out=tmp_path / "runs", run_name="r", events=events)
    err = info.value
    assert (
        str(err)
        == f"non-finite loss (inf) at epoch {err.epoch}, batch {err.batch}; stopped, the last good checkpoint is kept"
    )
    assert (err.epoch, err.batch) == (11, 3)
    run = tmp_path / "runs" / "diverge-v1" / "r"
    assert next(p.name for p in list_checkpoints(run)) == "epoch-0010.pt"
    summary = json.loads((run / "summary.json").read_text())
    assert (summary["status"], summary["epochs_completed"]) == ("failed", 10)
    assert summary["checkpoint"] == str(run / "checkpoints" / "epoch-0010.pt")
    assert not (run / "last.pt").exists()
    assert events[-1] == {
        "event": "error",
        "kind": "NonFiniteLossError",
        "message": str(err),
        "epoch": 11,
        "batch": 3,
    }
