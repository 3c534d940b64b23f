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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from arcgraph.engine.catalog import Catalog
from arcgraph.engine.checks.context import CheckOptions
from arcgraph.engine.core import Engine
from arcgraph.engine.registry import Registry, RegistrySettings, workspace_root_for
from arcgraph.lsp.lanes import Lane

log = logging.getLogger(__name__)


@dataclass
class Settings:
    """From `initializationOptions`, then `workspace/didChangeConfiguration` (all optional).

    Both may nest the keys under `arcgraph`. Keys: `python` (or `interpreter`; empty: the
    server's own), `torch`, `probes`, `shapeCheck` (or `checks.shape`), `torchTimeout`
    (seconds one torch request may take before the worker is stopped and restarted; default
    20), `registry.folders` (relative to each workspace folder) and `registry.include` (file
    name patterns like `*.yaml`, or path globs like `**/*.model.yaml`: the registry matches
    both).
    `pullDiagnostics: false` (initialization options only) keeps push diagnostics for a
    client that offers pull. Clients with `workspace/configuration` are asked for section
    `arcgraph` at `initialized` and on every `didChangeConfiguration`; their answer is merged
    over the initialization options."""

    python: str | None = None  # the interpreter with torch (default: the server's own)
    torch: bool = True  # False: structure checks only, no worker
    probes: bool = True  # ask torch to construct the optimizer / run the shape check
    shape_check: bool = True
    torch_timeout: float = 20.0
    registry_folders: tuple[str, ...] = ()
    registry_include: tuple[str, ...] = ()

    @classmethod
    def from_options(cls, options: Any) -> Settings:
        return cls().merged(options)

    def merged(self, options: Any) -> Settings:
        """These settings with the keys present in `options` applied (others unchanged)."""
        if not isinstance(options, dict):
            return self
        opts = options.get("arcgraph", options)
        if not isinstance(opts, dict):
            return self
        out = replace(self)
        for key in ("python", "interpreter"):
            value = opts.get(key)
            if isinstance(value, str) and value:
                out.python = value
                break
        for key, attr in (("torch", "torch"), ("probes", "probes"), ("shapeCheck", "shape_check")):
            if isinstance(opts.get(key), bool):
                setattr(out, attr, opts[key])
        timeout = opts.get("torchTimeout")
        if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
            out.torch_timeout = float(timeout)
        checks = opts.get("checks")
        if isinstance(checks, dict) and isinstance(checks.get("shape"), bool):
            out.shape_check = checks["shape"]
        registry = opts.get("registry")
        if isinstance(registry, dict):
            folders = registry.get("folders")
            if isinstance(folders, list):
                out.registry_folders = tuple(f for f in folders if isinstance(f, str) and f)
            include = registry.get("include")
            if isinstance(include, list):
                out.registry_include = tuple(p for p in include if isinstance(p, str) and p)
        return out

    def registry_settings(self) -> RegistrySettings:
        rs = RegistrySettings()
        if self.registry_folders:
            rs.folders = list(self.registry_folders)
        if self.registry_include:
            rs.include = list(self.registry_include)
        return rs


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
        return CheckOptions(shape_check=self.settings.shape_check, probes=self.settings.probes)

    def configure(self, settings: Settings) -> None:
        """Apply settings and create the torch worker (no process is started here)."""
        self.settings = settings
        self.engine.options = self._options()
        if settings.torch:
            from arcgraph.worker.client import TorchWorker

            self.worker = TorchWorker(interpreter=settings.python, timeout=settings.torch_timeout)
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
        if (settings.python, settings.torch) == (old.python, old.torch):
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
