"""Session fixtures shared by the suites: one real torch worker and one catalog build."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from arcgraph.engine.catalog import Catalog
from arcgraph.worker.client import TorchWorker


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway catalog cache for the whole session (never the user's ~/.cache)."""
    return tmp_path_factory.mktemp("arcgraph-cache")


@pytest.fixture(scope="session")
def worker(cache_dir: Path) -> Iterator[TorchWorker]:
    pytest.importorskip("torch")
    w = TorchWorker(cache_dir=cache_dir)
    yield w
    w.close()


@pytest.fixture(scope="session")
def catalog(worker: TorchWorker) -> Catalog:
    cat = worker.catalog()
    assert cat is not None, worker.unavailable_reason or worker.last_error
    return cat
