"""Random incremental edits (hypothesis): the server stays up, answers hover, completion and
document symbols, and the last diagnostics published carry the last version."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types

from .conftest import CLIENTS, EXAMPLES, RecordingClient, start_client, stop_client, uri_of

Run = Callable[[Coroutine[Any, Any, Any]], Any]

PIECES = [
    "graph:", "inputs:", "outputs:", "\n", "\r\n", "  ", "- ", "name: n", "type: torch.nn.",
    "Linear", ": ", "{", "}", "[", "]", ", ", "x.output", "#", "\t", "é", "😀", "'", '"', "&a",
    "*a", "|", "---",
]  # fmt: skip
text_st = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)
pos_st = st.tuples(st.integers(0, 45), st.integers(0, 90))  # past the end too
edit_st = st.tuples(pos_st, pos_st, text_st)
batches_st = st.lists(st.lists(edit_st, min_size=1, max_size=6), min_size=1, max_size=4)


@pytest.fixture(scope="module", params=CLIENTS)
def background(
    request: pytest.FixtureRequest, cache_dir: Path, workspace: Path
) -> Iterator[tuple[RecordingClient, Run]]:
    """One server for all examples, driven from an event loop on its own thread (hypothesis
    calls the test synchronously)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(120)

    client = run(start_client(cache_dir, workspace, request.param))
    try:
        yield client, run
    finally:
        run(stop_client(client))
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


_names = itertools.count()
MODEL = (EXAMPLES / "models" / "iris-classifier-v1.model.yaml").read_text()


def change(
    r: tuple[tuple[int, int], tuple[int, int], str],
) -> types.TextDocumentContentChangePartial:
    (l1, c1), (l2, c2), text = r
    return types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(l1, c1), types.Position(l2, c2)), text=text
    )


async def _exercise(client: RecordingClient, workspace: Path, batches: list) -> None:
    uri = uri_of(workspace / "models" / f"fuzz-{next(_names)}.model.yaml")
    ident = types.TextDocumentIdentifier(uri)
    client.open(uri, MODEL)
    version = 1
    try:
        for batch in batches:
            for i in range(0, len(batch), 2):  # some notifications carry two changes
                version += 1
                client.text_document_did_change(
                    types.DidChangeTextDocumentParams(
                        types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                        [change(e) for e in batch[i : i + 2]],
                    )
                )
            await client.wait_for_diagnostics(uri, version, timeout=30)
            await asyncio.sleep(0.05)
            await client.sync()  # pull mode: the current report
            assert client.published_for(uri)[-1].version == version
            server = client._server
            assert server is not None and server.returncode is None
            (line, col) = batch[-1][0]
            p = types.Position(line, col)
            await client.text_document_hover_async(types.HoverParams(ident, p))
            completion = await client.text_document_completion_async(
                types.CompletionParams(ident, p)
            )
            assert completion is not None
            symbols = await client.text_document_document_symbol_async(
                types.DocumentSymbolParams(ident)
            )
            assert symbols is not None
            assert client.pushed_in_pull_mode == 0
    finally:
        client.text_document_did_close(types.DidCloseTextDocumentParams(ident))


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same 25 sequences on every run (CI)
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=batches_st)
def test_random_incremental_edits(
    background: tuple[RecordingClient, Run], workspace: Path, batches: list
) -> None:
    client, run = background
    run(_exercise(client, workspace, batches))
