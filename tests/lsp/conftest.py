"""`arcgraph lsp` over stdio, driven by pytest-lsp, in a tmp copy of the examples.

The torch catalog is built once per session into a throwaway cache dir that every server
started here reads (ARCGRAPH_CACHE_DIR), so servers find it cached and never build it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

REPO = Path(__file__).resolve().parents[2]
SERVER_DIR = REPO / "server"
EXAMPLES = REPO / "examples"
if str(SERVER_DIR) not in sys.path:  # running from a checkout without install
    sys.path.insert(0, str(SERVER_DIR))

from arcgraph.worker.client import TorchWorker  # noqa: E402

CLIENTS = ("visual-studio-code", "neovim")

# The recorded capability sets of the clients tested (pytest-lsp's), plus VS Code as the
# extension runs it: vscode-languageclient 9 offers pull diagnostics with refresh, which the
# recorded 1.65.2 set predates.
EDITORS = (
    "neovim@v0.7.0",
    "neovim@v0.10.0",
    "neovim@v0.11.0",
    "visual-studio-code@v1.65.2",
    "vscode-languageclient-9",
)


def capabilities_of(name: str) -> types.ClientCapabilities:
    """A recorded capability set by pytest-lsp's name, or `vscode-languageclient-9`."""
    if name != "vscode-languageclient-9":
        return client_capabilities(name)
    caps = client_capabilities("visual-studio-code@v1.65.2")
    assert caps.text_document is not None and caps.workspace is not None
    caps.text_document.diagnostic = types.DiagnosticClientCapabilities(
        dynamic_registration=True, related_document_support=False
    )
    caps.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
    return caps


