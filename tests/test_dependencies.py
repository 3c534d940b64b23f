"""Declared dependencies match the imports, and the .vsix bundle carries exactly them.

A runtime dependency nothing imports (ruamel.yaml was one) costs every install and the bundle;
an import nothing declares works only by accident of another package's requirements.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "server" / "arcgraph"
BUNDLE_SCRIPT = ROOT / "client" / "scripts" / "bundle-python.mjs"
# The parts that run in the user's torch interpreter (the `train` extra), not the server's.
TORCH_SIDE = ("builder", "training", "worker")
# What pip needs for Python 3.10 only (the bundle is resolved for 3.10, not the running one).
BUNDLE_ONLY = {"exceptiongroup", "typing_extensions"}
IMPORT_NAMES = {
    "pyyaml": "yaml",
    "ruamel.yaml": "ruamel",
}  # distribution -> top-level module, where they differ


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _dist(requirement: str) -> str:
    name = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert name, requirement
    return name.group(0).lower().replace("-", "_")


def _module(dist: str) -> str:
    return IMPORT_NAMES.get(dist, dist.replace(".", "_"))


def _third_party_imports(part: str | None = None) -> dict[str, set[str]]:
    """Top-level third-party modules imported (anywhere, lazily too) -> the files importing."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if part == "server" and rel.parts[0] in TORCH_SIDE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "arcgraph" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(rel))
    return found


def test_every_runtime_dependency_is_imported() -> None:
    imported = _third_party_imports()
    unused = [d for d in map(_dist, _project()["dependencies"]) if _module(d) not in imported]
    assert unused == []


def test_server_imports_only_runtime_dependencies() -> None:
    declared = {_module(_dist(r)) for r in _project()["dependencies"]}
    undeclared = {m: f for m, f in _third_party_imports("server").items() if m not in declared}
    assert undeclared == {}


def test_torch_side_imports_only_runtime_and_train_dependencies() -> None:
    project = _project()
    declared = {_module(_dist(r)) for r in project["dependencies"]}
    declared |= {_module(_dist(r)) for r in project["optional-dependencies"]["train"]}
    undeclared = {m: f for m, f in _third_party_imports().items() if m not in declared}
    assert undeclared == {}


def test_bundle_carries_the_runtime_dependencies() -> None:
    text = BUNDLE_SCRIPT.read_text(encoding="utf-8")
    listed = re.search(r"const DEPENDENCIES = \[(.*?)\];", text)
    assert listed, "bundle-python.mjs has no DEPENDENCIES list"
    bundled = [_dist(r) for r in re.findall(r"'([^']+)'", listed.group(1))]
    assert len(bundled) == len(set(bundled))
    assert set(bundled) == {_dist(r) for r in _project()["dependencies"]} | BUNDLE_ONLY
