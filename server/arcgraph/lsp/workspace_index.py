"""What the server knows of the workspace: the model registry, the torch catalog, the engine.

The registry is scanned in the background at `initialized` and kept current with the unsaved
text of open documents; until the scan is done the engine runs without one (no false
"unknown model_ref"). The catalog comes from the disk cache at once when it is there, else it
is built by the torch worker in the background. Torch is never imported in this process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from arcgraph.engine.catalog import Catalog
from arcgraph.engine.checks.context import CheckOptions
from arcgraph.engine.core import Engine
from arcgraph.engine.registry import Registry, workspace_root_for
from arcgraph.lsp.lanes import Lane
from arcgraph.lsp.settings import Settings

log = logging.getLogger(__name__)


class WorkspaceIndex:
    """Registry + catalog + engine, and the two background lanes that feed them."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.worker: Any = None
        self.registry: Registry | None = None  # receives overlays from the start
        self.registry_ready = threading.Event()
        self.catalog_ready = threading.Event()
        self._catalog: Catalog | None = None
        self._lock = threading.RLock()
        # One lane for the torch worker (catalog build, probes: they share one process),
        # one for the file system scan.
        self.torch_lane = Lane("arcgraph-torch")
        self.scan_lane = Lane("arcgraph-scan")
        self.engine = Engine(None, None, self._options())

    def _options(self) -> CheckOptions:
        settings = self.settings
        return CheckOptions(
            shape_check=settings.checks.shape,
            probes=settings.probes,
            spec=settings.spec,
            shape_summary=True,  # inlay hints, hovers, the graph view
        )

    def configure(self, settings: Settings) -> None:
        """Apply settings and create the torch worker (no process is started here)."""
        self.settings = settings
        self.engine.options = self._options()
        if settings.torch:
            from arcgraph.worker.client import TorchWorker

            self.worker = TorchWorker(
                interpreter=settings.interpreter, timeout=settings.torch_timeout
            )
        else:
            self.worker = None
        self.engine.torch = self.worker

    def reconfigure(self, settings: Settings) -> bool:
        """Apply changed settings. True when the torch side changed: a new worker (the old
        one is closed on the torch lane, after the work queued for it) and no catalog yet.
        Changed registry settings apply to the next scan."""
        old = self.settings
        if self.registry is not None and settings.registry_settings() != old.registry_settings():
            self.registry.settings = settings.registry_settings()
        if (settings.interpreter, settings.torch) == (old.interpreter, old.torch):
            self.settings = settings
            self.engine.options = self._options()
            if self.worker is not None and settings.torch_timeout != old.torch_timeout:
                self.worker.timeout = settings.torch_timeout
            return False
        previous = self.worker
        with self._lock:
            self.worker = None
            self._catalog = None
            self.engine.set_catalog(None)
            self.catalog_ready.clear()
        self.configure(settings)
        if previous is not None:
            self.torch_lane.submit(previous.close)
        return True

    # -- catalog ---------------------------------------------------------------------------
    @property
    def catalog(self) -> Catalog | None:
        return self._catalog

    def load_cached_catalog(self) -> bool:
        """The catalog from the disk cache (milliseconds; never starts a process)."""
        if self.worker is None:
            self.catalog_ready.set()
            return False
        try:
            cat = self.worker.catalog_if_cached()
        except Exception:  # a broken cache must not stop the server
            log.exception("reading the cached catalog failed")
            cat = None
        if cat is not None:
            self._set_catalog(cat)
            return True
        return False

    def build_catalog(self) -> bool:
        """Blocking: build the catalog through the worker (run it on the torch lane)."""
        if self.worker is None:
            self.catalog_ready.set()
            return False
        try:
            self.worker.env()  # find out (once) whether torch is there at all
            cat = self.worker.catalog()
        except Exception:
            log.exception("building the catalog failed")
            cat = None
        if cat is not None:
            self._set_catalog(cat)
        self.catalog_ready.set()
        return cat is not None

    def _set_catalog(self, cat: Catalog) -> None:
        with self._lock:
            self._catalog = cat
            self.engine.set_catalog(cat)
        self.catalog_ready.set()

    # -- registry --------------------------------------------------------------------------
    def start_registry(self, roots: Iterable[Path]) -> None:
        roots = [Path(r) for r in roots]
        with self._lock:
            if self.registry is None:
                self.registry = Registry(
                    roots, self.settings.registry_settings(), index_trainers=True
                )
            else:
                known = set(self.registry.roots)
                self.registry.roots += [r.resolve() for r in roots if r.resolve() not in known]

    def remove_roots(self, roots: Iterable[Path]) -> None:
        gone = {Path(r).resolve() for r in roots}
        with self._lock:
            if self.registry is not None:
                self.registry.roots = [r for r in self.registry.roots if r not in gone]

    def ensure_root_for(self, path: Path) -> bool:
        """A document outside every root (or no workspace folder): add its workspace root.
        True when a (re)scan is needed."""
        with self._lock:
            if self.registry is not None and self.registry.contains(path):
                return False
            self.start_registry([workspace_root_for(path)])
            return True

    def scan(self) -> Registry | None:
        """Blocking: scan the roots (run it on the scan lane); the engine uses it afterwards."""
        reg = self.registry
        if reg is None:
            return None
        try:
            reg.rescan()
        except Exception:
            log.exception("scanning the workspace failed")
        with self._lock:
            self.engine.registry = reg
        self.registry_ready.set()
        return reg

    def submit_scan(self) -> Future[Registry | None]:
        return self.scan_lane.submit(self.scan)

    def update_text(self, path: Path, text: str) -> None:
        if self.registry is not None:
            self.registry.update(path, text)

    def close_text(self, path: Path) -> None:
        if self.registry is not None:
            self.registry.close_overlay(path)

    def model_ids(self) -> list[str]:
        return self.registry.ids() if self.registry is not None else []

    def model_path(self, model_id: str) -> Path | None:
        return self.registry.path_of(model_id) if self.registry is not None else None

    def shutdown(self) -> None:
        self.torch_lane.shutdown(wait=False, cancel_futures=True)
        self.scan_lane.shutdown(wait=False, cancel_futures=True)
        if self.worker is not None:
            try:
                self.worker.close()
            except Exception:
                log.exception("closing the torch worker failed")
