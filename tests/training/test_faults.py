"""Hostile input and faults end in one `arcgraph train: error:` line and exit status 1: a run
directory in use, a killed write's temp file, bad data, and --out on a read-only file system,
a full disk or a file. Real subprocesses and real (tmpfs) file systems; a test that cannot
mount a tmpfs here is skipped and says why."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from arcgraph.training import train
from arcgraph.training.errors import OutputError
from arcgraph.training.runlock import LOCK_FILE

from .conftest import BREAST_CANCER, FIXTURES, IRIS, REPO, base_config, make_workspace
from .test_resume import read_events, wait_for

IRIS_MODEL = "iris-linear-v1"


def popen(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "server"), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "arcgraph.training", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = popen(*args)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The run failed with exit status 1 and exactly one error line (no traceback)."""
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("arcgraph train: error: ")
    return lines[0].removeprefix("arcgraph train: error: ")


def iris_trainer(root: Path, **config: Any) -> Path:
    return make_workspace(root, IRIS_MODEL, base_config(**config))


# -- file systems -------------------------------------------------------------------------


@pytest.fixture
def tmpfs() -> Iterator[Callable[..., Path]]:
    """mount(path, size) -> a fresh tmpfs at `path`, unmounted after the test."""
    mounted: list[Path] = []

    def mount(path: Path, size: str = "4m") -> Path:
        path.mkdir(parents=True)
        try:
            proc = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                capture_output=True,
                text=True,
                timeout=60,
            )
        except FileNotFoundError:
            pytest.skip("no `mount` command here")
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {proc.stderr.strip()}")
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], check=False, timeout=60)


