"""The language server: construction, lifecycle, and `serve` for `arcgraph lsp`.

Each feature is a class in its own module with a `register(server)` method (esbonio's
features-as-classes); this module wires them up and owns the background lanes' callbacks.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from arcgraph.engine.datafiles import CSV_SUFFIXES, PARQUET_SUFFIXES
from arcgraph.lsp import convert, wire
from arcgraph.lsp.code_actions import CodeActionsFeature
from arcgraph.lsp.completion import CompletionFeature
from arcgraph.lsp.definition import DefinitionFeature
from arcgraph.lsp.diagnostics import DiagnosticsFeature
from arcgraph.lsp.document import OutlineCache
from arcgraph.lsp.feature import Feature, on
from arcgraph.lsp.file_watch import FileWatcher
from arcgraph.lsp.formatting import FormattingFeature
from arcgraph.lsp.hover import HoverFeature
from arcgraph.lsp.idle_gc import IdleCollector
from arcgraph.lsp.inlay_hints import InlayHintsFeature
from arcgraph.lsp.model_graph import ModelGraphFeature
from arcgraph.lsp.protocol import ArcGraphProtocol
from arcgraph.lsp.references import ReferencesFeature, RenameFeature
from arcgraph.lsp.scan_wait import ScanWait
from arcgraph.lsp.scheduler import Scheduler
from arcgraph.lsp.settings import Parsed, Settings, parse
from arcgraph.lsp.status import StatusFeature
from arcgraph.lsp.symbols import SymbolsFeature
from arcgraph.lsp.train import TrainFeature
from arcgraph.lsp.workspace_index import WorkspaceIndex
from arcgraph.version import __version__

log = logging.getLogger(__name__)

# How long a thread may hold the GIL while another waits (Python's default: 5 ms). A check
# runs on a lane thread for tens of milliseconds; each message pygls reads from stdin gives
# the GIL up and takes it back a few times, so with the default an edit sent meanwhile
# reaches the server 20-50 ms late, and a burst's last edit cancels the running check late.
SWITCH_INTERVAL_S = 0.001


class ArcGraphServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "arcgraph",
            __version__,
            protocol_cls=ArcGraphProtocol,
            converter_factory=wire.converter_factory,  # sends kept answers as they are
        )
        # told at initialize: the data tables the trainer reads, by format (the VS Code
        # extension's Train command searches the workspace for these; it has no list of its own)
        data_files = {"csv": list(CSV_SUFFIXES), "parquet": list(PARQUET_SUFFIXES)}
        cast(ArcGraphProtocol, self.protocol).experimental = {"arcgraph": {"dataFiles": data_files}}
        self.index = WorkspaceIndex()
        self.init_settings = Settings()  # from initializationOptions: what configuration overrides
        self.initialized_done = False
        self.file_watcher: FileWatcher | None = None  # for clients that cannot watch files
        self.idle_gc = IdleCollector()  # before the features register: their handlers touch it
        # all work run later, on lanes or as tasks goes through it (lsp/scheduler.py)
        self.scheduler = Scheduler(on_activity=self.idle_gc.touch)
        self.outlines = OutlineCache()  # this server's documents' outlines (lsp/document.py)
        # requests that read the whole workspace wait for its first scan (lsp/scan_wait.py)
        self.scan_wait = ScanWait(lambda: self.index.registry is not None, self._log_warning)
        self.diagnostics = DiagnosticsFeature(self)
        self.training = TrainFeature(self)
        self.features: list[Feature] = [
            self.training,
            self.diagnostics,
            HoverFeature(self),
            CompletionFeature(self),
            DefinitionFeature(self),
            SymbolsFeature(self),
            CodeActionsFeature(self),
            ReferencesFeature(self),
            RenameFeature(self),
            StatusFeature(self),
            InlayHintsFeature(self),
            FormattingFeature(self),
            ModelGraphFeature(self),
        ]
        for feature in self.features:
            feature.register(self)
        on(self, types.INITIALIZE, self._initialize)
        on(self, types.INITIALIZED, self._initialized)
        on(self, types.SHUTDOWN, self._shutdown)
        on(self, types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS, self._folders_changed)
        on(self, types.WORKSPACE_DID_CHANGE_CONFIGURATION, self._configuration_changed)

    # -- helpers for the features ----------------------------------------------------------
    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the server runs on (None before `initialize`)."""
        return self.scheduler.loop

    def open_uris(self) -> Iterator[str]:
        return iter(list(self.workspace.text_documents))

    def version_of(self, uri: str) -> int | None:
        doc = self.workspace.text_documents.get(uri)
        return None if doc is None else doc.version

    # -- lifecycle -------------------------------------------------------------------------
    def _initialize(self, params: types.InitializeParams) -> None:
        self.scheduler.bind(_running_loop())
        self.init_settings = self._take(parse(params.initialization_options))
        self.index.configure(self.init_settings)
        self.diagnostics.choose_model(params)  # pull or push, before capabilities are sent
        roots: list[Path] = []
        for folder in params.workspace_folders or []:
            p = convert.uri_to_path(folder.uri)
            if p is not None:
                roots.append(p)
        if not roots and params.root_uri:
            p = convert.uri_to_path(params.root_uri)
            if p is not None:
                roots.append(p)
        if not roots and params.root_path:
            roots.append(Path(params.root_path))
        if roots:
            self.index.start_registry(roots)

    def _initialized(self, params: types.InitializedParams) -> None:
        if not self.scheduler.running:
            self.scheduler.bind(_running_loop())
        self.initialized_done = True
        self._watch_files()
        if self._client_has_configuration() and self.scheduler.running:
            # the settings first (another interpreter, other registry folders), then start
            self.scheduler.spawn(self._configure_then_start())
        else:
            self._start()

    def _start(self) -> None:
        if self.index.registry is not None:
            self.start_scan()
        self._load_catalog()

    async def _configure_then_start(self) -> None:
        try:
            settings = await self._fetch_configuration()
            if settings is not None:
                self.index.reconfigure(settings)
        except Exception:
            log.exception("applying the client's configuration failed")
        self._start()

    def _client_has_configuration(self) -> bool:
        caps = self.client_capabilities.workspace
        return bool(caps is not None and caps.configuration)

    async def _fetch_configuration(self) -> Settings | None:
        """`workspace/configuration` for section `arcgraph`, over the initialization options."""
        params = types.ConfigurationParams(items=[types.ConfigurationItem(section="arcgraph")])
        try:
            result = await asyncio.wait_for(self.workspace_configuration_async(params), 10)
        except Exception as exc:
            log.warning("workspace/configuration failed: %s", exc)
            return None
        section = result[0] if isinstance(result, list | tuple) and result else None
        if section is None:  # nothing configured: the initialization options hold
            return self.init_settings
        return self._take(self.init_settings.merged({"arcgraph": section}))

    def _log_warning(self, message: str) -> None:
        self.window_log_message(
            types.LogMessageParams(type=types.MessageType.Warning, message=message)
        )

    def _take(self, parsed: Parsed) -> Settings:
        """The settings parsed, after telling the user what in them was ignored or old."""
        for problem in parsed.problems:
            self.window_log_message(
                types.LogMessageParams(type=types.MessageType.Warning, message=problem)
            )
        return parsed.settings

    def _load_catalog(self) -> None:
        """From the disk cache at once, else built by the worker in the background."""
        if not self.index.load_cached_catalog() and self.index.worker is not None:
            future = self.index.torch_lane.submit(self.index.build_catalog)
            self.scheduler.when_done(future, self._catalog_built)

    def _configuration_changed(self, params: types.DidChangeConfigurationParams) -> None:
        """Settings changed: with `workspace/configuration`, ask for section `arcgraph` (VS
        Code sends `settings: null` in that model); pushed `{"arcgraph": {...}}` applies as is."""
        settings = params.settings
        if isinstance(settings, dict) and "arcgraph" in settings:
            self.apply_settings(self._take(self.index.settings.merged(settings)))
        elif self._client_has_configuration() and self.scheduler.running:
            self.scheduler.spawn(self._pull_configuration())

    async def _pull_configuration(self) -> None:
        settings = await self._fetch_configuration()
        if settings is not None:
            self.apply_settings(settings)

    def apply_settings(self, new: Settings) -> None:
        """Without a restart: a new worker, registry folders/patterns, checks on or off."""
        registry_changed = new.registry_settings() != self.index.settings.registry_settings()
        if self.index.reconfigure(new):
            self._load_catalog()
        if registry_changed and self.initialized_done and self.index.registry is not None:
            self.start_scan()  # rechecks when done
        self.diagnostics.recheck()

    def _watch_files(self) -> None:
        """Ask the client to tell us about YAML files changed outside the editor; a client that
        cannot (no dynamic registration: Neovim on Linux, 0.7) gets the server's own watcher."""
        caps = self.client_capabilities.workspace
        watched = caps.did_change_watched_files if caps is not None else None
        if watched is None or not watched.dynamic_registration:
            self._watch_files_here()
            return
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern="**/*.{yaml,yml}")]
        )
        registration = types.Registration(
            id="arcgraph-watch-yaml",
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=options,
        )
        try:
            self.client_register_capability(types.RegistrationParams([registration]))
        except Exception:
            log.exception("registering the file watcher failed")

    def _watch_files_here(self) -> None:
        """Poll the registry's YAML files; changes take the `didChangeWatchedFiles` path."""

        def folders() -> tuple[list[Path], list[str]]:
            registry = self.index.registry
            if registry is None:
                return [], []
            return list(registry.roots), list(registry.settings.exclude)

        def changed(events: list[types.FileEvent]) -> None:
            params = types.DidChangeWatchedFilesParams(changes=events)
            self.scheduler.from_thread(self.diagnostics.did_change_watched_files, params)

        self.file_watcher = FileWatcher(folders, changed)
        self.file_watcher.start()

    def refresh_code_lenses(self) -> None:
        """`workspace/codeLens/refresh`, only to clients that advertised `refreshSupport` (the
        others answer "method not found", which Neovim logs as an error)."""
        caps = self.client_capabilities.workspace
        lens = caps.code_lens if caps is not None else None
        if lens is None or not lens.refresh_support:
            return
        try:
            self.workspace_code_lens_refresh(None)
        except Exception:
            log.exception("workspace/codeLens/refresh failed")

    def _catalog_built(self, future: Any) -> None:
        self.diagnostics.recheck()  # with the catalog, or with the torch-off info

    def start_scan(self) -> None:
        future = self.index.submit_scan()
        self.scheduler.when_done(future, self._scanned)

    def _scanned(self, future: Any) -> None:
        for uri in self.open_uris():  # the editors' unsaved text wins over the disk
            doc = self.workspace.text_documents.get(uri)
            path = convert.uri_to_path(uri)
            if doc is not None and path is not None:
                self.index.update_text(path, doc.source)
        self.scan_wait.scanned()
        self.diagnostics.recheck()

    def _folders_changed(self, params: types.DidChangeWorkspaceFoldersParams) -> None:
        added = [convert.uri_to_path(f.uri) for f in params.event.added]
        removed = {convert.uri_to_path(f.uri) for f in params.event.removed}
        self.index.remove_roots([p for p in removed if p is not None])
        self.index.start_registry([p for p in added if p is not None])
        if self.initialized_done:
            self.start_scan()

    def _shutdown(self, params: Any = None) -> None:
        if self.file_watcher is not None:
            self.file_watcher.stop()
        self.diagnostics.shutdown()
        self.index.shutdown()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def build_server() -> ArcGraphServer:
    return ArcGraphServer()


def serve(args: argparse.Namespace | None = None) -> int:
    """`arcgraph lsp [--tcp HOST:PORT]`: serve on stdio (or TCP for debugging)."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    server = build_server()
    server.idle_gc.install()
    tcp = getattr(args, "tcp", None) if args is not None else None
    try:
        if tcp:
            host, _, port = tcp.rpartition(":")
            try:
                port_no = int(port)
            except ValueError:
                print(f"arcgraph lsp: --tcp wants HOST:PORT, got {tcp!r}", file=sys.stderr)
                return 2
            server.start_tcp(host or "127.0.0.1", port_no)
        else:
            server.start_io()
    finally:
        server.index.shutdown()
    return 0
