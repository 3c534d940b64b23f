"""Requests as each recorded client sends them (Neovim 0.7, 0.10, 0.11, VS Code): hover at a
key's first column, quick fixes from the server's own ranges, completion items that Neovim's
omnifunc keeps and whose inserted values the checker accepts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from attrs import evolve as attrs_evolve
from lsprotocol import types

from .conftest import RecordingClient, rng, start_client, stop_client, text_edits, uri_of

pytestmark = pytest.mark.asyncio(loop_scope="module")

CLIENT_SETS = (
    "neovim@v0.7.0",
    "neovim@v0.10.0",
    "neovim@v0.11.0",
    "visual-studio-code@v1.65.2",
)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=CLIENT_SETS)
async def client(
    request: pytest.FixtureRequest, cache_dir: Path, workspace: Path
) -> AsyncIterator[RecordingClient]:
    c = await start_client(cache_dir, workspace, request.param)
    c.spec = request.param  # type: ignore[attr-defined]
    yield c
    await stop_client(c)


def units(client: RecordingClient, text: str) -> int:
    """The length of `text` in the client's position units."""
    if client.position_encoding == "utf-8":
        return len(text.encode("utf-8"))
    if client.position_encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


async def hover(client: RecordingClient, uri: str, line: int, character: int) -> types.Hover | None:
    return await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line, character))
    )


HOVER_TRAINER = """\
model_ref: iris-classifier-v1
optimizer:
  type: torch.optim.Adam
  lr: 0.01
config:
  epochs: 3
"""


async def test_hover_at_the_first_column_of_a_key(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "hover-first.trainer.yaml")
    client.open(uri, HOVER_TRAINER)
    root = await hover(client, uri, 4, 9)  # after `config:`: nothing
    assert root is None
    for line, col, key in ((0, 0, "model_ref"), (2, 2, "type"), (3, 2, "lr"), (5, 2, "epochs")):
        first = await hover(client, uri, line, col)
        inside = await hover(client, uri, line, col + 1)
        assert inside is not None and inside.range == rng(line, col, line, col + len(key))
        assert first == inside, (key, first)


# -- quick fixes: built from the server's own ranges ------------------------------------------
FIX_TRAINER = """\
model_ref: iris-classifier-v1
optimizer:
  type: torch.optim.SGD
  lr: 0.01
  params: { größe🙂: 1, momentun: 0.9 }
config:
  epochs: 3
  batch_size: 8
  validation_split: 0.2
  shuffle: true
"""


def byte_range(text: str, r: types.Range, encoding: str) -> types.Range:
    """`r` (in the client's units) with byte columns, as Neovim 0.7 echoes diagnostics."""
    lines = text.split("\n")

    def to_bytes(p: types.Position) -> types.Position:
        line = lines[p.line]
        if encoding == "utf-8":
            return p
        code_units = line.encode("utf-16-le")[: 2 * p.character].decode("utf-16-le")
        return types.Position(p.line, len(code_units.encode("utf-8")))

    return types.Range(to_bytes(r.start), to_bytes(r.end))


async def rename_fixes(
    client: RecordingClient, uri: str, version: int, diag: types.Diagnostic
) -> list[list[types.TextEdit]]:
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri),
            diag.range,
            types.CodeActionContext(diagnostics=[diag], only=[types.CodeActionKind.QuickFix]),
        )
    )
    return [
        text_edits(client, a.edit, uri, version)
        for a in actions or []
        if isinstance(a, types.CodeAction) and a.title == "Rename to 'momentum'"
    ]


async def test_quick_fix_ranges_come_from_the_server(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "fix-bytes.trainer.yaml")
    client.open(uri, FIX_TRAINER)
    diags = await client.wait_for_diagnostics(
        uri, 1, lambda ds: any(d.code == "AG211" and "momentun" in d.message for d in ds)
    )
    published = next(d for d in diags if d.code == "AG211" and "momentun" in d.message)
    line = FIX_TRAINER.split("\n")[4]
    start = units(client, line[: line.index("momentun")])
    assert published.range == rng(4, start, 4, start + len("momentun"))
    as_bytes = attrs_evolve(
        published, range=byte_range(FIX_TRAINER, published.range, client.position_encoding)
    )
    if client.position_encoding != "utf-8":
        assert as_bytes.range != published.range  # the line has multi-byte text before
    for echoed in (published, as_bytes):
        (edits,) = await rename_fixes(client, uri, 1, echoed)
        assert edits == [types.TextEdit(published.range, "momentum")]
    # a diagnostic the text no longer has (echoed for another line): no edit at all
    stale = attrs_evolve(published, range=rng(3, 2, 3, 4))
    assert await rename_fixes(client, uri, 1, stale) == []


