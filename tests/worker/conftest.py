"""One real torch worker and one catalog build per test session, in a throwaway cache dir."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

if importlib.util.find_spec("arcgraph") is None:  # running from a checkout without install
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "server"))

from arcgraph.catalog import Catalog  # noqa: E402
from arcgraph.worker.client import TorchWorker  # noqa: E402

pytest.importorskip("torch")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("arcgraph-cache")


@pytest.fixture(scope="session")
def worker(cache_dir: Path) -> Iterator[TorchWorker]:
    w = TorchWorker(cache_dir=cache_dir)
    yield w
    w.close()


@pytest.fixture(scope="session")
def catalog(worker: TorchWorker) -> Catalog:
    cat = worker.catalog()
    assert cat is not None, worker.unavailable_reason or worker.last_error
    return cat
