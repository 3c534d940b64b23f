"""`arcgraph check` as CI runs it: a real subprocess, real files, real torch worker."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    e = dict(os.environ)
    e["ARCGRAPH_CACHE_DIR"] = str(tmp_path_factory.mktemp("cli-cache"))
    return e


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arcgraph", "check", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_examples_have_zero_diagnostics(env: dict[str, str]) -> None:
    res = run(["examples/"], REPO, env)
    n = len([p for p in EXAMPLES.rglob("*.y*ml")])
    assert res.stdout == f"0 errors, 0 warnings, 0 info in {n} files checked\n", res.stderr
    assert res.returncode == 0


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES / "models", tmp_path / "models")
    (tmp_path / "b.trainer.yaml").write_text(
        "model_ref: iris-classifier-v2\n"
        "optimizer:\n  type: torch.optim.SGD\n  lr: 0.01\n  params:\n    momentun: 0.9\n"
        "config:\n  epochs: 10.5\n  batch_size: 8\n  validation_split: 0.2\n  shuffle: true\n"
        "  checkpoint_every: 20\n"
    )
    (tmp_path / "a.trainer.yaml").write_text("model_ref: [\n")
    (tmp_path / "notes.yaml").write_text("anything: [1, 2\n")
    return tmp_path


def test_text_output_sorted_with_summary_and_exit_1(broken: Path, env: dict[str, str]) -> None:
    res = run(["."], broken, env)
    n = len(list(broken.rglob("*.y*ml")))  # every YAML file is read (notes.yaml too)
    assert res.stdout.splitlines() == [
        "a.trainer.yaml:2:1: error AG100 YAML syntax error: did not find expected node content",
        "b.trainer.yaml:1:12: error AG201 model_ref 'iris-classifier-v2' names no model in the workspace; "
        "did you mean 'iris-classifier-v1'?",
        "b.trainer.yaml:6:5: error AG211 unknown parameter 'momentun' for torch.optim.SGD; did you mean 'momentum'?",
        "b.trainer.yaml:8:11: error AG112 'config.epochs' must be a positive integer; got 10.5",
        f"4 errors, 0 warnings, 0 info in {n} files checked",
    ]
    assert res.returncode == 1


def test_json_output(broken: Path, env: dict[str, str]) -> None:
    res = run(["--format", "json", "b.trainer.yaml"], broken, env)
    data = json.loads(res.stdout)
    assert data[0] == {
        "path": "b.trainer.yaml",
        "line": 1,
        "column": 12,
        "end_line": 1,
        "end_column": 30,
        "severity": "error",
        "code": "AG201",
        "message": "model_ref 'iris-classifier-v2' names no model in the workspace; did you mean 'iris-classifier-v1'?",
        "fixes": [
            {
                "title": "Change to 'iris-classifier-v1'",
                "edits": [
                    {
                        "line": 1,
                        "column": 12,
                        "end_line": 1,
                        "end_column": 30,
                        "new_text": "iris-classifier-v1",
                    }
                ],
            }
        ],
    }
    assert [d["code"] for d in data] == ["AG201", "AG211", "AG112"]
    assert [f["title"] for f in data[1]["fixes"]] == ["Rename to 'momentum'", "Remove 'momentun'"]
    assert "fixes" not in data[2]  # AG112 offers none
    assert res.returncode == 1


def test_warnings_alone_exit_0(tmp_path: Path, env: dict[str, str]) -> None:
    shutil.copytree(EXAMPLES / "models", tmp_path / "models")
    text = (
        EXAMPLES / "trainers" / "minimal-fast.trainer.yaml"
    ).read_text() + "  checkpoint_every: 9\n"
    (tmp_path / "w.trainer.yaml").write_text(text)
    res = run(["w.trainer.yaml"], tmp_path, env)
    assert res.returncode == 0
    assert res.stdout.splitlines()[-1] == "0 errors, 1 warning, 0 info in 1 file checked"
    assert " warning AG222 " in res.stdout


def test_missing_path_is_a_usage_error(tmp_path: Path, env: dict[str, str]) -> None:
    res = run(["nope/"], tmp_path, env)
    assert res.returncode == 2
    assert res.stderr == "arcgraph check: nope: no such file or folder\n"


def test_without_torch_structure_checks_still_run(
    broken: Path, env: dict[str, str], tmp_path: Path
) -> None:
    # An interpreter without torch: a bare venv (no packages at all).
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    res = run(["--python", str(venv / "bin" / "python"), "b.trainer.yaml"], broken, env)
    lines = res.stdout.splitlines()
    assert lines[0] == (
        f"b.trainer.yaml:1:1: info AG400 torch checks are off: torch is not installed in "
        f"{venv / 'bin' / 'python'} (pip install torch); structure checks still run"
    )
    assert [ln.split()[2] for ln in lines[1:-1]] == ["AG201", "AG112"]


def test_checking_never_imports_torch_in_the_checker_process(env: dict[str, str]) -> None:
    """torch lives in the worker subprocess; the checker (and so the LSP) stays light."""
    code = (
        "import sys; from arcgraph.cli import main; rc = main(['check', 'examples/']); "
        "print('torch' in sys.modules, rc)"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert res.stdout.splitlines()[-1:] == ["False 0"], (res.returncode, res.stdout, res.stderr)
