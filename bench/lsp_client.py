"""A timing LSP client for bench_lsp.py: pygls's LanguageClient over stdio, plus arrival times.

Every message from the server is timestamped when its JSON has been decoded and before pygls
turns it into lsprotocol objects, so a big completion list or diagnostics array does not charge
the client's own conversion cost to the server. Diagnostics are kept as plain records that
`wait_publish` can match (by version, or by content for servers that publish without one).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types
from pygls.io_ import run_async
from pygls.lsp.client import LanguageClient
from pygls.protocol import LanguageServerProtocol


class TimedProtocol(LanguageServerProtocol):
    """Records when each top-level message arrived (after json.loads, before cattrs)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrival = 0.0  # of the message being handled now
        self.last_response_arrival = 0.0

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" in data:  # the object hook sees the top-level object last
            now = time.perf_counter()
            self.arrival = now
            if "id" in data and "method" not in data:
                self.last_response_arrival = now
        return super().structure_message(data)


@dataclass
class Publish:
    t: float  # arrival (perf_counter)
    uri: str
    version: int | None
    lines: list[int]  # start line of each diagnostic
    messages: list[str]


@dataclass
class _Waiter:
    pred: Callable[[Publish], bool]
    fut: asyncio.Future[Publish]


@dataclass
class BenchClient:
    """One server process driven by a pygls LanguageClient."""

    name: str
    configuration: dict[str, Any] = field(default_factory=dict)  # section -> value
    client: LanguageClient = field(init=False)
    proc: asyncio.subprocess.Process | None = field(init=False, default=None)
    publishes: list[Publish] = field(init=False, default_factory=list)
    _waiters: list[_Waiter] = field(init=False, default_factory=list)
    _stderr: Any = field(init=False, default=None)
    server_capabilities: types.ServerCapabilities | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.client = LanguageClient("arcgraph-bench", "1", protocol_cls=TimedProtocol)
        c = self.client

        @c.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _publish(params: types.PublishDiagnosticsParams) -> None:
            self._on_publish(params)

        @c.feature(types.WORKSPACE_CONFIGURATION)
        def _configuration(params: types.ConfigurationParams) -> list[Any]:
            return [self._section(item.section) for item in params.items]

        @c.feature(types.CLIENT_REGISTER_CAPABILITY)
        def _register(params: types.RegistrationParams) -> None:
            return None

        @c.feature(types.CLIENT_UNREGISTER_CAPABILITY)
        def _unregister(params: types.UnregistrationParams) -> None:
            return None

        @c.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def _progress_create(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        @c.feature(types.PROGRESS)
        def _progress(params: types.ProgressParams) -> None:
            return None

        @c.feature(types.WINDOW_LOG_MESSAGE)
        def _log(params: types.LogMessageParams) -> None:
            return None

        @c.feature(types.WINDOW_SHOW_MESSAGE)
        def _show(params: types.ShowMessageParams) -> None:
            return None

        @c.feature(types.WORKSPACE_DIAGNOSTIC_REFRESH)
        def _refresh(params: None) -> None:
            return None

        @c.feature(types.TELEMETRY_EVENT)
        def _telemetry(params: Any) -> None:
            return None

    @property
    def protocol(self) -> TimedProtocol:
        return self.client.protocol  # type: ignore[return-value]

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def _section(self, section: str | None) -> Any:
        if not section:
            return self.configuration
        node: Any = self.configuration
        for part in section.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    # -- process ---------------------------------------------------------------------------
    async def start(self, cmd: list[str], env: dict[str, str], cwd: str, stderr_path: str) -> None:
        """Like LanguageClient.start_io, but stderr goes to a file (a full pipe would block)."""
        self._stderr = open(stderr_path, "wb")  # noqa: SIM115
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            cwd=cwd,
        )
        assert proc.stdin is not None and proc.stdout is not None
        c = self.client
        c.protocol.set_writer(proc.stdin)
        c._server = proc
        c._async_tasks.extend(
            [
                asyncio.create_task(
                    run_async(stop_event=c._stop_event, reader=proc.stdout, protocol=c.protocol)
                ),
                asyncio.create_task(c._server_exit()),
            ]
        )
        self.proc = proc

    async def initialize(
        self, root: str, init_options: Any = None, timeout: float = 30.0
    ) -> types.InitializeResult:
        caps = types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(
                configuration=True,
                did_change_configuration=types.DidChangeConfigurationClientCapabilities(
                    dynamic_registration=True
                ),
                did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(
                    dynamic_registration=True
                ),
                workspace_folders=True,
            ),
            text_document=types.TextDocumentClientCapabilities(
                synchronization=types.TextDocumentSyncClientCapabilities(dynamic_registration=True),
                publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
                    version_support=True, related_information=True
                ),
                completion=types.CompletionClientCapabilities(
                    completion_item=types.ClientCompletionItemOptions(
                        snippet_support=True,
                        documentation_format=[
                            types.MarkupKind.Markdown,
                            types.MarkupKind.PlainText,
                        ],
                    ),
                ),
                hover=types.HoverClientCapabilities(
                    content_format=[types.MarkupKind.Markdown, types.MarkupKind.PlainText]
                ),
            ),
            window=types.WindowClientCapabilities(work_done_progress=True),
        )
        uri = path_uri(root)
        params = types.InitializeParams(
            process_id=os.getpid(),
            root_uri=uri,
            root_path=root,
            workspace_folders=[types.WorkspaceFolder(uri=uri, name=os.path.basename(root))],
            capabilities=caps,
            initialization_options=init_options,
        )
        result = await asyncio.wait_for(self.client.initialize_async(params), timeout)
        self.server_capabilities = result.capabilities
        self.client.initialized(types.InitializedParams())
        return result

    @property
    def incremental(self) -> bool:
        sync = self.server_capabilities.text_document_sync if self.server_capabilities else None
        kind = sync.change if isinstance(sync, types.TextDocumentSyncOptions) else sync
        return kind == types.TextDocumentSyncKind.Incremental

    async def stop(self, timeout: float = 5.0) -> None:
        """shutdown, exit, then kill whatever is left (the process group is ours alone)."""
        proc = self.proc
        if proc is None:
            return
        try:
            if proc.returncode is None:
                await asyncio.wait_for(self.client.shutdown_async(None), timeout)
                self.client.exit(None)
                await asyncio.wait_for(proc.wait(), timeout)
        except Exception:
            pass
        if proc.returncode is None:
            try:
                proc.kill()
                await asyncio.wait_for(proc.wait(), timeout)
            except Exception:
                pass
        self.client._stop_event.set()
        for task in self.client._async_tasks:
            task.cancel()
        await asyncio.gather(*self.client._async_tasks, return_exceptions=True)
        if self._stderr is not None:
            self._stderr.close()

    # -- diagnostics -----------------------------------------------------------------------
    def _on_publish(self, params: types.PublishDiagnosticsParams) -> None:
        rec = Publish(
            t=self.protocol.arrival,
            uri=params.uri,
            version=params.version,
            lines=[d.range.start.line for d in params.diagnostics],
            messages=[d.message for d in params.diagnostics],
        )
        self.publishes.append(rec)
        for w in list(self._waiters):
            if not w.fut.done() and w.pred(rec):
                w.fut.set_result(rec)

    async def wait_publish(
        self, pred: Callable[[Publish], bool], timeout: float, since: int = 0
    ) -> Publish:
        """The first publish (from index `since` on) that satisfies `pred`."""
        for rec in self.publishes[since:]:
            if pred(rec):
                return rec
        fut: asyncio.Future[Publish] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(pred, fut)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiters.remove(waiter)

    async def quiet(self, gap: float = 0.1, limit: float = 3.0) -> None:
        """Wait until no diagnostics arrived for `gap` seconds (at most `limit`)."""
        end = time.perf_counter() + limit
        while time.perf_counter() < end:
            n = len(self.publishes)
            await asyncio.sleep(gap)
            if len(self.publishes) == n:
                return

    # -- requests --------------------------------------------------------------------------
    async def timed(self, coro_fn: Callable[[], Any], timeout: float = 10.0) -> tuple[float, Any]:
        """(seconds from sending to the response's arrival, result) of one request."""
        t0 = time.perf_counter()
        result = await asyncio.wait_for(coro_fn(), timeout)
        return self.protocol.last_response_arrival - t0, result


def path_uri(path: str) -> str:
    from pathlib import Path

    return Path(path).resolve().as_uri()
