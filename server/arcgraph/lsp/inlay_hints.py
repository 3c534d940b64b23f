"""Inlay hints on a model spec: each node's output shape and parameter count after its
`name:` value, each graph output's shape after its reference; from the last shape probe
(lsp/shapes.py), so an answer never waits on torch ([] until the probe has answered)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from arcgraph.engine.kinds import SpecKind
from arcgraph.engine.summary import ModelShapes, format_shape
from arcgraph.lsp import convert, module_hints
from arcgraph.lsp import shapes as shape_data
from arcgraph.lsp.document import DocumentView, view_or_none
from arcgraph.lsp.feature import on
from arcgraph.lsp.outline import Entry

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer


class InlayHintsFeature:
    def __init__(self, server: ArcGraphServer) -> None:
        self.server = server
        shape_data.ShapeRefresh(server)  # kept by the engine's listeners

    def register(self, server: ArcGraphServer) -> None:
        on(server, types.TEXT_DOCUMENT_INLAY_HINT, self.inlay_hints, types.InlayHintOptions())

    def inlay_hints(self, params: types.InlayHintParams) -> list[types.InlayHint]:
        doc = view_or_none(self.server, params.text_document.uri)
        if doc is None or doc.kind != SpecKind.MODEL:
            return []
        found = shape_data.model_shapes(self.server, doc.path)
        if found is None:
            return []
        start, end = params.range.start, params.range.end
        lo, hi = (start.line, start.character), (end.line, end.character)
        return [
            h for h in _all_hints(doc, found) if lo <= (h.position.line, h.position.character) <= hi
        ]


def _all_hints(doc: DocumentView, found: ModelShapes) -> list[types.InlayHint]:
    """Every hint of the document, kept with its outline state for this probe answer: a
    5,000-line model's hints are made once per text and probe, then only filtered."""
    memo = doc.state.memo
    kept = memo.get(_MEMO)
    if isinstance(kept, tuple) and kept[0] is found:
        return kept[1]
    o = doc.outline
    hints: list[types.InlayHint] = []
    for idx in o.items_at(("graph",)):
        entry = o.entry_of(("graph", idx, "name"))
        node = found.by_name.get(entry.value) if entry is not None else None
        if entry is not None and node is not None:
            hints.append(_hint(doc, entry, shape_data.node_hint(node)))
    for entry in o.at(("outputs",)):
        shape = found.outputs.get(entry.key or "")
        if shape is not None and entry.key:
            hints.append(_hint(doc, entry, f"→ {format_shape(shape)}"))
    if found.module_uses:  # the lines of the `modules` the graph uses
        hints += [_hint(doc, e, label) for e, label in module_hints.module_spots(o, found)]
        hints.sort(key=lambda h: (h.position.line, h.position.character))
    memo[_MEMO] = (found, hints)
    return hints


_MEMO = ("inlay_hints",)


def _hint(doc: DocumentView, entry: Entry, label: str) -> types.InlayHint:
    """After the value, when only a comment (or nothing) follows it on its line; else (a
    flow mapping) at the end of the line's text."""
    line = doc.lines[entry.line]
    rest = line[entry.value_end :].strip()
    col = entry.value_end if not rest or rest.startswith("#") else len(line.rstrip())
    # the column in the client's units: the same in any encoding on an ASCII line
    position = (
        types.Position(entry.line, col)
        if line[:col].isascii()
        else convert.to_position(doc.lines, entry.line, col, doc.encoding)
    )
    return types.InlayHint(
        position=position,
        label=label,
        kind=types.InlayHintKind.Type,
        padding_left=True,
    )
