"""Prefer an installed PyYAML built with libyaml over the extension's pure-Python copy.

The VS Code extension bundles arcgraph with its dependencies in one folder first on PYTHONPATH,
and drops compiled extensions so the bundle runs on any platform. Its PyYAML then has no
`CSafeLoader`, and composing a large spec takes several times longer. When the user's
environment has PyYAML with libyaml, import that one first (`sys.modules` then serves it to
everyone); everything else still comes from the bundle.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys

MIN_VERSION = (5, 1)  # CSafeLoader and the composer API used by `source`


def _has_extension(package_dir: str) -> bool:
    try:
        names = os.listdir(package_dir)
    except OSError:
        return False
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    return any(name.startswith("_yaml") and name.endswith(suffixes) for name in names)


def _package_dir(path: list[str]) -> str | None:
    spec = importlib.machinery.PathFinder.find_spec("yaml", path)
    if spec is None or not spec.submodule_search_locations:
        return None
    return next(iter(spec.submodule_search_locations))


def prefer_libyaml(bundle: str) -> bool:
    """If `yaml` would come from `bundle` without its C extension and another sys.path entry
    has a PyYAML with it, import that one now. -> whether it did."""
    if "yaml" in sys.modules:
        return False
    found = _package_dir(sys.path)
    if found is None or os.path.dirname(os.path.abspath(found)) != os.path.abspath(bundle):
        return False
    if _has_extension(found):
        return False
    rest = [p for p in sys.path if os.path.abspath(p or ".") != os.path.abspath(bundle)]
    other = _package_dir(rest)
    if other is None or not _has_extension(other):
        return False
    site = os.path.dirname(other)
    sys.path.insert(0, site)
    try:
        import yaml
    except ImportError:
        _forget_yaml()
        return False
    finally:
        sys.path.remove(site)
    version = tuple(int(p) for p in yaml.__version__.split(".")[:2] if p.isdigit())
    if version < MIN_VERSION or not hasattr(yaml, "CSafeLoader"):
        _forget_yaml()
        return False
    return True


def _forget_yaml() -> None:
    for name in [n for n in sys.modules if n == "yaml" or n.startswith("yaml.") or n == "_yaml"]:
        del sys.modules[name]
