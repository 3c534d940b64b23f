"""Find references and rename.

In a model spec: on a node name or a `<node>.output` reference -> the node's definition (with
includeDeclaration) and every use (node inputs, outputs, the loss, module graphs); on an input
name -> its uses; anywhere else in a model spec, or on a trainer's `model_ref` -> the
`model_ref` values of the trainers that use the model (files under the registry's roots and
open documents; an open document's unsaved text wins over the disk), with includeDeclaration
also the model file itself (its first position). Those wait for the workspace's first scan
(lsp/scan_wait.py): before it, the trainers on disk are not known yet.

Rename works on node names only: the definition and every `x.output` / `x.output.0` use in
the document. New names must match `^[a-zA-Z0-9_]+$` and not collide with another node or
input of the same graph; otherwise the request fails with an error the editor shows.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from arcgraph.engine.kinds import SpecKind, model_id_of
from arcgraph.lsp import convert
from arcgraph.lsp.definition import find_target
from arcgraph.lsp.document import DocumentView, view_or_none
from arcgraph.lsp.feature import on, on_async
from arcgraph.lsp.outline import Cursor, Entry, Outline, outline

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer


class RequestFailed(JsonRpcException):
    CODE = -32803  # LSP RequestFailed: the editor shows the message


NAME = re.compile(r"^[a-zA-Z0-9_]+$")


# -- within one model spec -------------------------------------------------------------------
def _is_graph(path: tuple[str, ...]) -> bool:
    return path == ("graph",) or (len(path) == 3 and path[0] == "modules" and path[2] == "graph")


def is_node_name(e: Entry) -> bool:
    return e.key == "name" and len(e.path) >= 2 and _is_graph(e.path[:-1])


def is_input_decl(e: Entry) -> bool:
    if e.path == ("inputs",) and e.key is not None:
        return True
    p = e.path
    return e.key is None and len(p) == 4 and p[0] == "modules" and p[2] == "inputs"


def target_name(e: Entry, on_value: bool) -> str:
    return e.value if on_value else (e.key or "")


def _as_cursor(e: Entry) -> Cursor:
    on_ = "value" if e.key is not None else "item"
    return Cursor(e.path, on_, e.key, e.line, e.value_start, e.value_end, e.value_start,
                  e.value, e.key_start)  # fmt: skip


def target_at(o: Outline) -> tuple[Entry, bool] | None:
    """The declaration the cursor is on or refers to: (entry, whether its value is meant)."""
    c = o.cursor
    if c is None or not c.word:
        return None
    if c.on == "key":
        e = o.entry_of((*c.path, c.word))
        if e is not None and (is_input_decl(e) or e.path == ("outputs",)):
            return e, False
        return None
    if c.on not in ("value", "item"):
        return None
    for e in o.on_line(c.line):
        on_it = e.value_start <= c.col <= e.value_end and e.value
        if on_it and (is_node_name(e) or is_input_decl(e)):
            return e, True
    return find_target(o, c)


def uses_of(o: Outline, target: tuple[Entry, bool]) -> list[Entry]:
    out = []
    for e in o.entries:
        if not e.value or e == target[0]:
            continue
        try:
            t = find_target(o, _as_cursor(e))
        except Exception:
            continue
        if t is not None and t[0] == target[0]:
            out.append(e)
    return out


def name_columns(line: str, e: Entry, name: str) -> tuple[int, int]:
    """The columns of `name` inside the use `e` (`x.output`, `"x.output"`, `module.x`)."""
    raw = line[e.value_start : e.value_end]
    skip = 1 if raw[:1] in ("'", '"') else 0
    if raw[skip:].startswith("module."):
        skip += len("module.")
    idx = raw.find(name, skip)
    if idx < 0:
        idx = skip
    return e.value_start + idx, e.value_start + idx + len(name)


def decl_range(doc: DocumentView, e: Entry, on_value: bool, name: str) -> types.Range:
    if on_value:
        s, t = name_columns(doc.lines[e.line], e, name)
        return doc.range(e.line, s, t)
    return doc.range(e.line, e.key_start, e.key_end)


# -- trainers ------------------------------------------------------------------------------
class ReferencesFeature:
    def __init__(self, server: ArcGraphServer) -> None:
        self.server = server

    def register(self, server: ArcGraphServer) -> None:
        on_async(server, types.TEXT_DOCUMENT_REFERENCES, self.references)

    async def references(self, params: types.ReferenceParams) -> list[types.Location]:
        doc = view_or_none(self.server, params.text_document.uri)
        if doc is None:
            return []
        include = params.context.include_declaration if params.context else False
        o = doc.outline_at(params.position)
        kind = doc.kind
        if kind == SpecKind.TRAINER:
            c = o.cursor
            if c is not None and c.on == "value" and c.value_path == ("model_ref",) and c.word:
                return await self.workspace_references(c.word, include)
            return []
        if kind != SpecKind.MODEL:
            return []
        target = target_at(o)
        if target is None:
            return await self.workspace_references(model_id_of(doc.path), include)
        entry, on_value = target
        name = target_name(entry, on_value)
        out = []
        if include:
            out.append(types.Location(doc.uri, decl_range(doc, entry, on_value, name)))
        for e in uses_of(o, target):
            s, t = name_columns(doc.lines[e.line], e, name)
            out.append(types.Location(doc.uri, doc.range(e.line, s, t)))
        return out

    async def workspace_references(self, model_id: str, include: bool) -> list[types.Location]:
        """`model_references` once the workspace's first scan is in (lsp/scan_wait.py)."""
        await self.server.scan_wait.wait("find references")
        return self.model_references(model_id, include)

    def model_references(self, model_id: str, include: bool) -> list[types.Location]:
        server = self.server
        index = server.index
        texts: dict[Path, tuple[str, str]] = {}  # path -> (uri, text)
        reg = index.registry
        if reg is not None:  # the index knows each file's model_ref: read only those files
            for path in reg.trainers_of(model_id):
                text = reg.text_of(path)
                if text is not None:
                    texts[path] = (convert.path_to_uri(path), text)
        for uri in server.open_uris():  # the editors' text wins
            doc = view_or_none(server, uri)
            if doc is not None:
                texts[doc.path.resolve()] = (uri, doc.text)
        out: list[types.Location] = []
        if include:
            model = index.model_path(model_id)
            if model is not None:
                start = types.Position(0, 0)
                out.append(types.Location(convert.path_to_uri(model), types.Range(start, start)))
        for path in sorted(texts):
            uri, text = texts[path]
            if "model_ref" not in text:
                continue
            o = outline(text)
            e = o.entry_of(("model_ref",))
            if e is None or e.value != model_id:
                continue
            lines = convert.split_lines(text)
            enc = convert.normalize_encoding(server.workspace.position_encoding)
            s, t = name_columns(lines[e.line], e, model_id)
            rng = types.Range(
                convert.to_position(lines, e.line, s, enc),
                convert.to_position(lines, e.line, t, enc),
            )
            out.append(types.Location(uri, rng))
        return out


