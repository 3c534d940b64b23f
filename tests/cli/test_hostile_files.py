"""`arcgraph check` on hostile files: an alias bomb and files that are not regular files.

Each runs the real CLI in a subprocess, bounded (address space, time), so a regression fails
the test instead of taking the machine down or hanging the suite.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "examples" / "models" / "breast-cancer-mlp-v1.model.yaml"
ADDRESS_SPACE = 1 << 30  # the checker and its torch worker each stay under 1 GiB


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    e = dict(os.environ)
    e["ARCGRAPH_CACHE_DIR"] = str(tmp_path_factory.mktemp("hostile-cache"))
    return e


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    shutil.copy(MODEL, tmp_path / "models")
    return tmp_path


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def check(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arcgraph", "check", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_memory,
    )


def alias_bomb(levels: int = 9) -> str:
    """`[&a [x × 9], &b [*a × 9], …]`: nine nested anchors expand to 9**9 scalars."""
    names = "abcdefghi"[:levels]
    items = ["&a [" + ", ".join(["x"] * 9) + "]"]
    items += [f"&{n} [" + ", ".join([f"*{p}"] * 9) + "]" for p, n in pairwise(names)]
    return "[" + ", ".join(items) + "]"


def test_alias_bomb_in_optimizer_params_is_one_diagnostic_in_bounded_memory(
    ws: Path, env: dict[str, str]
) -> None:
    (ws / "bomb.trainer.yaml").write_text(
        "model_ref: breast-cancer-mlp-v1\n"
        "optimizer:\n  type: torch.optim.Adam\n  lr: 0.01\n  params:\n"
        f"    betas: {alias_bomb()}\n"
        "config:\n  epochs: 1\n  batch_size: 2\n  validation_split: 0.2\n  shuffle: true\n"
    )
    res = check(["bomb.trainer.yaml"], ws, env)
    col = (ws / "bomb.trainer.yaml").read_text().splitlines()[5].index("&f [*e") + 4
    bomb = [line for line in res.stdout.splitlines() if " AG107 " in line]
    assert bomb == [
        f"bomb.trainer.yaml:6:{col + 1}: error AG107 this alias '*e' would expand the document"
        " past 100,000 nodes (nested anchors multiply); it and any later ones like it are left"
        " out: write the values out, or nest fewer aliases"
    ], (res.returncode, res.stdout, res.stderr)
    assert res.stdout.endswith("in 1 file checked\n"), res.stdout + res.stderr
    assert res.returncode == 1


TRAINER = (
    "model_ref: {ref}\noptimizer:\n  type: torch.optim.Adam\n  lr: 0.01\n"
    "config:\n  epochs: 1\n  batch_size: 2\n  validation_split: 0.2\n  shuffle: true\n"
)
NO_TORCH = (
    "info AG400 torch checks are off: no torch worker is configured; structure checks still run"
)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_named_as_a_model_is_skipped_with_a_warning(ws: Path, env: dict[str, str]) -> None:
    os.mkfifo(ws / "models" / "piped-v1.model.yaml")
    res = check(["--no-torch", "models/piped-v1.model.yaml"], ws, env)
    assert res.stdout.splitlines() == [
        "models/piped-v1.model.yaml:1:1: warning AG108 not a regular file (FIFO); skipped",
        "0 errors, 1 warning, 0 info in 1 file checked",
    ]
    assert res.returncode == 0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_folder_walk_and_a_trainer_name_what_is_not_a_regular_file(
    ws: Path, env: dict[str, str]
) -> None:
    os.mkfifo(ws / "models" / "piped-v1.model.yaml")
    (ws / "notes").mkdir()
    os.mkfifo(ws / "notes" / "log.yaml")
    (ws / "old.model.yaml").mkdir()  # a folder named like a spec: reported, not walked
    (ws / "old.model.yaml" / "inner.yaml").write_text("a: [1\n")
    (ws / "t.trainer.yaml").write_text(TRAINER.format(ref="piped-v1"))
    res = check(["--no-torch", "."], ws, env)
    assert res.stdout.splitlines() == [
        f"models/breast-cancer-mlp-v1.model.yaml:1:1: {NO_TORCH}",
        "models/piped-v1.model.yaml:1:1: warning AG108 not a regular file (FIFO); skipped",
        "notes/log.yaml:1:1: warning AG108 not a regular file (FIFO); skipped",
        "old.model.yaml:1:1: warning AG108 not a regular file (folder); skipped",
        f"t.trainer.yaml:1:1: {NO_TORCH}",
        "t.trainer.yaml:1:12: error AG201 model_ref 'piped-v1' names "
        "models/piped-v1.model.yaml, which is not a regular file (FIFO); it is skipped, never "
        "read: make it a YAML file",
        "1 error, 3 warnings, 2 info in 5 files checked",
    ]
    assert res.returncode == 1
