"""The outline cache never answers from a stale text.

Completion, hover and definition read a cached outline that an edit updates by rescanning
only around the changed lines. Here one large model spec is edited in place (incremental
changes: a character, a new line, a new graph node, a deleted node) and, after every edit,
each answer must equal the answer for the same text opened fresh in a second document
(a full scan), item for item, and must differ where the edit changed what it names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from .conftest import RecordingClient, uri_of

pytestmark = pytest.mark.asyncio(loop_scope="module")

N_NODES = 300  # about 3,000 lines: many outline checkpoints before and after the probes


def big_model(n: int = N_NODES) -> str:
    head = [
        "inputs:",
        "  features:",
        "    dtype: float32",
        "    shape: [null, 8]",
        "    columns: [a, b, c, d, e, f, g, h]",
        "modules:",
        "  block:",
        "    inputs: [x]",
        "    graph:",
        "      - name: inner",
        "        type: torch.nn.Linear",
        "        params: { in_features: 8, out_features: 8 }",
        "        inputs: { input: x }",
        "    outputs:",
        "      out: inner.output",
        "graph:",
    ]
    body: list[str] = []
    prev = "features"
    for i in range(n):
        body += [
            f"  - name: fc{i}",
            "    type: torch.nn.Linear",
            "    params:",
            "      in_features: 8",
            "      out_features: 8",
            "    inputs:",
            f"      input: {prev}",
            f"  - name: act{i}",
            "    type: module.block" if i % 50 == 7 else "    type: torch.nn.functional.relu",
            "    inputs:",
            f"      input: fc{i}.output",
        ]
        prev = f"act{i}.output"
    tail = [
        "outputs:",
        f"  prediction: {prev}",
        "loss:",
        "  type: torch.nn.functional.mse_loss",
        "  inputs:",
        "    input: prediction",
        "    target: y",
    ]
    return "\n".join(head + body + tail) + "\n"


def line_of(text: str, needle: str) -> int:
    return text.split("\n").index(needle)


def probes(text: str) -> dict[str, types.Position]:
    """Positions that read far-away parts of the outline (by what is on their lines)."""
    lines = text.split("\n")
    ref = line_of(text, "      input: fc250.output")
    key = line_of(text, "  - name: fc240") + 3  # `in_features:` of fc240
    ntype = line_of(text, "  - name: act240") + 1
    feat = line_of(text, "      input: features")
    late = line_of(text, "  - name: fc280") + 6  # `input: act279.output`
    out = line_of(text, "outputs:") + 1
    return {
        "ref value": types.Position(ref, len(lines[ref]) - 3),
        "params key": types.Position(key, 8),
        "node type": types.Position(ntype, len(lines[ntype])),
        "input ref": types.Position(feat, len(lines[feat]) - 2),
        "late ref": types.Position(late, len(lines[late]) - 9),
        "model output": types.Position(out, len(lines[out]) - 2),
        "block input": types.Position(line_of(text, "        inputs: { input: x }"), 25),
    }


async def answers(client: RecordingClient, uri: str, text: str) -> dict[str, Any]:
    """Completion items, hover and definition ranges at every probe; the symbols."""
    ident = types.TextDocumentIdentifier(uri)
    out: dict[str, Any] = {}
    for name, p in probes(text).items():
        done = await client.text_document_completion_async(types.CompletionParams(ident, p))
        items = done.items if isinstance(done, types.CompletionList) else (done or [])
        hover = await client.text_document_hover_async(types.HoverParams(ident, p))
        found = await client.text_document_definition_async(types.DefinitionParams(ident, p))
        found = found if isinstance(found, list) else [found] if found else []
        out[name] = (
            [(i.label, i.kind, i.detail, i.sort_text, i.text_edit) for i in items],
            None if hover is None else (hover.contents, hover.range),
            [loc.range for loc in found],
        )
    out["symbols"] = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(ident)
    )
    return out


def labels(a: dict[str, Any], probe: str) -> set[str]:
    return {item[0] for item in a[probe][0]}


def hover_text(a: dict[str, Any], probe: str) -> str:
    hover = a[probe][1]
    return "" if hover is None else hover[0].value


async def check(
    client: RecordingClient, workspace: Path, uri: str, text: str, n: int
) -> dict[str, Any]:
    """The edited document's answers, which must equal a fresh document's on the same text."""
    got = await answers(client, uri, text)
    assert got == await answers(client, uri, text)  # asked again: the same (cached) answers
    fresh = uri_of(workspace / "models" / f"fresh-{n}.model.yaml")
    client.open(fresh, text)
    want = await answers(client, fresh, text)
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(fresh))
    )
    for probe in want:
        assert got[probe] == want[probe], probe
    return got


async def test_cached_outline_follows_incremental_edits(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "models" / "big-cached.model.yaml")
    text = big_model()
    client.open(uri, text)
    version = 1
    before = await check(client, workspace, uri, text, 0)
    assert "fc249.output" in labels(before, "ref value")
    assert "module.block" in labels(before, "node type")
    assert "Node `fc250`" in hover_text(before, "ref value")
    assert "Input `features`" in hover_text(before, "input ref")
    assert before["ref value"][2] and before["block input"][2]

    def edit(line: int, start: int, end: int, new: str) -> str:
        nonlocal version, text
        version += 1
        lines = text.split("\n")
        lines[line] = lines[line][:start] + new + lines[line][end:]
        client.edit(uri, version, line, start, end, new)
        text = "\n".join(lines)
        return text

    # one character: node fc249 becomes fc2499 (completion and hover there must follow)
    at = line_of(text, "  - name: fc249")
    edit(at, len("  - name: fc249"), len("  - name: fc249"), "9")
    one = await check(client, workspace, uri, text, 1)
    assert one["symbols"] != before["symbols"]
    assert "fc2499.output" in labels(one, "ref value") and "fc249.output" not in labels(
        one, "ref value"
    )
    assert one["ref value"][0] != before["ref value"][0]

    # a new line near the top: every line number after it moves
    at = line_of(text, "    columns: [a, b, c, d, e, f, g, h]")
    edit(at, len(text.split("\n")[at]), len(text.split("\n")[at]), "\n    # note")
    shifted = await check(client, workspace, uri, text, 2)
    assert hover_text(shifted, "ref value") != hover_text(one, "ref value")  # "(line N)"
    assert shifted["ref value"][2] != one["ref value"][2]

    # a new graph node early on: the list positions of every later node move
    at = line_of(text, "  - name: fc3")
    edit(at, 0, 0, "  - name: extra\n    type: torch.nn.ReLU\n")
    added = await check(client, workspace, uri, text, 3)
    assert "extra.output" in labels(added, "ref value")

    # a node deleted (a multi-line range replaced by nothing)
    version += 1
    start = line_of(text, "  - name: fc5")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(start, 0), types.Position(start + 7, 0)),
                    text="",
                )
            ],
        )
    )
    lines = text.split("\n")
    text = "\n".join(lines[:start] + lines[start + 7 :])
    removed = await check(client, workspace, uri, text, 4)
    assert "fc5.output" not in labels(removed, "ref value")
    assert "fc5.output" in labels(added, "ref value")
