"""Document symbols: the sections, their keys, the graph's nodes and the modules' nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from arcgraph.engine.kinds import SpecKind
from arcgraph.lsp.document import DocumentView, view_or_none
from arcgraph.lsp.feature import on
from arcgraph.lsp.outline import Entry

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer

_SECTION = types.SymbolKind.Namespace


class SymbolsFeature:
    def __init__(self, server: ArcGraphServer) -> None:
        self.server = server

    def register(self, server: ArcGraphServer) -> None:
        on(server, types.TEXT_DOCUMENT_DOCUMENT_SYMBOL, self.symbols)

    def symbols(self, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        doc = view_or_none(self.server, params.text_document.uri)
        if doc is None:  # not open (or closed meanwhile): nothing, not an error
            return []
        if doc.kind == SpecKind.NONE:
            return []
        # once per text: editors ask again on every focus change, the outline view and so on
        memo = doc.state.memo
        key = ("symbols", doc.encoding)
        if key not in memo:
            memo[key] = _Symbols(doc).sections()
        found = memo[key]
        assert isinstance(found, list)
        return list(found)


class _Symbols:
    def __init__(self, doc: DocumentView) -> None:
        self.doc = doc
        self.o = doc.outline
        # one pass: the first entry and the last line under every path prefix
        self.first: dict[tuple[str, ...], Entry] = {}
        self.last: dict[tuple[str, ...], int] = {}
        for e in self.o.entries:
            fp = e.full_path
            for i in range(1, len(fp) + 1):
                prefix = fp[:i]
                self.first.setdefault(prefix, e)
                self.last[prefix] = max(self.last.get(prefix, e.line), e.line)

    def span(self, prefix: tuple[str, ...], first: Entry) -> types.Range:
        last = max(self.last.get(prefix, first.line), first.line)
        end = len(self.doc.lines[last]) if last < len(self.doc.lines) else 0
        return self.doc.range(first.line, first.key_start, end, end_line=last)

    def key_symbol(
        self, e: Entry, kind: types.SymbolKind, children: list[types.DocumentSymbol] | None = None
    ) -> types.DocumentSymbol:
        return types.DocumentSymbol(
            name=e.key or e.value or "?",
            kind=kind,
            range=self.span(e.full_path, e),
            selection_range=self.doc.range(e.line, e.key_start, e.key_end),
            detail=e.value or None,
            children=children,
        )

    def sections(self) -> list[types.DocumentSymbol]:
        out = []
        for e in self.o.at(()):
            if e.key is None:
                continue
            if e.key == "graph":
                children = self.nodes(("graph",))
            elif e.key == "modules":
                children = [
                    self.key_symbol(m, types.SymbolKind.Module, self.nodes((*m.full_path, "graph")))
                    for m in self.o.at(("modules",))
                    if m.key is not None
                ]
            else:
                kind = (
                    types.SymbolKind.Variable
                    if e.key in ("inputs", "outputs")
                    else types.SymbolKind.Property
                )
                children = [self.key_symbol(k, kind) for k in self.o.at((e.key,)) if k.key]
            out.append(self.key_symbol(e, _SECTION, children or None))
        return out

    def nodes(self, graph: tuple[str, ...]) -> list[types.DocumentSymbol]:
        out = []
        for idx in self.o.items_at(graph):
            item = (*graph, idx)
            first = self.first.get(item)
            if first is None:
                continue
            name = self.first.get((*item, "name"))
            type_entry = self.first.get((*item, "type"))
            ntype = type_entry.value if type_entry is not None else None
            sel = name if name is not None else first
            start = (first.line, max(first.key_start - 2, 0))
            rng = self.span(item, first)
            rng = types.Range(self.doc.range(start[0], start[1], start[1]).start, rng.end)
            out.append(
                types.DocumentSymbol(
                    name=name.value if name is not None and name.value else f"[{idx}]",
                    kind=types.SymbolKind.Function,
                    range=rng,
                    selection_range=self.doc.range(sel.line, sel.value_start, sel.value_end)
                    if name is not None
                    else self.doc.range(sel.line, sel.key_start, sel.key_end),
                    detail=ntype or None,
                )
            )
        return out
