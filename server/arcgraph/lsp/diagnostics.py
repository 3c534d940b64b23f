"""Diagnostics in two stages, each published with the document's version.

Stage 1 (structure: YAML, schema, references, registry, and the catalog once loaded) runs on
its own lane (a thread) as soon as a document opens or changes, no fixed delay; a pull
answers from it or runs it on the event loop. Stage 2
(the torch-off info, the worker's probes) runs on the torch lane and is published only while
its document is still at the same version and no newer check was started for it; a newer
edit supersedes stale work, before it starts and again before it is published.

Edits are coalesced: `didChange` only schedules a check (`Scheduler.soon`); the scheduled
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

What the feature knows of a document is one `DocState` in `docs`, made at its first check and
dropped when it closes: work still in flight for a closed document then finds no state of
its generation and stops (generations are unique across documents and reopenings). The
torch stage's job waits in the document's `Newest` slot, so a burst of edits whose checks
finish while the torch lane is busy (a slow probe) queues one job, the newest; the stale
ones, each with a whole analysis of a large model, are dropped at once.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
from concurrent.futures import Future
from dataclasses import dataclass, field
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
from arcgraph.lsp.scheduler import Newest

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer

log = logging.getLogger(__name__)

# Seconds without an edit (or open) of a document before its probes start.
PROBE_IDLE_S = 0.3
_LATER = object()  # the torch stage's answer: probes wanted, but the document is not idle


def text_digest(text: str) -> bytes:
    """A digest of a text (keys hold this, never the text: they are kept per document)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass
class TorchJob:
    """The torch stage of one check: what it reads, and what it must still be current for."""

    uri: str
    generation: int
    version: int | None
    key: str  # what the torch stage's answer depends on (see `_torch_key`)
    doc: DocumentView
    analysis: Analysis
    structure: list[Diagnostic]
    idle: bool = False  # the document was left alone long enough: probe now


@dataclass
class PullResult:
    """The last check of a document: what a pull answers while it is at this version."""

    version: int | None
    items: list[types.Diagnostic]
    result_id: str


@dataclass(eq=False)
class DocState:
    """All diagnostics keeps about one open document (made at its first check, dropped when
    it closes)."""

    generation: int = 0  # the newest check started (a job of an older one is stale)
    checked: bool = False  # a check was started since the document was (re)opened ...
    checked_version: int | None = None  # ... for this version
    last_edit: float = -math.inf  # loop time of its last open or change (probes wait)
    scheduled: bool = False  # a check waits on the event loop (edits are coalesced)
    running: int | None = None  # the generation of its structure check on the check lane
    again: bool | None = None  # asked again while that ran (True: edited)
    kind: SpecKind | None = None  # the kind at the last check
    # the torch stage's last answer (key, diagnostics), reused by a re-check of the same
    # text with the same structure result, worker and options (no second probe)
    torch: tuple[str, list[Diagnostic]] | None = None
    torch_queue: Newest[TorchJob] = field(default_factory=Newest)  # the newest job waiting
    idle_wait: TorchJob | None = None  # a job waiting for the document to be left alone
    result: PullResult | None = None  # pull mode: the answer
    published: list[Diagnostic] = field(default_factory=list)  # the last sent (graph view)

    def drop_torch_jobs(self) -> None:
        """Forget the torch jobs not started yet (stale: a newer check began)."""
        self.torch_queue.clear()
        self.idle_wait = None


