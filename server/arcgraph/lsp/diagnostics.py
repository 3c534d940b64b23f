"""Diagnostics in two stages, each published with the document's version.

Stage 1 (structure: YAML, schema, references, registry, and the catalog once loaded) runs on
its own lane (a thread) as soon as a document opens or changes, no fixed delay; a pull
answers from it or runs it on the event loop. Stage 2
(the torch-off info, the worker's probes) runs on the torch lane and is published only while
its document is still at the same version and no newer check was started for it; a newer
edit supersedes stale work, before it starts and again before it is published.

Edits are coalesced: `didChange` only schedules a check with `loop.call_soon`; the scheduled
check reads the current text and is skipped when that version was already checked. pygls
reads stdin on a thread, one message per loop turn, so that alone still checks every edit of
a burst: the check therefore runs on the check lane, one per document at a time, and edits
that arrive meanwhile only mark it dirty; when it ends, a dirty or outdated result is dropped
and one check of the newest text runs. The running check itself asks, between its phases
(parse, schema, model checks), whether its text is still current, and gives up if not; so a
burst costs about one check after the last edit, not one and a half.

Stage 2 waits until the document has been left alone for `PROBE_IDLE_S` (a shape probe costs
the worker a few hundred milliseconds of CPU on a large model, and a newer edit makes it
stale anyway): while the user types, only stage 1 runs; after the last edit of a burst the
torch stage runs once, for that version. The worker runs at a lower CPU priority, so a probe
still in flight yields the CPU to the next structure check.

One delivery model per client, never both (VS Code would show push and pull results twice):
- pull (`textDocument/diagnostic`) when the client offers it (`textDocument.diagnostic`) with
  `workspace.diagnostics.refreshSupport`, and `pullDiagnostics` is not false in the
  initialization options: the server registers
  `DiagnosticOptions(identifier="arcgraph", inter_file_dependencies=True)` and answers with a
  full report (the structure check of the current version plus the torch stage's last result
  for that version); `resultId` is `<version>#<n>`. When results change without an edit of
  the document (the torch stage finished, the registry scan or the catalog arrived, a model
  changed on disk), it asks the client to pull again with `workspace/diagnostic/refresh`.
- push (`textDocument/publishDiagnostics` with the version) for every other client, including
  those that offer pull without refresh (Neovim 0.10/0.11). Such a client pulls on open and
  on edits only, so a result that changes later never reached it: its first pull came before
  the registry and the catalog were loaded. Holding that first pull until they are would
  fix the start, but not a model created on disk or a probe finishing later; pushing
  delivers every change, and every client handles pushed diagnostics.
"""

from __future__ import annotations

import hashlib
import logging
import math
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lsprotocol import types

from arcgraph.engine.codes import TORCH_WORKER_FAILED
from arcgraph.engine.core import Analysis, Cancelled
from arcgraph.engine.diagnostics import Diagnostic
from arcgraph.engine.kinds import SpecKind, detect_kind
from arcgraph.lsp import convert
from arcgraph.lsp.document import DocumentView, view_of
from arcgraph.lsp.feature import on
from arcgraph.lsp.lanes import Lane

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer

log = logging.getLogger(__name__)

# Seconds without an edit (or open) of a document before its probes start.
PROBE_IDLE_S = 0.3
_LATER = object()  # the torch stage's answer: probes wanted, but the document is not idle


@dataclass
class _Job:
    uri: str
    generation: int
    version: int | None
    key: str = ""  # what the torch stage's answer depends on (see `_torch_key`)


@dataclass
class _Result:
    """The last check of a document: what a pull answers while it is at this version."""

    version: int | None
    items: list[types.Diagnostic]
    result_id: str


