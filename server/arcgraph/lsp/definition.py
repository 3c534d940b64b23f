"""Go to definition: `model_ref` -> the model file; `<node>.output` -> the node's name;
an input name -> its declaration; `module.X` -> the module; `loss.inputs.input` -> the output."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from arcgraph.engine.graph import ref_name
from arcgraph.engine.kinds import SpecKind
from arcgraph.lsp import convert, specpaths
from arcgraph.lsp.document import view_or_none
from arcgraph.lsp.feature import on_async
from arcgraph.lsp.outline import Cursor, Entry, Outline

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer


class DefinitionFeature:
    def __init__(self, server: ArcGraphServer) -> None:
        self.server = server

    def register(self, server: ArcGraphServer) -> None:
        on_async(server, types.TEXT_DOCUMENT_DEFINITION, self.definition)

    async def definition(self, params: types.DefinitionParams) -> list[types.Location] | None:
        doc = view_or_none(self.server, params.text_document.uri)
        if doc is None:  # not open (or closed meanwhile): nothing, not an error
            return None
        o = doc.outline_at(params.position)
        c = o.cursor
        if c is None or not c.word or c.on not in ("value", "item"):
            return None
        kind = doc.kind
        if kind == SpecKind.TRAINER and c.value_path == ("model_ref",):
            # the model files are known once the workspace's first scan is in
            await self.server.scan_wait.wait("go to definition")
            path = self.server.index.model_path(c.word)
            if path is None:
                return None
            start = types.Position(0, 0)
            return [types.Location(convert.path_to_uri(path), types.Range(start, start))]
        if kind != SpecKind.MODEL:
            return None
        target = find_target(o, c)
        if target is None:
            return None
        entry, on_value = target
        if on_value:
            rng = doc.range(entry.line, entry.value_start, entry.value_end)
        else:
            rng = doc.range(entry.line, entry.key_start, entry.key_end)
        return [types.Location(doc.uri, rng)]


def find_target(o: Outline, c: Cursor) -> tuple[Entry, bool] | None:
    """The entry a value at the cursor refers to, and whether its value (not key) is meant."""
    path = c.value_path
    word = c.word
    node = specpaths.node_of(path)
    if node is not None and path == (*node, "type"):
        if word.startswith("module."):
            e = o.entry_of(("modules", word.removeprefix("module.")))
            return (e, False) if e else None
        return None
    if path == ("loss", "inputs", "input"):
        e = o.entry_of(("outputs", ref_name(word)))
        if e is not None:
            return e, False
        return _reference(o, ("graph",), word)
    if node is not None and len(path) >= len(node) + 1 and path[len(node)] == "inputs":
        return _reference(o, specpaths.graph_of(node), word)
    if len(path) == 2 and path[0] == "outputs":
        return _reference(o, ("graph",), word)
    if len(path) == 4 and path[0] == "modules" and path[2] == "outputs":
        return _reference(o, ("modules", path[1], "graph"), word)
    return None


def _reference(o: Outline, graph: tuple[str, ...], word: str) -> tuple[Entry, bool] | None:
    name = ref_name(word)
    e = o.node_named(graph, name)
    if e is not None:
        return e, True
    if graph == ("graph",):
        e = o.entry_of(("inputs", name))
        return (e, False) if e else None
    for e in o.values_in((*graph[:-1], "inputs")):
        if e.value == name:
            return e, True
    return None


__all__ = ["DefinitionFeature", "find_target"]