def remount_read_only(path: Path) -> None:
    proc = subprocess.run(
        ["mount", "-o", "remount,ro", str(path)], capture_output=True, text=True, timeout=60
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot remount a tmpfs read-only here: {proc.stderr.strip()}")


def fill(filler: Path, leave: int = 0) -> None:
    """Write `filler` until its file system is full, then give `leave` bytes back."""
    chunk = bytes(1 << 16)
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(chunk)
        except OSError as err:
            assert err.errno == errno.ENOSPC
    if leave:
        os.truncate(filler, filler.stat().st_size - leave)


# -- --out, --name ------------------------------------------------------------------------


def test_out_that_is_a_file(tmp_path: Path) -> None:
    trainer = iris_trainer(tmp_path)
    (tmp_path / "taken").write_text("not a folder")
    proc = cli("--trainer", str(trainer), "--data", str(IRIS), "--out", str(tmp_path / "taken"))
    assert one_error_line(proc) == (
        f"cannot write {tmp_path / 'taken'}: it is a file, not a folder; choose a folder for --out"
    )
    out = tmp_path / "taken" / "runs"
    proc = cli("--trainer", str(trainer), "--data", str(IRIS), "--out", str(out))
    assert one_error_line(proc) == (
        f"cannot write {out}: {tmp_path / 'taken'} is a file, not a folder; "
        "choose a folder for --out"
    )


def test_name_of_an_existing_run_is_refused_and_the_run_left_alone(tmp_path: Path) -> None:
    trainer = iris_trainer(tmp_path, epochs=1)
    args = ("--trainer", str(trainer), "--data", str(IRIS), "--out", str(tmp_path / "runs"))
    assert cli(*args, "--name", "r").returncode == 0
    run = tmp_path / "runs" / IRIS_MODEL / "r"
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    proc = cli(*args, "--name", "r")
    assert one_error_line(proc) == (
        f"run directory {run} already exists (use --resume to continue it)"
    )
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before
    assert sorted(p.name for p in run.parent.iterdir()) == ["r"]  # no 'r-2' either


def test_read_only_out(tmp_path: Path, tmpfs: Callable[..., Path]) -> None:
    disk = tmpfs(tmp_path / "disk")
    remount_read_only(disk)
    trainer = iris_trainer(tmp_path / "ws")
    out = disk / "runs"
    proc = cli("--trainer", str(trainer), "--data", str(IRIS), "--out", str(out))
    assert one_error_line(proc) == (
        f"cannot write {out}: the file system is read-only; choose another --out"
    )


def test_resume_on_a_read_only_file_system(tmp_path: Path, tmpfs: Callable[..., Path]) -> None:
    disk = tmpfs(tmp_path / "disk")
    trainer = iris_trainer(tmp_path / "ws", epochs=1)
    args = ("--trainer", str(trainer), "--data", str(IRIS))
    assert cli(*args, "--out", str(disk / "runs"), "--name", "r").returncode == 0
    remount_read_only(disk)
    run = disk / "runs" / IRIS_MODEL / "r"
    proc = cli(*args, "--resume", str(run))
    assert one_error_line(proc) == f"cannot write {run / LOCK_FILE}: the file system is read-only"


def test_full_disk_before_the_first_file(tmp_path: Path, tmpfs: Callable[..., Path]) -> None:
    disk = tmpfs(tmp_path / "disk", "1m")
    fill(disk / "filler")
    trainer = iris_trainer(tmp_path / "ws")
    out = disk / "runs"
    proc = cli("--trainer", str(trainer), "--data", str(IRIS), "--out", str(out), "--name", "r")
    run = out / IRIS_MODEL / "r"
    assert one_error_line(proc) == (
        f"cannot write {run / 'model.yaml'}: no space left on the device; "
        "free some space (then continue with --resume)"
    )
    assert sorted(p.name for p in run.iterdir()) == ["checkpoints", LOCK_FILE]


def test_full_disk_mid_run_writes_a_failed_summary_and_keeps_the_last_checkpoint(
    tmp_path: Path, tmpfs: Callable[..., Path]
) -> None:
    """After epoch 1 the disk fills up leaving two pages: epoch 2's checkpoint cannot be
    written, the small summary.json still can. Freed again, --resume finishes the run."""
    disk = tmpfs(tmp_path / "disk", "4m")
    filler = disk / "filler"
    trainer = make_workspace(tmp_path / "ws", "bc-mlp-v1", base_config(epochs=3))

    def fill_after_epoch_1(event: dict[str, Any]) -> None:
        if event["event"] == "epoch" and event["epoch"] == 1:
            fill(filler, leave=8192)

    with pytest.raises(OutputError) as info:
        train(
            trainer,
            BREAST_CANCER,
            out=disk / "runs",
            run_name="r",
            events=fill_after_epoch_1,
            verbose=False,
        )
    run = disk / "runs" / "bc-mlp-v1" / "r"
    first = run / "checkpoints" / "epoch-0001.pt"
    assert str(info.value) == (
        f"cannot write {run / 'checkpoints' / 'epoch-0002.pt'}: no space left on the device; "
        "free some space (then continue with --resume)"
    )
    summary = json.loads((run / "summary.json").read_text())
    assert (summary["status"], summary["error"], summary["checkpoint"]) == (
        "failed",
        str(info.value),
        str(first),
    )
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["epoch-0001.pt"]

    filler.unlink()
    summary = train(trainer, BREAST_CANCER, resume=run, verbose=False)
    assert (summary["status"], summary["epochs_completed"]) == ("completed", 3)


# -- data ---------------------------------------------------------------------------------


def test_class_index_out_of_range_for_cross_entropy(tmp_path: Path) -> None:
    """torch stopped at the batch holding it: `IndexError: Target 1000 is out of bounds`."""
    lines = IRIS.read_text().splitlines()
    codes = {"setosa": "0", "versicolor": "1", "virginica": "2"}
    rows = [lines[0]]
    for i, line in enumerate(lines[1:], start=1):
        cells = line.split(",")
        cells[-1] = "1000" if i == 8 else codes[cells[-1]]
        rows.append(",".join(cells))
    data = tmp_path / "iris_codes.csv"
    data.write_text("\n".join(rows) + "\n")
    trainer = iris_trainer(tmp_path)
    proc = cli("--trainer", str(trainer), "--data", str(data), "--out", str(tmp_path / "runs"))
    assert one_error_line(proc) == (
        "column 'species': class index 1000 in row 8 (line 9) is out of range: output 'logits' "
        "gives 3 classes, so the indices go from 0 to 2"
    )
    assert not (tmp_path / "runs").exists()  # refused before a run directory was made


def test_more_labels_than_the_model_has_classes(tmp_path: Path) -> None:
    text = (FIXTURES / "models" / f"{IRIS_MODEL}.model.yaml").read_text()
    model = text.replace("out_features: 3", "out_features: 2")
    trainer = make_workspace(tmp_path, IRIS_MODEL, base_config(), model_text=model)
    proc = cli("--trainer", str(trainer), "--data", str(IRIS), "--out", str(tmp_path / "runs"))
    assert one_error_line(proc) == (
        "column 'species' has 3 classes but output 'logits' gives 2: label 'virginica' in "
        "row 101 (line 102) is class 2; make the model's last layer produce 3 values"
    )


def test_header_with_invalid_utf8(tmp_path: Path) -> None:
    data = tmp_path / "iris.csv"
    data.write_bytes(IRIS.read_bytes().replace(b"sepal_width", b"sepal_\xffwidth", 1))
    trainer = iris_trainer(tmp_path)
    proc = cli("--trainer", str(trainer), "--data", str(data), "--out", str(tmp_path / "runs"))
    assert one_error_line(proc) == (
        "iris.csv: line 1 (the header), column 2 name 'sepal_\ufffdwidth' is not valid UTF-8 "
        "(byte 0xff at position 7); save the file as UTF-8"
    )


def test_1e300_in_a_float32_column_is_refused_before_training(tmp_path: Path) -> None:
    """It became inf in the cast and training failed later as 'non-finite loss'."""
    lines = IRIS.read_text().splitlines()
    cells = lines[10].split(",")
    cells[1] = "1e300"
    lines[10] = ",".join(cells)
    data = tmp_path / "iris.csv"
    data.write_text("\n".join(lines) + "\n")
    trainer = iris_trainer(tmp_path)
    proc = cli("--trainer", str(trainer), "--data", str(data), "--out", str(tmp_path / "runs"))
    assert one_error_line(proc) == (
        "column 'sepal_width': 1e+300 in row 10 (line 11) does not fit in float32 "
        "(at most 3.40282e+38 in magnitude); rescale the column or declare input 'features' "
        "as dtype float64"
    )
    assert not (tmp_path / "runs").exists()


# -- one process per run directory ----------------------------------------------------------

LONG = base_config(epochs=500, batch_size=8, log_every=1, seed=21)


def test_a_run_directory_in_use_is_refused(tmp_path: Path) -> None:
    """A trains in runs/.../r and is held (SIGSTOP) while it holds the lock: a resume of r and
    a new run named r are refused. Once A has ended (SIGTERM: checkpoint, exit), r resumes."""
    trainer = make_workspace(tmp_path, "bc-mlp-v1", LONG)
    out = tmp_path / "runs"
    events = tmp_path / "a.jsonl"
    common = ("--trainer", str(trainer), "--data", str(BREAST_CANCER))
    first = popen(*common, "--out", str(out), "--name", "r", "--events", str(events))
    try:
        wait_for(events, first, lambda e: e["event"] == "step")
        first.send_signal(signal.SIGSTOP)
        assert first.poll() is None
        run = out / "bc-mlp-v1" / "r"
        resumed = cli(*common, "--resume", str(run))
        assert one_error_line(resumed) == (
            f"run directory {run} is in use by process {first.pid}; wait for that training "
            "to end (or stop it) before resuming it"
        )
        again = cli(*common, "--out", str(out), "--name", "r")
        assert one_error_line(again) == (
            f"run directory {run} already exists (use --resume to continue it)"
        )
        assert sorted(p.name for p in run.parent.iterdir()) == ["r"]
    finally:
        first.send_signal(signal.SIGTERM)
        first.send_signal(signal.SIGCONT)
    first.communicate(timeout=120)
    assert first.returncode == 128 + signal.SIGTERM
    resumed = popen(*common, "--resume", str(run), "--events", str(events))
    wait_for(events, resumed, lambda e: e["event"] == "start" and e["resumed_from"])
    resumed.send_signal(signal.SIGTERM)
    resumed.communicate(timeout=120)
    assert resumed.returncode == 128 + signal.SIGTERM


def test_sigkill_mid_write_leaves_a_temp_file_that_resume_removes(tmp_path: Path) -> None:
    """A kill while a checkpoint is being written leaves `.epoch-NNNN.pt.XXXXXXXX.tmp`; the
    kernel drops the dead process's lock, and --resume deletes the temp file and goes on."""
    text = (FIXTURES / "models" / "bc-mlp-v1.model.yaml").read_text()
    wide = text.replace("out_features: 16", "out_features: 8192").replace(
        "in_features: 16", "in_features: 8192"
    )
    trainer = make_workspace(
        tmp_path, "bc-mlp-v1", base_config(epochs=15, batch_size=64), model_text=wide
    )
    out = tmp_path / "runs"
    run = out / "bc-mlp-v1" / "r"
    common = ("--trainer", str(trainer), "--data", str(BREAST_CANCER))
    proc = popen(*common, "--out", str(out), "--name", "r")
    temp: list[Path] = []
    try:
        while not temp:  # catch the process with a checkpoint's temp file on disk
            assert proc.poll() is None, proc.communicate()
            found = [p for p in _entries(run / "checkpoints") if p.name.endswith(".tmp")]
            if not found:
                continue
            proc.send_signal(signal.SIGSTOP)
            temp = [p for p in found if p.exists()]
            if not temp:  # the write had just finished: let it go on to the next one
                proc.send_signal(signal.SIGCONT)
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert temp[0].name.startswith(".epoch-") and temp[0].exists()
    events = tmp_path / "resume.jsonl"
    resumed = cli(*common, "--resume", str(run), "--events", str(events))
    assert resumed.returncode == 0, resumed.stderr
    infos = [e["message"] for e in read_events(events) if e["event"] == "info"]
    assert infos[0] == (
        f"removed 1 temp file(s) of an interrupted write: checkpoints/{temp[0].name}"
    )
    assert not [p for p in _entries(run) + _entries(run / "checkpoints") if p.suffix == ".tmp"]
    assert json.loads((run / "summary.json").read_text())["epochs_completed"] == 15


def _entries(directory: Path) -> list[Path]:
    try:
        return list(directory.iterdir())
    except FileNotFoundError:
        return []
