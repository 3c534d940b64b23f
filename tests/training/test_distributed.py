"""Distributed training (issue 13): `arcgraph train --nproc-per-node 2` runs 2 gloo processes
under torchrun on this CPU. They train the same model as one process (each takes its half of
every global batch, DDP averages the gradients), rank 0 alone writes the run directory, a rank
killed under --max-restarts resumes from the last checkpoint, and contradictions are refused
before anything starts. Real torchrun, real processes, real data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from arcgraph.training import TrainingInterrupted, train
from arcgraph.training.distributed import World

from .conftest import IRIS, REPO, base_config, make_workspace
from .test_resume import read_events, wait_for

MODEL = "iris-linear-v1"


def popen(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "server"), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "arcgraph", "train", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = popen(*args)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


# gloo on the CPU, also on a machine with GPUs; scripts/gpu-check sets it to cuda on 2+ GPUs
# (NCCL, one GPU per process) for the restart tests
DEVICE = os.environ.get("ARCGRAPH_TEST_DIST_DEVICE", "cpu")


def workspace(root: Path, **config: Any) -> Path:
    return make_workspace(root, MODEL, base_config(device=DEVICE, **config))


def run_args(trainer: Path, out: Path, name: str, *extra: str) -> list[str]:
    return [
        "--trainer", str(trainer), "--data", str(IRIS), "--out", str(out),
        "--name", name, "--quiet", *extra,
    ]  # fmt: skip


def summary_of(out: Path, name: str) -> dict[str, Any]:
    return json.loads((out / MODEL / name / "summary.json").read_text())


def assert_same_metrics(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-4), key


EPOCHS = 40  # long enough that a kill after epoch 3 lands mid-run (the test checks it did)


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An uninterrupted 2-process run: (trainer, runs folder)."""
    root = tmp_path_factory.mktemp("two")
    trainer = workspace(root, epochs=EPOCHS)
    out = root / "runs"
    proc = cli(*run_args(trainer, out, "ref", "--nproc-per-node", "2"))
    assert proc.returncode == 0, proc.stderr
    return trainer, out


def test_two_processes_train_the_one_process_model(two: tuple[Path, Path]) -> None:
    trainer, out = two
    single = train(trainer, IRIS, out=out.parent / "single", run_name="one", verbose=False)
    summary = summary_of(out, "ref")
    assert summary["status"] == "completed"
    assert summary["world_size"] == 2 and single["world_size"] == 1
    assert summary["epochs_completed"] == EPOCHS
    assert_same_metrics(summary["final_metrics"], single["final_metrics"])
    # one run directory, written by rank 0 alone: one metrics row per epoch, no other run
    assert [p.name for p in (out / MODEL).iterdir()] == ["ref"]
    rows = (out / MODEL / "ref" / "metrics.csv").read_text().splitlines()
    assert len(rows) == EPOCHS + 1


