"""Arc-Graph tools: one engine for checking, serving (LSP) and training Arc-Graph specs.

Importing this package never imports torch: torch lives in the worker subprocess and in the
trainer, so the checker and the language server stay fast to start.
"""

from __future__ import annotations

import os
from typing import Any

from arcgraph._libyaml import prefer_libyaml
from arcgraph.version import __version__

# Run before anything imports yaml: in the extension's bundle, use the environment's libyaml.
prefer_libyaml(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

__all__ = ["__version__", "train"]


def train(*args: Any, **kwargs: Any) -> Any:
    """Train a model spec with a trainer spec (see `arcgraph.training.api.train`)."""
    from arcgraph.training.api import train as _train

    return _train(*args, **kwargs)
