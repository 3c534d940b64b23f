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
    items += [
        f"&{n} [" + ", ".join([f"*{p}"] * 9) + "]" for p, n in zip(names, names[1:], strict=False)
    ]
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
    ], res.stdout + res.stderr
    assert res.stdout.endswith("in 1 file checked\n"), res.stdout + res.stderr
    assert res.returncode == 1