def test_a_rank_killed_under_max_restarts_resumes_and_ends_the_same(
    two: tuple[Path, Path], tmp_path: Path
) -> None:
    trainer, ref_out = two
    out, events = tmp_path / "runs", tmp_path / "events.jsonl"
    proc = popen(
        *run_args(trainer, out, "k", "--nproc-per-node", "2", "--max-restarts", "1"),
        "--events", str(events),
    )  # fmt: skip
    wait_for(events, proc, lambda e: e["event"] == "epoch" and e["epoch"] == 3)
    pids = next(e["rank_pids"] for e in read_events(events) if "rank_pids" in e)
    os.kill(pids[1], signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    restarted = [e for e in read_events(events) if e.get("restart") == 1]
    assert len(restarted) == 1  # the kill landed mid-run and torchrun restarted the group
    resumed = [e for e in read_events(events) if e["event"] == "start"][-1]["resumed_from"]
    assert resumed is not None and Path(resumed).name.startswith("epoch-")
    got, want = summary_of(out, "k"), summary_of(ref_out, "ref")
    assert got["status"] == "completed" and got["epochs_completed"] == EPOCHS
    assert_same_metrics(got["final_metrics"], want["final_metrics"])
    metrics = (out / MODEL / "k" / "metrics.csv").read_text()
    assert metrics == (ref_out / MODEL / "ref" / "metrics.csv").read_text()


def test_a_rank_killed_without_restarts_fails_naming_it_and_resumes_on_one_process(
    two: tuple[Path, Path], tmp_path: Path
) -> None:
    trainer, ref_out = two
    out, events = tmp_path / "runs", tmp_path / "events.jsonl"
    proc = popen(*run_args(trainer, out, "f", "--nproc-per-node", "2"), "--events", str(events))
    wait_for(events, proc, lambda e: e["event"] == "epoch" and e["epoch"] == 2)
    pids = next(e["rank_pids"] for e in read_events(events) if "rank_pids" in e)
    os.kill(pids[1], signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1
    message = f"rank 1 (pid {pids[1]}) was killed by SIGKILL; the run stopped (--max-restarts K restarts the group from its checkpoint)"
    assert err.splitlines()[-1] == f"arcgraph train: error: {message}"
    summary = summary_of(out, "f")
    assert summary["status"] == "failed" and summary["error"] == message
    assert summary["world_size"] == 2
    # the 2-process checkpoint resumes with 1 process, to the uninterrupted 2-process result
    resumed = train(trainer, IRIS, resume=out / MODEL / "f", verbose=False)
    assert resumed["status"] == "completed" and resumed["world_size"] == 1
    want = summary_of(ref_out, "ref")["final_metrics"]
    assert_same_metrics(resumed["final_metrics"], want)


def test_each_rank_validates_its_contiguous_share_of_the_rows() -> None:
    """Validation is sharded with World.shard (the loop's evaluate), its sums all-reduced: the
    shares tile the rows, none twice (summing whole-set evaluations would give the same means,
    so the 2-process metrics alone could not tell)."""
    assert [World(r, 4).shard(0, 30) for r in range(4)] == [(0, 7), (7, 15), (15, 22), (22, 30)]
    for n in (1, 7, 30, 31):
        for w in (1, 2, 3, 4):
            shares = [World(r, w).shard(0, n) for r in range(w)]
            rows = [i for lo, hi in shares for i in range(lo, hi)]
            assert rows == list(range(n)), (n, w)


def test_a_batch_size_the_processes_cannot_share_is_refused(tmp_path: Path) -> None:
    trainer = workspace(tmp_path, batch_size=33)
    proc = cli(*run_args(trainer, tmp_path / "runs", "x", "--nproc-per-node", "2"))
    assert proc.returncode == 1
    assert proc.stderr == (
        "arcgraph train: error: config.batch_size 33 is not divisible by the 2 processes; each"
        " process takes batch_size / 2 rows of a batch: use a multiple of 2\n"
    )
    assert not (tmp_path / "runs").exists()  # refused before anything started


def test_the_spec_world_size_contradicting_the_flags_is_refused(tmp_path: Path) -> None:
    trainer = workspace(tmp_path, distributed=True, world_size=4)
    proc = cli(*run_args(trainer, tmp_path / "runs", "x", "--nproc-per-node", "2"))
    assert proc.returncode == 1
    assert proc.stderr == (
        "arcgraph train: error: config.world_size is 4 but this run has 2 processes; make"
        " --nproc-per-node x --nnodes equal config.world_size, or remove it\n"
    )
    assert not (tmp_path / "runs").exists()


def test_torchrun_by_hand_is_the_same_run(tmp_path: Path) -> None:
    """`torchrun -m arcgraph train ...`: the environment (RANK, WORLD_SIZE) says distributed."""
    trainer = workspace(tmp_path, epochs=3)
    out = tmp_path / "runs"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "server"), env.get("PYTHONPATH")]))
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node"]
    proc = subprocess.run(
        [*torchrun, "2", "-m", "arcgraph", "train", *run_args(trainer, out, "hand")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    single = train(trainer, IRIS, out=tmp_path / "single", run_name="one", verbose=False)
    summary = summary_of(out, "hand")
    assert summary["world_size"] == 2
    assert_same_metrics(summary["final_metrics"], single["final_metrics"])


def test_ctrl_c_stops_every_rank_and_rank_0_checkpoints(two: tuple[Path, Path], tmp_path: Path):
    trainer, _ = two
    out, events = tmp_path / "runs", tmp_path / "events.jsonl"
    proc = popen(*run_args(trainer, out, "c", "--nproc-per-node", "2"), "--events", str(events))
    wait_for(events, proc, lambda e: e["event"] == "epoch" and e["epoch"] == 2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert err.splitlines()[-1] == "arcgraph train: stopped by SIGINT"
    summary = summary_of(out, "c")
    assert summary["status"] == "interrupted" and summary["world_size"] == 2
    assert Path(summary["checkpoint"]).is_file()
    # rank 0's interrupt checkpoint (mid-epoch unless the signal met an epoch's end) resumes
    # on one process, to the uninterrupted 2-process result
    resumed = train(trainer, IRIS, resume=out / MODEL / "c", verbose=False)
    assert resumed["status"] == "completed" and resumed["world_size"] == 1
    assert_same_metrics(resumed["final_metrics"], summary_of(two[1], "ref")["final_metrics"])


def test_a_one_process_mid_epoch_checkpoint_resumes_on_two(tmp_path: Path) -> None:
    """In-memory data, stopped after batch 5 of epoch 3 (SIGINT: a checkpoint after the step),
    resumed with --nproc-per-node 2: the run ends as the uninterrupted one-process run."""
    trainer = workspace(tmp_path, epochs=5, batch_size=8, log_every=1)
    whole = train(trainer, IRIS, out=tmp_path / "single", run_name="one", verbose=False)

    def interrupt(event: dict[str, Any]) -> None:
        if event["event"] == "step" and event.get("epoch") == 3 and event.get("batch") == 5:
            os.kill(os.getpid(), signal.SIGINT)

    out, events = tmp_path / "runs", tmp_path / "events.jsonl"
    with pytest.raises(TrainingInterrupted) as stopped:
        train(trainer, IRIS, out=out, run_name="m", events=interrupt, verbose=False)
    checkpoint = Path(str(stopped.value.checkpoint))
    assert checkpoint.name == "epoch-0003-batch-00005.pt"
    run = out / MODEL / "m"
    proc = cli(
        "--trainer", str(trainer), "--data", str(IRIS), "--resume", str(run), "--quiet",
        "--nproc-per-node", "2", "--events", str(events),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    start = next(e for e in read_events(events) if e["event"] == "start")
    assert start["resumed_from"] == str(checkpoint)
    summary = summary_of(out, "m")
    assert (summary["status"], summary["world_size"], summary["epochs_completed"]) == (
        "completed",
        2,
        5,
    )
    assert_same_metrics(summary["final_metrics"], whole["final_metrics"])