class DiagnosticsFeature:
    def __init__(self, server: ArcGraphServer) -> None:
        self.server = server
        self.generation: dict[str, int] = {}  # uri -> the newest check started
        self.kinds: dict[str, SpecKind] = {}  # uri -> the kind at the last check
        self.checked: dict[str, int | None] = {}  # uri -> the version last checked
        self.scheduled: set[str] = set()  # uris with a check waiting on the event loop
        self.results: dict[str, _Result] = {}  # pull mode: the answer per document
        self.pull = False  # chosen at initialize (see `choose_model`)
        self.running: set[str] = set()  # uris with a structure check on the check lane
        self.dirty: dict[str, bool] = {}  # uri -> asked again while running (edited?)
        self.check_lane = Lane("arcgraph-check")
        # uri -> (key, extra): the torch stage's last answer, reused by a re-check of the
        # same text with the same structure result, worker and options (no second probe)
        self.torch_results: dict[str, tuple[str, list[Diagnostic]]] = {}
        self.last_edit: dict[str, float] = {}  # uri -> loop time of its last open or change
        self._seq = 0

    def choose_model(self, params: types.InitializeParams) -> None:
        """Pull when the client offers it with refresh (unless `pullDiagnostics: false`), else
        push: without refresh a pulling client never hears of later results (module doc)."""
        caps = params.capabilities.text_document
        workspace = params.capabilities.workspace
        diags = workspace.diagnostics if workspace is not None else None
        refresh = diags is not None and bool(diags.refresh_support)
        offered = caps is not None and caps.diagnostic is not None and refresh
        opts = params.initialization_options
        if isinstance(opts, dict):
            opts = opts.get("arcgraph", opts)
        refused = isinstance(opts, dict) and opts.get("pullDiagnostics") is False
        self.pull = offered and not refused
        if self.pull:
            on(
                self.server,
                types.TEXT_DOCUMENT_DIAGNOSTIC,
                self.diagnostic,
                types.DiagnosticOptions(
                    identifier="arcgraph",
                    inter_file_dependencies=True,
                    workspace_diagnostics=False,
                ),
            )

    def register(self, server: ArcGraphServer) -> None:
        on(server, types.TEXT_DOCUMENT_DID_OPEN, self.did_open)
        on(server, types.TEXT_DOCUMENT_DID_CHANGE, self.did_change)
        on(server, types.TEXT_DOCUMENT_DID_CLOSE, self.did_close)
        on(server, types.WORKSPACE_DID_CHANGE_WATCHED_FILES, self.did_change_watched_files)

    # -- notifications ---------------------------------------------------------------------
    def did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        self._touched(params.text_document.uri)
        self.checked.pop(params.text_document.uri, None)
        self._edited(params.text_document.uri)

    def did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        """Cheap: the check runs once the burst of changes already received is applied."""
        self._touched(params.text_document.uri)
        self.schedule(params.text_document.uri)

    def _touched(self, uri: str) -> None:
        loop = self.server.loop
        if loop is not None and not loop.is_closed():
            self.last_edit[uri] = loop.time()

    def schedule(self, uri: str) -> None:
        if uri in self.scheduled:
            return
        loop = self.server.loop
        if loop is None or loop.is_closed():
            self._run_scheduled(uri)
            return
        self.scheduled.add(uri)
        loop.call_soon(self.server._guarded, self._run_scheduled, (uri,))

    def _run_scheduled(self, uri: str) -> None:
        self.scheduled.discard(uri)
        if uri not in self.server.workspace.text_documents:
            return  # closed meanwhile
        if uri in self.checked and self.checked[uri] == self.server.version_of(uri):
            return  # this version was checked already
        self._edited(uri)

    def did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        self.generation[uri] = self.generation.get(uri, 0) + 1  # drop work in flight
        was_model = self.kinds.pop(uri, None) == SpecKind.MODEL
        self.checked.pop(uri, None)
        self.results.pop(uri, None)
        self.torch_results.pop(uri, None)
        self.last_edit.pop(uri, None)
        path = convert.uri_to_path(uri)
        if path is not None:
            self.server.index.close_text(path)
        if not self.pull:  # a pulling client forgets a closed document's results itself
            self.server.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
            )
        if was_model:
            self.recheck(kind=SpecKind.TRAINER)

    def did_change_watched_files(self, params: types.DidChangeWatchedFilesParams) -> None:
        index = self.server.index
        if index.registry is None:
            return
        open_uris = set(self.server.open_uris())
        for change in params.changes:
            if change.uri in open_uris:
                continue  # the editor's text wins
            path = convert.uri_to_path(change.uri)
            if path is None:
                continue
            if change.type == types.FileChangeType.Deleted:
                index.registry.remove(path)
            else:
                index.registry.update(path)
        self.recheck(kind=SpecKind.TRAINER)

    # -- checking --------------------------------------------------------------------------
    def _edited(self, uri: str, *, now: bool = False) -> None:
        doc = view_of(self.server, uri)
        index = self.server.index
        # a spec outside every workspace folder brings its own workspace root (not any YAML:
        # opening /etc/x.yaml must not scan /etc)
        is_spec = detect_kind(doc.path, None, doc.text) != SpecKind.NONE
        if is_spec and index.ensure_root_for(doc.path) and self.server.initialized_done:
            self.server.start_scan()
        index.update_text(doc.path, doc.text)
        self.check(doc, now=now, edited=True)

    def recheck(self, kind: SpecKind | None = None, skip: str | None = None) -> None:
        """Check the open documents again (of one kind), e.g. when a model or the catalog changed."""
        for uri in list(self.server.open_uris()):
            if uri == skip or (kind is not None and self.kinds.get(uri) != kind):
                continue
            try:
                self.check(view_of(self.server, uri))
            except Exception:
                log.exception("re-checking %s failed", uri)

    def refresh(self) -> None:
        """Pull mode: results changed without an edit; ask the client to pull again."""
        if not self.pull:
            return
        caps = self.server.client_capabilities.workspace
        diag = caps.diagnostics if caps is not None else None
        if diag is None or not diag.refresh_support:
            return
        try:
            self.server.workspace_diagnostic_refresh(None)
        except Exception:
            log.exception("workspace/diagnostic/refresh failed")

    def check(self, doc: DocumentView, *, now: bool = False, edited: bool = False) -> None:
        """Stage 1 of `doc`: on the check lane (one check per document in flight; edits
        meanwhile make it run once more, on the newest text), or `now` on the event loop."""
        uri = doc.uri
        self.checked[uri] = doc.version
        loop = self.server.loop
        if not now and loop is not None and not loop.is_closed():
            if uri in self.running:
                self.dirty[uri] = self.dirty.get(uri, False) or edited
                return
            self.running.add(uri)
            generation = self._next_generation(uri)
            future = self.check_lane.submit(self._structure, doc, True)
            future.add_done_callback(
                lambda f: self.server.call_soon(self._structure_done, doc, generation, edited, f)
            )
            return
        generation = self._next_generation(uri)
        done = self._structure(doc)
        assert done is not None  # never given up when not asked to
        self._finish(doc, generation, *done, edited)

    def _next_generation(self, uri: str) -> int:
        generation = self.generation.get(uri, 0) + 1
        self.generation[uri] = generation
        return generation

    def _structure(
        self, doc: DocumentView, cancellable: bool = False
    ) -> tuple[Analysis, list[Diagnostic]] | None:
        """Stage 1 of `doc`; None when `cancellable` and the document changed meanwhile (the
        caller then checks the newest text)."""
        engine = self.server.index.engine

        def stale() -> bool:
            return self.server.version_of(doc.uri) != doc.version

        a = engine.analyze(doc.path, doc.text)
        self.server.idle_gc.settle()
        try:
            structure = engine.check_structure(a, stale=stale if cancellable else None)
        except Cancelled:
            return None
        except Exception as exc:  # an engine bug must not take the server down
            log.exception("structure check of %s failed", doc.uri)
            self.server.call_soon(
                self.server.window_log_message,
                types.LogMessageParams(types.MessageType.Error, f"arcgraph: check failed: {exc}"),
            )
            structure = []
        return a, structure

    def _structure_done(
        self, doc: DocumentView, generation: int, edited: bool, future: Future
    ) -> None:
        uri = doc.uri
        self.running.discard(uri)
        again = self.dirty.pop(uri, None)
        if uri not in self.server.workspace.text_documents:
            return  # closed meanwhile
        if generation != self.generation.get(uri):
            return  # superseded by a check on the event loop (a pull)
        if again is not None or doc.version != self.server.version_of(uri):
            # edited (or rechecked) while this ran: once more, on the newest text; this
            # result is stale and never published
            self.check(view_of(self.server, uri), edited=edited or bool(again))
            return
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            log.error("structure check of %s failed: %s", uri, exc)
            return
        done = future.result()
        if done is None:  # given up as stale, yet the version is current: check it again
            self.check(view_of(self.server, uri), edited=edited)
            return
        self._finish(doc, generation, *done, edited)

    def _finish(
        self,
        doc: DocumentView,
        generation: int,
        a: Analysis,
        structure: list[Diagnostic],
        edited: bool,
    ) -> None:
        previous = self.kinds.get(doc.uri)
        self.kinds[doc.uri] = a.kind
        torch_checked = a.kind != SpecKind.NONE and a.root is not None
        key = self._torch_key(doc, structure, a) if torch_checked else ""
        known = self.torch_results.get(doc.uri)
        reuse = torch_checked and known is not None and known[0] == key
        # the same text, structure, worker and options: torch would say the same again
        self.publish(doc, structure + known[1] if reuse and known else structure)
        if not edited:
            self.refresh()
        if torch_checked and not reuse:
            job = _Job(doc.uri, generation, doc.version, key)
            self._start_torch_stage(job, doc, a, structure)
        if edited and SpecKind.MODEL in (a.kind, previous):
            self.recheck(kind=SpecKind.TRAINER, skip=doc.uri)

    def torch_diagnostics(
        self, doc: DocumentView, a: Analysis, structure: list[Diagnostic]
    ) -> list[Diagnostic]:
        """The torch stage's last diagnostics of `doc` if they are for this very text and
        structure result (what a quick fix may act on, e.g. AG216's other optimizer), else []."""
        known = self.torch_results.get(doc.uri)
        if known is None or a.kind == SpecKind.NONE or a.root is None:
            return []
        return known[1] if known[0] == self._torch_key(doc, structure, a) else []

    def _torch_key(self, doc: DocumentView, structure: list[Diagnostic], a: Analysis) -> str:
        index = self.server.index
        # a digest, not the text itself: the key is kept per document and in every job
        digest = hashlib.blake2b(doc.text.encode("utf-8", "surrogatepass"), digest_size=16)
        digest.update(repr((structure, id(index.worker), index.engine.options)).encode())
        # a trainer's optimizer probe also reads its model (AG216)
        digest.update(index.engine.probe_key(a).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def _probe_wait(self, uri: str) -> float:
        """Seconds until `uri` has been left alone long enough for probes (<= 0: now)."""
        loop = self.server.loop
        if loop is None or loop.is_closed():
            return 0.0
        return self.last_edit.get(uri, -math.inf) + PROBE_IDLE_S - loop.time()

    def _start_torch_stage(
        self,
        job: _Job,
        doc: DocumentView,
        a: Analysis,
        structure: list[Diagnostic],
        idle: bool = False,
    ) -> None:
        if not self.current(job):
            return  # superseded while it waited
        future = self.server.index.torch_lane.submit(self._torch_stage, job, a, idle)
        future.add_done_callback(
            lambda f: self.server.call_soon(self._torch_done, job, doc, a, structure, f)
        )

    def current(self, job: _Job) -> bool:
        if self.generation.get(job.uri) != job.generation:
            return False
        version = self.server.version_of(job.uri)
        return version is not None and version == job.version

    def _torch_stage(self, job: _Job, a: Analysis, idle: bool) -> list[Diagnostic] | object:
        """On the torch lane: the torch-off info at once, or else the probes once the
        document is idle (`_LATER`: not yet); None when already stale."""
        if not self.current(job):
            return None
        engine = self.server.index.engine
        info = engine.torch_info(a)
        if info:  # torch is off: no probes (the info says why, once)
            return info
        if not idle and engine.options.probes and self._probe_wait(job.uri) > 0:
            return _LATER
        return engine.check_probes(a)

    def _torch_done(
        self,
        job: _Job,
        doc: DocumentView,
        a: Analysis,
        structure: list[Diagnostic],
        future: Future,
    ) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            log.error("torch checks of %s failed: %s", job.uri, exc)
            return
        extra = future.result()
        if extra is _LATER:
            wait = self._probe_wait(job.uri)
            loop = self.server.loop
            if self.current(job) and loop is not None and not loop.is_closed():
                args = (job, doc, a, structure, True)
                loop.call_later(max(wait, 0.0), self.server._guarded, self._start_torch_stage, args)
            return
        assert extra is None or isinstance(extra, list)
        if extra is not None and self.current(job):
            if any(d.code == TORCH_WORKER_FAILED for d in extra):
                self.torch_results.pop(job.uri, None)  # said once; asked again next time
            else:
                self.torch_results[job.uri] = (job.key, extra)
        if not extra or not self.current(job):
            # nothing to add to what stage 1 published, or superseded by a newer edit or
            # check: never publish stale results
            return
        self.publish(doc, structure + extra)
        self.refresh()

    def publish(self, doc: DocumentView, diags: list[Diagnostic]) -> None:
        diags = sorted(diags, key=Diagnostic.sort_key)
        items = [convert.to_lsp_diagnostic(d, doc.lines, doc.encoding) for d in diags]
        if self.pull:
            self._seq += 1
            self.results[doc.uri] = _Result(doc.version, items, f"{doc.version}#{self._seq}")
            return
        self.server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=doc.uri, diagnostics=items, version=doc.version)
        )

    # -- pull ------------------------------------------------------------------------------
    def diagnostic(
        self, params: types.DocumentDiagnosticParams
    ) -> types.RelatedFullDocumentDiagnosticReport:
        """The full report of the current version (checked now if it was not yet)."""
        uri = params.text_document.uri
        if uri not in self.server.workspace.text_documents:
            return types.RelatedFullDocumentDiagnosticReport(items=[], result_id="none")
        version = self.server.version_of(uri)
        result = self.results.get(uri)
        if result is None or result.version != version:
            self.scheduled.discard(uri)
            self._edited(uri, now=True)
            result = self.results.get(uri)
        if result is None:
            return types.RelatedFullDocumentDiagnosticReport(items=[], result_id="none")
        return types.RelatedFullDocumentDiagnosticReport(
            items=result.items, result_id=result.result_id
        )