class RecordingClient(LanguageClient):
    """Keeps every publishDiagnostics, in order, with its version.

    With a server in pull mode (its capabilities name a diagnostic provider: the client
    offered `textDocument.diagnostic`), `sync` pulls `textDocument/diagnostic` for every
    document opened here and records each new report as if it had been published, with the
    version from its `resultId` (`<version>#<n>`); `wait_for` syncs before each look, so the
    tests read both models the same way.

    With `pull_on_events` it pulls as editors do instead: once after each open or change of a
    document, and all of them again after `workspace/diagnostic/refresh`, never on its own;
    results that change without an edit then reach it only if the server asks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.published: list[types.PublishDiagnosticsParams] = []
        self.pull = False  # the server answers textDocument/diagnostic (and never pushes)
        self.versioned_edits = False  # the client takes versioned `documentChanges` edits
        self.tracked: list[str] = []  # documents opened through `open`
        self.pulled: dict[str, str] = {}  # uri -> the last resultId recorded
        self.pull_on_events = False  # pull like an editor (see the class docstring)
        self.to_pull: set[str] = set()  # pull_on_events: opened or changed since the last pull
        self.refreshes_pulled = 0  # pull_on_events: refresh requests already acted on
        self.code_lens_refresh_count = 0
        # answer workspace/configuration only once this is set (None: at once)
        self.configuration_gate: asyncio.Event | None = None
        self.pushed_in_pull_mode = 0
        self.server_caps: types.ServerCapabilities | None = None  # from initialize
        self.position_encoding = "utf-16"  # as negotiated at initialize
        self.registrations: list[types.Registration] = []
        self.message_requests: list[types.ShowMessageRequestParams] = []
        self.answer_message_request: Callable[[types.ShowMessageRequestParams], Any] = lambda p: (
            p.actions[0] if p.actions else None
        )

    async def pull_report(self, uri: str) -> types.PublishDiagnosticsParams:
        report = await self.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(
                text_document=types.TextDocumentIdentifier(uri), identifier="arcgraph"
            )
        )
        assert isinstance(report, types.RelatedFullDocumentDiagnosticReport), report
        rid = report.result_id or "none"
        head = rid.split("#")[0]
        version = int(head) if head.lstrip("-").isdigit() else None
        return types.PublishDiagnosticsParams(uri, list(report.items), version)

    async def sync(self) -> None:
        """Pull mode: record the current report of every tracked document when it changed."""
        if not self.pull:
            return
        uris = list(self.tracked)
        if self.pull_on_events:
            if self.diagnostic_refresh_count > self.refreshes_pulled:
                self.refreshes_pulled = self.diagnostic_refresh_count
            else:
                uris = [u for u in uris if u in self.to_pull]
            self.to_pull.clear()
        for uri in uris:
            params = await self.pull_report(uri)
            key = repr((params.version, params.diagnostics))
            if self.pulled.get(uri) != key:
                self.pulled[uri] = key
                self.diagnostics[uri] = params.diagnostics
                self.published.append(params)

    async def status(self) -> dict[str, Any]:
        """The server's `arcgraph/status`: `{"idle": bool, "pending": {...}}`."""
        return _plain(await self.protocol.send_request_async("arcgraph/status", None))

    async def wait_idle(self, timeout: float = 60.0, pull: bool = True) -> None:
        """Until the server has no work left (`arcgraph/status`); everything that work
        published has arrived by then (and in pull mode, unless not `pull`, is pulled and
        recorded)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            status = await self.status()
            if status["idle"]:
                if not pull:
                    return
                await self.sync()  # the reports of that state; a pull may start a check
                status = await self.status()
                if status["idle"]:
                    return
            if loop.time() > deadline:
                raise AssertionError(f"the server is not idle after {timeout} s: {status}")
            await asyncio.sleep(0.02)

    def published_for(self, uri: str) -> list[types.PublishDiagnosticsParams]:
        return [p for p in self.published if p.uri == uri]

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition"
    ) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self.sync()
            value = predicate()
            if value:
                return value
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}; published: {self.published}")
            await asyncio.sleep(0.02)

    async def wait_for_diagnostics(
        self,
        uri: str,
        version: int | None,
        check: Callable[[list[types.Diagnostic]], bool] = lambda d: True,
        timeout: float = 30.0,
        after: int = 0,
    ) -> list[types.Diagnostic]:
        """The newest diagnostics published for `uri` at `version` that pass `check`,
        among those published for it after the first `after` (see `count`)."""

        def found() -> tuple[list[types.Diagnostic]] | None:
            for p in reversed(self.published_for(uri)[after:]):
                if p.version == version and check(list(p.diagnostics)):
                    return (list(p.diagnostics),)  # a tuple: an empty list is an answer
            return None

        (diags,) = await self.wait_for(found, timeout, f"diagnostics of {uri} v{version}")
        return diags

    def count(self, uri: str) -> int:
        return len(self.published_for(uri))

    def open(self, uri: str, text: str, version: int = 1) -> None:
        if uri not in self.tracked:
            self.tracked.append(uri)
        self.to_pull.add(uri)
        self.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id="yaml", version=version, text=text)
            )
        )

    def replace(self, uri: str, text: str, version: int) -> None:
        """A full-text change (the server must accept those as well as ranges)."""
        self.to_pull.add(uri)
        self.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    def edit(self, uri: str, version: int, line: int, start: int, end: int, text: str) -> None:
        """An incremental change on one line (UTF-16 columns)."""
        self.to_pull.add(uri)
        self.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [
                    types.TextDocumentContentChangePartial(
                        range=types.Range(types.Position(line, start), types.Position(line, end)),
                        text=text,
                    )
                ],
            )
        )


def _plain(value: Any) -> Any:
    """pygls answers a method it has no type for with namedtuples (`Object`): as JSON again."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _recording_client() -> RecordingClient:
    client = RecordingClient(converter_factory=default_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)

    def publish(c: RecordingClient, params: types.PublishDiagnosticsParams) -> None:
        if c.pull:
            c.pushed_in_pull_mode += 1  # a pulling client must never get pushes
        c.diagnostics[params.uri] = params.diagnostics
        c.published.append(params)

    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish

    def register_capability(c: RecordingClient, params: types.RegistrationParams) -> None:
        c.registrations.extend(params.registrations)

    features[types.CLIENT_REGISTER_CAPABILITY] = register_capability

    def show_message_request(c: RecordingClient, params: types.ShowMessageRequestParams) -> Any:
        c.message_requests.append(params)
        return c.answer_message_request(params)

    features[types.WINDOW_SHOW_MESSAGE_REQUEST] = show_message_request

    def code_lens_refresh(c: RecordingClient, params: None) -> None:
        c.code_lens_refresh_count += 1

    features[types.WORKSPACE_CODE_LENS_REFRESH] = code_lens_refresh

    async def configuration(c: RecordingClient, params: types.ConfigurationParams) -> list[Any]:
        if c.configuration_gate is not None:
            await c.configuration_gate.wait()
        return [c.get_configuration(section=i.section, scope_uri=i.scope_uri) for i in params.items]

    features[types.WORKSPACE_CONFIGURATION] = configuration
    register_lsp_features(client, features)
    return client


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache dir with the catalog of this interpreter's torch built once (or left empty)."""
    d = tmp_path_factory.mktemp("arcgraph-lsp-cache")
    worker = TorchWorker(cache_dir=d)
    try:
        if worker.unavailable_reason is None:
            worker.catalog()
    finally:
        worker.close()
    return d