class RenameFeature:
    def __init__(self, server: ArcGraphServer) -> None:
        self.server = server

    def register(self, server: ArcGraphServer) -> None:
        on(server, types.TEXT_DOCUMENT_PREPARE_RENAME, self.prepare_rename)
        on(server, types.TEXT_DOCUMENT_RENAME, self.rename)

    def _node_at(self, uri: str, pos: types.Position):
        doc = view_or_none(self.server, uri)
        if doc is None or doc.kind != SpecKind.MODEL:
            return None
        o = doc.outline_at(pos)
        target = target_at(o)
        if target is None or not target[1] or not is_node_name(target[0]):
            return None
        return doc, o, target

    def prepare_rename(
        self, params: types.PrepareRenameParams
    ) -> types.PrepareRenamePlaceholder | None:
        if view_or_none(self.server, params.text_document.uri) is None:
            return None  # not open: nothing to rename, not an error
        found = self._node_at(params.text_document.uri, params.position)
        if found is None:
            raise RequestFailed("arcgraph: only node names can be renamed")
        doc, o, (entry, _) = found
        c = o.cursor
        assert c is not None
        # the range at the cursor: the definition or the use it is on
        for e in [entry, *uses_of(o, (entry, True))]:
            if e.line == c.line and e.value_start <= c.col <= e.value_end:
                s, t = name_columns(doc.lines[e.line], e, entry.value)
                return types.PrepareRenamePlaceholder(doc.range(e.line, s, t), entry.value)
        s, t = name_columns(doc.lines[entry.line], entry, entry.value)
        return types.PrepareRenamePlaceholder(doc.range(entry.line, s, t), entry.value)

    def rename(self, params: types.RenameParams) -> types.WorkspaceEdit | None:
        if view_or_none(self.server, params.text_document.uri) is None:
            return None
        found = self._node_at(params.text_document.uri, params.position)
        if found is None:
            raise RequestFailed("arcgraph: only node names can be renamed")
        doc, o, (entry, _) = found
        new = params.new_name
        if not NAME.match(new):
            raise JsonRpcInvalidParams(
                f"arcgraph: {new!r} is not a valid node name (letters, digits and _ only)"
            )
        old = entry.value
        if new != old:
            graph = entry.path[:-1]
            taken = set()
            for idx in o.items_at(graph):
                n = o.entry_of((*graph, idx, "name"))
                if n is not None:
                    taken.add(n.value)
            if graph == ("graph",):
                taken.update(o.keys_at(("inputs",)))
            else:
                taken.update(e.value for e in o.entries if e.path[:-1] == (*graph[:-1], "inputs"))
            if new in taken:
                raise JsonRpcInvalidParams(
                    f"arcgraph: {new!r} is already the name of a node or input"
                )
        edits = []
        for e in [entry, *uses_of(o, (entry, True))]:
            s, t = name_columns(doc.lines[e.line], e, old)
            edits.append(types.TextEdit(doc.range(e.line, s, t), new))
        caps = self.server.client_capabilities
        return convert.workspace_edit(caps, doc.uri, doc.version, edits)


__all__ = ["ReferencesFeature", "RenameFeature"]
