"""A data or spec path that is not a regular file says what it is (it was "not found"), a FIFO
never opened (reading one waits for a writer)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from arcgraph.training.data import fingerprint, read_table
from arcgraph.training.errors import DataError

from .conftest import IRIS, REPO, base_config, make_workspace


def test_a_folder_is_said_to_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        read_table(tmp_path)
    assert str(err.value) == f"data path {tmp_path} is a folder; give the CSV or Parquet file in it"


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        read_table(tmp_path / "no.csv")
    assert str(err.value) == f"data file not found: {tmp_path / 'no.csv'}"


def _error_of(fn: Callable[[], object], fifo: Path) -> str:
    """The DataError message of `fn()`, failing (not hanging) when it blocks on `fifo`: after
    a minute the FIFO gets a writer that closes at once, which ends the read."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as err:  # looked at in the test's thread
            errors.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    if thread.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"blocked reading the FIFO {fifo}")
    assert errors and isinstance(errors[0], DataError), errors
    return str(errors[0])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_train_on_a_fifo_is_one_error_line_without_reading_it(tmp_path: Path) -> None:
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)
    message = f"data path {fifo} is not a regular file (FIFO); give a CSV or Parquet file"
    assert _error_of(lambda: fingerprint(fifo), fifo) == message  # a resumed run's first read
    trainer = make_workspace(tmp_path, "iris-linear-v1", base_config(epochs=1, device="cpu"))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "server"), env.get("PYTHONPATH")]))
    proc = subprocess.run(  # a hang fails on the timeout
        [
            sys.executable,
            "-m",
            "arcgraph.training",
            "--trainer",
            str(trainer),
            "--data",
            str(fifo),
            "--out",
            str(tmp_path / "runs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == f"arcgraph train: error: {message}"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_trainer_spec_is_one_error_line_without_reading_it(tmp_path: Path) -> None:
    trainer = make_workspace(tmp_path, "iris-linear-v1", base_config(epochs=1, device="cpu"))
    trainer.unlink()
    os.mkfifo(trainer)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "server"), env.get("PYTHONPATH")]))
    proc = subprocess.run(  # a hang fails on the timeout
        [
            sys.executable,
            "-m",
            "arcgraph.training",
            "--trainer",
            str(trainer),
            "--data",
            str(IRIS),
            "--out",
            str(tmp_path / "runs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (
        f"arcgraph train: error: cannot read {trainer}: not a regular file (FIFO)"
    )