class DiagnosticsFeature:
    def __init__(self, server: ArcGraphServer) -> None:
        self.server = server
        self.scheduler = server.scheduler
        self.docs: dict[str, DocState] = {}  # uri -> its state, while open
        self.pull = False  # chosen at initialize (see `choose_model`)
        self.check_lane = Lane("arcgraph-check")
        self._generations = itertools.count(1)
        self._seq = 0

    def choose_model(self, params: types.InitializeParams) -> None:
        """Pull when the client offers it with refresh (unless `pullDiagnostics: false`), else
        push: without refresh a pulling client never hears of later results (module doc)."""
        caps = params.capabilities.text_document
        workspace = params.capabilities.workspace
        diags = workspace.diagnostics if workspace is not None else None
        refresh = diags is not None and bool(diags.refresh_support)
        offered = caps is not None and caps.diagnostic is not None and refresh
        self.pull = offered and self.server.index.settings.pull_diagnostics
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

    def shutdown(self) -> None:
        self.check_lane.shutdown(wait=False, cancel_futures=True)

    def state(self, uri: str) -> DocState:
        """The state of open document `uri` (made on first use)."""
        state = self.docs.get(uri)
        if state is None:
            state = self.docs[uri] = DocState()
        return state

    # -- notifications ---------------------------------------------------------------------
    def did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        state = self._touched(params.text_document.uri)
        state.checked = False
        self._edited(params.text_document.uri)

    def did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        """Cheap: the check runs once the burst of changes already received is applied."""
        self._touched(params.text_document.uri)
        self.schedule(params.text_document.uri)

    def _touched(self, uri: str) -> DocState:
        state = self.state(uri)
        now = self.scheduler.now()
        if now is not None:
            state.last_edit = now
        return state

    def schedule(self, uri: str) -> None:
        state = self.state(uri)
        if state.scheduled:
            return
        state.scheduled = True
        if not self.scheduler.soon(self._run_scheduled, uri):
            self._run_scheduled(uri)

    def _run_scheduled(self, uri: str) -> None:
        state = self.docs.get(uri)
        if state is None or uri not in self.server.workspace.text_documents:
            return  # closed meanwhile
        state.scheduled = False
        if state.checked and state.checked_version == self.server.version_of(uri):
            return  # this version was checked already
        self._edited(uri)

    def did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        state = self.docs.pop(uri, None)  # work in flight for it finds no state: dropped
        was_model = state is not None and state.kind == SpecKind.MODEL
        if state is not None:
            state.drop_torch_jobs()
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
            state = self.docs.get(uri)
            if uri == skip or (kind is not None and (state is None or state.kind != kind)):
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
        state = self.state(doc.uri)
        state.checked, state.checked_version = True, doc.version
        if not now and self.scheduler.running:
            if state.running is not None:
                state.again = bool(state.again) or edited
                return
            generation = state.running = self._next_generation(state)
            future = self.check_lane.submit(self._structure, doc, True)
            self.scheduler.when_done(future, self._structure_done, doc, generation, edited)
            return
        generation = self._next_generation(state)
        done = self._structure(doc)
        assert done is not None  # never given up when not asked to
        a, structure = done
        self._finish(doc, generation, a, structure, edited)

    def _next_generation(self, state: DocState) -> int:
        state.generation = next(self._generations)
        state.drop_torch_jobs()  # stale now: they would only find that out on the lane
        return state.generation

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
            self.scheduler.from_thread(
                self.server.window_log_message,
                types.LogMessageParams(types.MessageType.Error, f"arcgraph: check failed: {exc}"),
            )
            structure = []
        return a, structure

    def _structure_done(
        self,
        doc: DocumentView,
        generation: int,
        edited: bool,
        future: Future[tuple[Analysis, list[Diagnostic]] | None],
    ) -> None:
        uri = doc.uri
        state = self.docs.get(uri)
        if state is None or state.running != generation:
            return  # closed (and maybe reopened) meanwhile
        state.running = None
        again, state.again = state.again, None
        if uri not in self.server.workspace.text_documents:
            return  # closed meanwhile
        if generation != state.generation and again is None:
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
        a, structure = done
        self._finish(doc, generation, a, structure, edited)

    def _finish(
        self,
        doc: DocumentView,
        generation: int,
        a: Analysis,
        structure: list[Diagnostic],
        edited: bool,
    ) -> None:
        state = self.state(doc.uri)
        previous = state.kind
        state.kind = a.kind
        torch_checked = a.kind != SpecKind.NONE and a.root is not None
        key = self._torch_key(doc, structure, a) if torch_checked else ""
        known = state.torch
        reuse = torch_checked and known is not None and known[0] == key
        # the same text, structure, worker and options: torch would say the same again
        self.publish(doc, structure + known[1] if reuse and known else structure)
        if not edited:
            self.refresh()
        if torch_checked and not reuse:
            job = TorchJob(doc.uri, generation, doc.version, key, doc, a, structure)
            self._queue_torch_stage(job)
        if edited and SpecKind.MODEL in (a.kind, previous):
            self.recheck(kind=SpecKind.TRAINER, skip=doc.uri)

    def torch_diagnostics(
        self, doc: DocumentView, a: Analysis, structure: list[Diagnostic]
    ) -> list[Diagnostic]:
        """The torch stage's last diagnostics of `doc` if they are for this very text and
        structure result (what a quick fix may act on, e.g. AG216's other optimizer), else []."""
        state = self.docs.get(doc.uri)
        known = state.torch if state is not None else None
        if known is None or a.kind == SpecKind.NONE or a.root is None:
            return []
        return known[1] if known[0] == self._torch_key(doc, structure, a) else []

    def _torch_key(self, doc: DocumentView, structure: list[Diagnostic], a: Analysis) -> str:
        """A digest of all the torch stage's answer depends on: the text, the structure
        result, the worker, the options, and what the probes read besides the text."""
        index = self.server.index
        digest = hashlib.blake2b(text_digest(doc.text), digest_size=16)
        for d in structure:
            span = ",".join(map(str, d.span))
            line = f"{d.code}\0{d.message}\0{span}\0{int(d.severity)}\0{d.path}\0{d.related}\n"
            digest.update(line.encode("utf-8", "surrogatepass"))
        digest.update(f"{id(index.worker)}\0{index.engine.options}\0".encode())
        # a trainer's optimizer probe also reads its model (AG216)
        digest.update(index.engine.probe_key(a).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def _probe_wait(self, uri: str) -> float:
        """Seconds until `uri` has been left alone long enough for probes (<= 0: now)."""
        now = self.scheduler.now()
        if now is None:
            return 0.0
        state = self.docs.get(uri)
        last = state.last_edit if state is not None else -math.inf
        return last + PROBE_IDLE_S - now

    def _queue_torch_stage(self, job: TorchJob) -> None:
        """Onto the torch lane, as the document's newest job: one queued older is dropped."""
        state = self.docs.get(job.uri)
        if state is None or not self.current(job):
            return  # superseded while it waited
        if state.torch_queue.put(job):
            future = self.server.index.torch_lane.submit(self._torch_lane, state.torch_queue)
            self.scheduler.when_done(future, self._torch_done)

    def current(self, job: TorchJob) -> bool:
        state = self.docs.get(job.uri)
        if state is None or state.generation != job.generation:
            return False
        version = self.server.version_of(job.uri)
        return version is not None and version == job.version

    def _torch_lane(
        self, queue: Newest[TorchJob]
    ) -> tuple[TorchJob, list[Diagnostic] | object | None] | None:
        """On the torch lane: the document's newest job (None: dropped as stale) and its
        answer (see `_torch_stage`)."""
        job = queue.take()
        if job is None:
            return None
        try:
            return job, self._torch_stage(job)
        except Exception:
            log.exception("torch checks of %s failed", job.uri)
            return None

    def _torch_stage(self, job: TorchJob) -> list[Diagnostic] | object | None:
        """The torch-off info at once, or else the probes once the document is idle
        (`_LATER`: not yet); None when already stale."""
        if not self.current(job):
            return None
        engine = self.server.index.engine
        info = engine.torch_info(job.analysis)
        if info:  # torch is off: no probes (the info says why, once)
            return info
        if not job.idle and engine.options.probes and self._probe_wait(job.uri) > 0:
            return _LATER
        return engine.check_probes(job.analysis)

    def _torch_done(self, future: Future) -> None:
        if future.cancelled():
            return
        done = future.result()
        if done is None:
            return
        job, extra = done
        state = self.docs.get(job.uri)
        if state is None:
            return  # closed meanwhile
        if extra is _LATER:
            if self.current(job):
                # the timer holds only the generation; the job waits in the state, where a
                # newer check drops it
                state.idle_wait = job
                self.scheduler.later(
                    self._probe_wait(job.uri), self._probe_when_idle, job.uri, job.generation
                )
            return
        assert extra is None or isinstance(extra, list)
        if extra is not None and self.current(job):
            if any(d.code == TORCH_WORKER_FAILED for d in extra):
                state.torch = None  # said once; asked again next time
            else:
                state.torch = (job.key, extra)
        if not extra or not self.current(job):
            # nothing to add to what stage 1 published, or superseded by a newer edit or
            # check: never publish stale results
            return
        self.publish(job.doc, job.structure + extra)
        self.refresh()

    def _probe_when_idle(self, uri: str, generation: int) -> None:
        state = self.docs.get(uri)
        job = state.idle_wait if state is not None else None
        if state is None or job is None or job.generation != generation:
            return  # dropped by a newer check, or closed
        state.idle_wait = None
        job.idle = True
        self._queue_torch_stage(job)

    def publish(self, doc: DocumentView, diags: list[Diagnostic]) -> None:
        diags = sorted(diags, key=Diagnostic.sort_key)
        known = self.docs.get(doc.uri)
        if known is not None:
            known.published = diags
        items = [convert.to_lsp_diagnostic(d, doc.lines, doc.encoding) for d in diags]
        if self.pull:
            self._seq += 1
            state = self.docs.get(doc.uri)
            if state is not None:
                state.result = PullResult(doc.version, items, f"{doc.version}#{self._seq}")
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
        state = self.state(uri)
        result = state.result
        if result is None or result.version != version:
            state.scheduled = False
            self._edited(uri, now=True)
            result = state.result
        if result is None:
            return types.RelatedFullDocumentDiagnosticReport(items=[], result_id="none")
        return types.RelatedFullDocumentDiagnosticReport(
            items=result.items, result_id=result.result_id
        )
