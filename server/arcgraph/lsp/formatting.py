"""Document and range formatting (engine/formatting.py) as a minimal set of line edits.

The edits replace whole lines (positions at column 0), so they need no column conversion.
A range is formatted by formatting the whole document and keeping the edits that touch the
range's lines, but only when those edits alone keep the document's data and comments: a key
that moves across the range's edge would be deleted without its insertion (or doubled), so
such a range gets no edits (formatting the whole document moves it). Editors call range
formatting on paste too, where a silent reorder of the whole file would surprise.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from lsprotocol import types

from arcgraph.engine.formatting import format_spec, same_content
from arcgraph.engine.kinds import SpecKind
from arcgraph.engine.source import normalize_newlines
from arcgraph.lsp.document import view_or_none
from arcgraph.lsp.feature import on

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer

Hunk = tuple[int, int, list[str]]  # old lines [start, end) -> new lines


class FormattingFeature:
    def __init__(self, server: ArcGraphServer) -> None:
        self.server = server

    def register(self, server: ArcGraphServer) -> None:
        on(server, types.TEXT_DOCUMENT_FORMATTING, self.formatting)
        on(server, types.TEXT_DOCUMENT_RANGE_FORMATTING, self.range_formatting)

    def _hunks(self, uri: str, tab_size: int) -> tuple[list[str], list[Hunk]] | None:
        doc = view_or_none(self.server, uri)
        if doc is None or doc.kind is SpecKind.NONE:
            return None
        text = normalize_newlines(doc.text)
        out = format_spec(text, doc.kind, tab_size)
        if out is None or out == text:
            return None
        old, new = _split(text), _split(out)
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        hunks = [
            (i1, i2, new[j1:j2]) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal"
        ]
        return old, hunks

    def formatting(self, params: types.DocumentFormattingParams) -> list[types.TextEdit]:
        found = self._hunks(params.text_document.uri, params.options.tab_size)
        return [] if found is None else _edits(found[1])

    def range_formatting(self, params: types.DocumentRangeFormattingParams) -> list[types.TextEdit]:
        found = self._hunks(params.text_document.uri, params.options.tab_size)
        if found is None:
            return []
        old, hunks = found
        first, last = params.range.start.line, params.range.end.line
        if params.range.end.character == 0 and last > first:
            last -= 1  # a selection of whole lines ends at the next line's start
        chosen = [h for h in hunks if h[0] <= last and (h[1] > first or (h[0] == h[1] >= first))]
        if not chosen:
            return []
        if not same_content("".join(old), "".join(_apply(old, chosen))):
            return []  # a key moves across the range's edge: only the whole document can
        return _edits(chosen)


def _split(text: str) -> list[str]:
    """Lines with their breaks (the last one may have none)."""
    return text.splitlines(keepends=True)


def _apply(old: list[str], hunks: list[Hunk]) -> list[str]:
    out: list[str] = []
    pos = 0
    for i1, i2, new in hunks:
        out.extend(old[pos:i1])
        out.extend(new)
        pos = i2
    out.extend(old[pos:])
    return out


def _edits(hunks: list[Hunk]) -> list[types.TextEdit]:
    return [
        types.TextEdit(
            types.Range(types.Position(i1, 0), types.Position(i2, 0)),
            "".join(new),
        )
        for i1, i2, new in hunks
    ]
