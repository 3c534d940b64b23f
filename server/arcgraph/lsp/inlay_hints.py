"""Inlay hints on a model spec: each node's output shape and parameter count after its
`name:` value, each graph output's shape after its reference; from the last shape probe
(lsp/shapes.py), so an answer never waits on torch ([] until the probe has answered)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from arcgraph.engine.kinds import SpecKind
from arcgraph.engine.summary import ModelShapes
from arcgraph.lsp import convert, module_hints, wire
from arcgraph.lsp import shapes as shape_data
from arcgraph.lsp.document import DocumentView, view_or_none
from arcgraph.lsp.feature import on
from arcgraph.lsp.outline import Entry

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer


class InlayHintsFeature:
    def __init__(self, server: ArcGraphServer) -> None:
        self.server = server
        self._last: dict[str, _Spots] = {}  # per open document: its last text's spots
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
        return self._spots(doc, found).hints_in(doc, params.range)  # wire.Prepared

    def _spots(self, doc: DocumentView, found: ModelShapes) -> _Spots:
        """The spots of this text for this probe answer, kept with the text's outline state;
        a new one reuses the hints of the document's previous text that did not move."""
        memo = doc.state.memo
        kept = memo.get(_MEMO)
        if isinstance(kept, _Spots) and kept.found is found:
            return kept
        last = self._last.get(doc.uri)
        spots = memo[_MEMO] = _Spots(doc, found, last.made if last is not None else {})
        open_docs = self.server.workspace.text_documents
        for uri in [u for u in self._last if u not in open_docs]:
            del self._last[uri]
        self._last[doc.uri] = spots
        return spots


Hint = types.InlayHint
Place = tuple[int, int, str]  # a hint's line and column (client units) and its label
Made = tuple[Hint, Any]  # a hint and its JSON-ready form (lsp/wire.py)


class _Spots:
    """Where each hint of one text goes and what it says, for one probe answer, in line
    order; a hint is made when a request's range first reaches it. An edit makes a new text
    (a new outline state, so new spots), and then only the hints the editor asks for are
    looked at (VS Code asks for the lines around its window, not the whole file), and those
    at the same place with the same label as in the previous text are that text's hints.
    Each hint is kept with its JSON-ready form: a request over the whole file (Neovim's, on
    every change) sends ~900 of them, and pygls would unstructure each one every time."""

    def __init__(self, doc: DocumentView, found: ModelShapes, earlier: dict[Place, Made]) -> None:
        self.found = found
        labels = shape_data.hint_labels(found)
        o = doc.outline
        spots: list[tuple[Entry, str]] = []
        names: dict[str, Entry] = {}  # graph item -> its (first) `name` entry
        # one pass over the entries: a new text's outline lookups (built for all its 10k
        # entries) are not needed for these few paths
        for e in o.entries:
            path = e.path
            if len(path) == 2 and e.key == "name" and path[0] == "graph" and path[1].isdigit():
                names.setdefault(path[1], e)
            elif path == ("outputs",) and e.key:
                label = labels.outputs.get(e.key)
                if label is not None:
                    spots.append((e, label))
        for entry in names.values():
            label = labels.nodes.get(entry.value)
            if label is not None:
                spots.append((entry, label))
        if found.module_uses:  # the lines of the `modules` the graph uses
            spots += module_hints.module_spots(o, found)
        spots.sort(key=lambda spot: spot[0].line)  # stable: a line's hints keep their order
        self.spots = spots
        self.lines = [entry.line for entry, _ in spots]
        self.hints: list[Made | None] = [None] * len(spots)
        self.earlier = earlier
        self.made: dict[Place, Made] = {}  # this text's hints made so far, by place

    def hints_in(self, doc: DocumentView, rng: types.Range) -> wire.Prepared[Hint]:
        """The hints whose position lies in `rng` (both ends included), in document order."""
        start, end = rng.start, rng.end
        lo, hi = (start.line, start.character), (end.line, end.character)
        out: list[Hint] = []
        forms: list[Any] = []
        hints = self.hints
        for i in range(bisect_left(self.lines, lo[0]), bisect_right(self.lines, hi[0])):
            made = hints[i]
            if made is None:
                made = hints[i] = self._make(doc, *self.spots[i])
            hint = made[0]
            if lo <= (hint.position.line, hint.position.character) <= hi:
                out.append(hint)
                forms.append(made[1])
        return wire.Prepared(out, forms)

    def _make(self, doc: DocumentView, entry: Entry, label: str) -> Made:
        place = (*_position(doc, entry), label)
        made = self.earlier.get(place)
        if made is None:
            hint = types.InlayHint(
                position=types.Position(place[0], place[1]),
                label=label,
                kind=types.InlayHintKind.Type,
                padding_left=True,
            )
            made = hint, wire.unstructured(hint, types.InlayHint)
        self.made[place] = made
        return made


_MEMO = ("inlay_hints",)


def _position(doc: DocumentView, entry: Entry) -> tuple[int, int]:
    """After the value, when only a comment (or nothing) follows it on its line; else (a
    flow mapping) at the end of the line's text."""
    line = doc.lines[entry.line]
    rest = line[entry.value_end :].strip()
    col = entry.value_end if not rest or rest.startswith("#") else len(line.rstrip())
    if line[:col].isascii():  # the column in the client's units: the same in any encoding
        return entry.line, col
    pos = convert.to_position(doc.lines, entry.line, col, doc.encoding)
    return pos.line, pos.character