@pytest.fixture(scope="session")
def has_catalog(cache_dir: Path) -> bool:
    return any(cache_dir.glob("catalog-*.json"))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("ws")
    shutil.copytree(EXAMPLES, ws, dirs_exist_ok=True)
    return ws


# A valid iris trainer up to its `config` (the tests of a v1.1 section append that section).
IRIS_TRAINER = """\
model_ref: iris-classifier-v1
optimizer:
  type: torch.optim.Adam
  lr: 0.01
config:
  epochs: 3
  batch_size: 8
  validation_split: 0.2
  shuffle: true
"""


def uri_of(path: Path) -> str:
    return path.resolve().as_uri()


def rng(l1: int, c1: int, l2: int, c2: int) -> types.Range:
    return types.Range(types.Position(l1, c1), types.Position(l2, c2))


async def start_client(
    cache_dir: Path,
    workspace: Path,
    capabilities: str | types.ClientCapabilities = "visual-studio-code",
    options: dict[str, Any] | None = None,
    configuration: dict[str, Any] | None = None,
    configuration_gate: asyncio.Event | None = None,
) -> RecordingClient:
    """A server started and initialized; `configuration` is what the client answers to
    `workspace/configuration` (pytest-lsp's `set_configuration`), set before `initialized`,
    and only once `configuration_gate` is set if one is given."""
    env = dict(os.environ)
    env["ARCGRAPH_CACHE_DIR"] = str(cache_dir)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(SERVER_DIR), env.get("PYTHONPATH", "")) if p
    )
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "arcgraph", "lsp"],
        client_factory=_recording_client,
        server_env=env,
    )
    client = await config.start()
    assert isinstance(client, RecordingClient)
    if configuration is not None:
        client.set_configuration(configuration)
    client.configuration_gate = configuration_gate
    caps = capabilities_of(capabilities) if isinstance(capabilities, str) else capabilities
    ws_edit = caps.workspace.workspace_edit if caps.workspace else None
    client.versioned_edits = bool(ws_edit and ws_edit.document_changes)
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            root_uri=uri_of(workspace),
            workspace_folders=[types.WorkspaceFolder(uri=uri_of(workspace), name="ws")],
            initialization_options=options if options is not None else {"probes": False},
        )
    )
    client.server_caps = result.capabilities
    client.pull = result.capabilities.diagnostic_provider is not None
    enc = result.capabilities.position_encoding
    client.position_encoding = str(getattr(enc, "value", enc) or "utf-16")
    return client


async def stop_client(client: RecordingClient) -> None:
    await client.shutdown_session()
    await client.stop()


@pytest_asyncio.fixture
async def gated_hints(
    cache_dir: Path, workspace: Path, tmp_path: Path, has_catalog: bool
) -> AsyncIterator[Any]:
    """A server for VS Code with inlay hints whose shape probes are held by a gate
    (shape_helpers.GatedHintClient); skipped without torch."""
    if not has_catalog:
        pytest.skip("torch is not installed")
    from .shape_helpers import start_gated_hint_client  # it imports this module

    started = await start_gated_hint_client(cache_dir, workspace, tmp_path)
    try:
        yield started
    finally:
        started.hold.unlink(missing_ok=True)
        await stop_client(started.client)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=CLIENTS)
async def client(
    request: pytest.FixtureRequest, cache_dir: Path, workspace: Path
) -> AsyncIterator[RecordingClient]:
    """One server per module and client flavour; probes off (torch answers in its own tests)."""
    c = await start_client(cache_dir, workspace, request.param)
    yield c
    assert c.pushed_in_pull_mode == 0, "a client in pull mode got pushed diagnostics"
    await stop_client(c)


def text_edits(
    client: RecordingClient, edit: types.WorkspaceEdit | None, uri: str, version: int
) -> list[types.TextEdit]:
    """The edits of one document in a WorkspaceEdit: one versioned `documentChanges` entry for
    clients that support it (VS Code), plain `changes` otherwise (Neovim)."""
    assert edit is not None
    if client.versioned_edits:
        assert edit.changes is None and edit.document_changes is not None
        (only,) = edit.document_changes
        assert isinstance(only, types.TextDocumentEdit)
        assert (only.text_document.uri, only.text_document.version) == (uri, version)
        return list(only.edits)
    assert edit.document_changes is None and edit.changes is not None
    assert list(edit.changes) == [uri]
    return list(edit.changes[uri])
