"""The extension's bundle (arcgraph next to a pure-Python PyYAML) uses the environment's
libyaml PyYAML when there is one, and its own copy otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PROBE = "import arcgraph, yaml; print(yaml.__file__); print(hasattr(yaml, 'CSafeLoader'))"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """arcgraph and PyYAML's Python files (no compiled extension), as the .vsix lays them out."""
    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("this environment's PyYAML has no libyaml")
    libs = tmp_path_factory.mktemp("bundled") / "libs"
    ignore = shutil.ignore_patterns("__pycache__", "_yaml*.so", "_yaml*.pyd")
    shutil.copytree(REPO / "server" / "arcgraph", libs / "arcgraph", ignore=ignore)
    shutil.copytree(Path(yaml.__file__).parent, libs / "yaml", ignore=ignore)
    return libs


def probe(libs: Path, *flags: str) -> tuple[str, str]:
    env = {**os.environ, "PYTHONPATH": str(libs)}
    out = subprocess.run(
        [sys.executable, *flags, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], out[1]


def test_bundle_prefers_the_environments_libyaml(bundle: Path) -> None:
    where, fast = probe(bundle)
    assert (Path(where).parent, fast) == (Path(yaml.__file__).parent, "True")


def test_bundle_keeps_its_own_yaml_when_the_environment_has_none(bundle: Path) -> None:
    where, fast = probe(bundle, "-S")  # -S: no site-packages, so no other PyYAML
    assert (Path(where).parent, fast) == (bundle / "yaml", "False")
