"""Arc-Graph tools: one engine for checking, serving (LSP) and training Arc-Graph specs.

Importing this package never imports torch: torch lives in the worker subprocess and in the
trainer, so the checker and the language server stay fast to start.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "train"]


def train(*args: Any, **kwargs: Any) -> Any:
    """Train a model spec with a trainer spec (see `arcgraph.training.api.train`)."""
    from arcgraph.training.api import train as _train

    return _train(*args, **kwargs)
