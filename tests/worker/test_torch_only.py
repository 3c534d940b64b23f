"""The shape check with torch as the only third-party package (issue 9: the README promises the
editor's interpreter "needs only torch").

`arcgraph check` runs in a subprocess whose Python cannot import numpy or pyarrow: a folder put
first on PYTHONPATH holds `numpy` and `pyarrow` packages that raise ModuleNotFoundError, as a
missing package does. The worker it starts inherits that PYTHONPATH. `scripts/check-torch-only`
does the same in a real venv with only torch installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from arcgraph.worker.client import PACKAGE_PARENT

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
BLOCKED = ("numpy", "pyarrow")


@pytest.fixture(scope="module")
def torch_only_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose Python has torch but neither numpy nor pyarrow, and its own
    catalog cache (the catalog is built in it too, not borrowed from a full environment)."""
    root = tmp_path_factory.mktemp("torch-only")
    blocker = root / "blocker"
    for name in BLOCKED:
        (blocker / name).mkdir(parents=True)
        (blocker / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{name}'\", name={name!r})\n"
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(blocker), PACKAGE_PARENT])
    env["ARCGRAPH_CACHE_DIR"] = str(root / "cache")
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def _run(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_environment_has_torch_without_numpy_or_pyarrow(
    torch_only_env: dict[str, str], tmp_path: Path
) -> None:
    for name in BLOCKED:
        r = _run(torch_only_env, "-c", f"import {name}", cwd=tmp_path)
        assert r.returncode == 1
        assert f"ModuleNotFoundError: No module named '{name}'" in r.stderr
    r = _run(torch_only_env, "-c", "import torch; print(torch.ones(2).sum().item())", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (0, "2.0\n"), r.stderr


def test_examples_check_clean_with_torch_only(torch_only_env: dict[str, str]) -> None:
    """Every example model gets its shape check: no AG401 "model builder unavailable"."""
    r = _run(torch_only_env, "-m", "arcgraph", "check", "--format", "json", "examples", cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout) == []


def test_shape_error_found_with_torch_only(torch_only_env: dict[str, str], tmp_path: Path) -> None:
    """The worker's shape probe runs the model builder on `meta` and names the node."""
    model = (EXAMPLES / "models" / "iris-classifier-v1.model.yaml").read_text(encoding="utf-8")
    broken = model.replace(
        "{ in_features: 16, out_features: 3 }", "{ in_features: 32, out_features: 3 }"
    )
    assert broken != model
    (tmp_path / "iris-classifier-v1.model.yaml").write_text(broken, encoding="utf-8")
    r = _run(torch_only_env, "-m", "arcgraph", "check", "--format", "json", ".", cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert json.loads(r.stdout) == [
        {
            "path": "iris-classifier-v1.model.yaml",
            "line": 22,
            "column": 11,
            "end_line": 22,
            "end_column": 21,
            "severity": "error",
            "code": "AG314",
            "message": "shape check failed at node 'classifier': Linear in_features 32 but input "
            "has 16 features",
        }
    ]