# -- completion: what Neovim 0.7's omnifunc keeps ---------------------------------------------
def omnifunc_07(line: str, cursor: int, items: list[types.CompletionItem], encoding: str) -> list:
    """The words Neovim 0.7.2's `vim.lsp.omnifunc` offers (runtime/lua/vim/lsp.lua,
    `adjust_start_col`, and util.lua `remove_unmatch_completion_items`): the completion starts
    where the items' edits start, but only if no item has a `filterText`; else at the start of
    the 'iskeyword' word before the cursor (`\\k*$`: letters, digits, `_`; not `-` or `.`).
    Items whose `textEdit.newText` does not start with the text from there are dropped."""
    data = line.encode("utf-8")
    starts = {
        i.text_edit.range.start.character
        for i in items
        if i.filter_text is None and isinstance(i.text_edit, types.TextEdit)
    }
    if len(starts) == 1:
        units = starts.pop()
        text = line.encode("utf-16-le")[: 2 * units].decode("utf-16-le")
        if encoding == "utf-8":
            text = data[:units].decode("utf-8")
        start = len(text.encode("utf-8"))
    else:
        start = cursor
        while start > 0 and (chr(data[start - 1]).isalnum() or data[start - 1] == ord("_")):
            start -= 1
    prefix = data[start:cursor].decode("utf-8")
    return [
        i.label
        for i in items
        if (i.text_edit.new_text if i.text_edit is not None else i.label).startswith(prefix)
    ]


async def test_omnifunc_finds_a_model_id_with_dashes(client: RecordingClient, workspace: Path):
    text = "model_ref: iris-cl\noptimizer:\n  type: torch.optim.Adam\n  lr: 0.01\n"
    uri = uri_of(workspace / "trainers" / "omnifunc.trainer.yaml")
    client.open(uri, text)
    position = types.Position(0, units(client, "model_ref: iris-cl"))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:  # the registry is scanned in the background: ask until the IDs are there
        result = await client.text_document_completion_async(
            types.CompletionParams(types.TextDocumentIdentifier(uri), position)
        )
        items = list(result.items)
        if any(i.label == "iris-classifier-v1" for i in items) or loop.time() > deadline:
            break
    assert [i.filter_text for i in items if i.filter_text is not None] == []
    words = omnifunc_07(
        "model_ref: iris-cl", len("model_ref: iris-cl"), items, client.position_encoding
    )
    assert words == ["iris-classifier-v1"]


# -- completion: inserted defaults are YAML the checker accepts --------------------------------
OPTIMIZER_DOC = """\
model_ref: iris-classifier-v1
optimizer:
  type: {type}
  lr: 0.01
  params:
    $
config:
  epochs: 3
""".replace("$", "")

NODE_DOC = """\
inputs:
  x:
    dtype: float32
    shape: [null, 4]
    columns: [a, b, c, d]
graph:
  - name: n
    type: {type}
    inputs: {{ input: x }}
    params:
      $
outputs:
  y: n.output
""".replace("$", "")


def _apply(text: str, edit: types.TextEdit) -> str:
    """One edit on ASCII text (columns are the same in every encoding)."""
    lines = text.split("\n")
    r = edit.range
    assert r.start.line == r.end.line
    ln = lines[r.start.line]
    lines[r.start.line] = ln[: r.start.character] + edit.new_text + ln[r.end.character :]
    return "\n".join(lines)


async def test_every_inserted_default_is_accepted_by_the_checker(
    cache_dir: Path, workspace: Path, has_catalog: bool
):
    """For every optimizer and node type of the catalog: the server's completion items for its
    params, each applied at the cursor, then the document re-checked by the engine: no
    diagnostic on any inserted value."""
    if not has_catalog:
        pytest.skip("torch is not installed: no catalog")
    from arcgraph.engine.catalog import Catalog
    from arcgraph.engine.core import Engine
    from arcgraph.engine.registry import Registry

    catalog = Catalog.load(next(cache_dir.glob("catalog-*.json")))
    engine = Engine(Registry.scan([workspace]), None, None, catalog)
    cases = [(OPTIMIZER_DOC, n, "trainers/values.trainer.yaml") for n in catalog.optimizer_names()]
    cases += [
        (NODE_DOC, n, "models/values.model.yaml")
        for n in (*catalog.module_names(), *catalog.function_names())
    ]
    client = await start_client(cache_dir, workspace, "neovim@v0.7.0")
    versions: dict[str, int] = {}
    failures: list[str] = []
    inserted = 0
    try:
        for template, type_name, rel in cases:
            uri = uri_of(workspace / rel)
            text = template.format(type=type_name)
            cursor = next(i for i, ln in enumerate(text.split("\n")) if ln.endswith("params:")) + 1
            col = len(text.split("\n")[cursor])
            if uri not in versions:
                versions[uri] = 1
                client.open(uri, text)
            else:
                versions[uri] += 1
                client.replace(uri, text, versions[uri])
            result = await client.text_document_completion_async(
                types.CompletionParams(
                    types.TextDocumentIdentifier(uri), types.Position(cursor, col)
                )
            )
            values = [
                item
                for item in result.items
                if item.text_edit is not None and ": " in item.text_edit.new_text
            ]
            if not values:
                continue
            # every value on a line of its own, in one document: one re-check per type
            lines = text.split("\n")
            added = [
                _apply(text, item.text_edit).split("\n")[cursor]
                for item in values  # type: ignore[arg-type]
            ]
            doc = "\n".join(lines[:cursor] + added + lines[cursor + 1 :])
            diags = engine.check_structure(engine.analyze(workspace / rel, doc))
            for k, line in enumerate(added):
                n = cursor + k
                value_col = line.index(": ") + 2
                inserted += 1
                for d in diags:
                    on_value = d.span.start_line <= n <= d.span.end_line and (
                        d.span.end_line > n or d.span.end_col > value_col
                    )
                    if on_value:
                        failures.append(f"{type_name}: `{line.strip()}`: {d.code} {d.message}")
    finally:
        await stop_client(client)
    assert not failures, "\n".join(failures)
    assert inserted > 500  # the catalog's defaults were tried, not nothing
