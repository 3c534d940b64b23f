"""Hover: key docs from the schemas, torch signatures from the catalog, model summaries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from arcgraph.engine.catalog import CallableInfo, Catalog
from arcgraph.engine.checks.model_summary import ModelSummary, summarize_model
from arcgraph.engine.kinds import SpecKind
from arcgraph.lsp import callback_docs, convert, lr_schedulers, shape_hover, specpaths
from arcgraph.lsp.definition import find_target
from arcgraph.lsp.document import view_or_none
from arcgraph.lsp.feature import on
from arcgraph.lsp.outline import Cursor, Outline

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer


class HoverFeature:
    def __init__(self, server: ArcGraphServer) -> None:
        self.server = server

    def register(self, server: ArcGraphServer) -> None:
        on(server, types.TEXT_DOCUMENT_HOVER, self.hover)

    def hover(self, params: types.HoverParams) -> types.Hover | None:
        doc = view_or_none(self.server, params.text_document.uri)
        if doc is None:  # not open (or closed meanwhile): nothing, not an error
            return None
        o = doc.outline_at(params.position)
        c = o.cursor
        if c is None or not c.word or c.on == "comment":
            return None
        kind = doc.kind
        if kind == SpecKind.NONE:
            return None
        md = self.markdown(kind, o, c)
        if kind == SpecKind.MODEL:  # shapes and sizes, once the shape probe answered
            shapes = shape_hover.node_markdown(self.server, doc.path, o, c)
            md = f"{md}\n\n{shapes}" if md and shapes else md or shapes
        if not md:
            return None
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=md),
            range=doc.range(c.line, c.start, c.end),
        )

    def markdown(self, kind: SpecKind, o: Outline, c: Cursor) -> str | None:
        catalog = self.server.index.catalog
        if c.on == "key" and c.key:
            full = (*c.path, c.key)
            owner = specpaths.callable_for(o, c.path, catalog)
            if owner is not None and owner[0] is not None:
                p = owner[0].param(c.key)
                if p is not None:
                    md = specpaths.param_markdown(p, owner[1])
                    note = lr_schedulers.param_note(catalog, owner[1], c.key) if catalog else None
                    return f"{md}\n\n{note}" if note else md
            if kind == SpecKind.TRAINER:
                md = callback_docs.param_markdown(o, c.path, c.key)
                if md:
                    return md
            args, owner_name = specpaths.node_input_args(o, c.path, catalog)
            for p in args:
                if p.name == c.key:
                    return specpaths.param_markdown(p, owner_name)
            schema = specpaths.schema_at(kind, full)
            return specpaths.schema_markdown(schema) if schema else None
        path = c.value_path
        word = c.word
        if kind == SpecKind.TRAINER and path == ("model_ref",):
            return self.model_markdown(word)
        if kind == SpecKind.TRAINER and callback_docs.is_type_path(path):
            md = callback_docs.type_markdown(word)
            if md:
                return md
        if catalog is not None:
            info: CallableInfo | None = None
            if kind == SpecKind.TRAINER and lr_schedulers.is_type_path(path):
                md = lr_schedulers.type_markdown(catalog, word)
                if md:
                    return md
            if kind == SpecKind.TRAINER and path == ("optimizer", "type"):
                info = catalog.optimizer(word)
            elif kind == SpecKind.MODEL and path == ("loss", "type"):
                info = catalog.function(word) or catalog.module(word)
            elif kind == SpecKind.MODEL and _is_node_type(path):
                info = catalog.module(word) or catalog.function(word)
            if info is not None:
                return info.markdown()
        if kind == SpecKind.MODEL and _is_node_type(path) and word == "arc.stack":
            return specpaths.STACK_MARKDOWN
        if kind == SpecKind.MODEL and _is_node_type(path) and word.startswith("module."):
            return _module_markdown(o, word.removeprefix("module."))
        if kind == SpecKind.MODEL:
            ref = _reference_markdown(o, c, catalog)
            if ref:
                return ref
        schema = specpaths.schema_at(kind, path)
        return specpaths.schema_markdown(schema) if schema else None

    def model_markdown(self, model_id: str) -> str | None:
        index = self.server.index
        path = index.model_path(model_id)
        if path is None or index.registry is None:
            return None
        s = summarize_model(index.registry, path, model_id, index.catalog)
        if s is None:
            return None
        shapes = shape_hover.model_markdown(self.server, path)
        md = model_summary_markdown(s)
        return f"{md}\n\n{shapes}" if shapes else md


def model_summary_markdown(s: ModelSummary) -> str:
    lines = [f"**Model `{s.model_id}`** \u2014 [{s.path.name}]({convert.path_to_uri(s.path)})"]
    if s.inputs:
        ins = ", ".join(
            f"`{name}` ({', '.join(cols)})" if cols else f"`{name}`"
            for name, cols in s.inputs.items()
        )
        lines.append(f"Inputs: {ins}")
    if s.outputs:
        lines.append("Outputs: " + ", ".join(f"`{o}`" for o in s.outputs))
    if s.loss_type:
        loss = f"Loss: `{s.loss_type}`"
        if s.loss_input or s.loss_target:
            loss += f" (input `{s.loss_input}`, target `{s.loss_target}`)"
        lines.append(loss)
    elif s.loss_problem:
        lines.append(f"Loss: none \u2014 {s.loss_problem}")
    return "\n\n".join(lines)


def _reference_markdown(o: Outline, c: Cursor, catalog: Catalog | None) -> str | None:
    """A reference (`hidden.output`, an input name, a model output): what it names."""
    target = find_target(o, c)
    if target is None:
        return None
    entry, _ = target
    if entry.key == "name":  # a node
        ntype = o.value_of((*entry.path, "type")) or "?"
        parts = [f"**Node `{entry.value}`** — `{ntype}` (line {entry.line + 1})"]
        info: CallableInfo | None = None
        if catalog is not None and ntype:
            info = catalog.module(ntype) or catalog.function(ntype)
        if info is not None:
            parts.append(info.markdown())
        return "\n\n".join(parts)
    if entry.path == ("inputs",) and entry.key:  # a model input
        base = ("inputs", entry.key)
        facts = [f"{k}: `{v}`" for k in ("dtype",) if (v := o.value_of((*base, k)))]
        shape = [e.value for e in o.values_in((*base, "shape"))]
        if shape:
            facts.append(f"shape: `[{', '.join(shape)}]`")
        cols = [e.value for e in o.values_in((*base, "columns"))]
        if cols:
            facts.append("columns: " + ", ".join(f"`{x}`" for x in cols))
        head = f"**Input `{entry.key}`** (line {entry.line + 1})"
        return "\n\n".join([head, *facts])
    if entry.path == ("outputs",) and entry.key:
        return f"**Output `{entry.key}`** = `{o.value_of(('outputs', entry.key))}`"
    if entry.key is None:  # a module input
        return f"**Module input `{entry.value}`** (line {entry.line + 1})"
    return None


def _is_node_type(path: tuple[str, ...]) -> bool:
    node = specpaths.node_of(path)
    return node is not None and path == (*node, "type")


def _module_markdown(o: Outline, name: str) -> str | None:
    base = ("modules", name)
    if o.entry_of(base) is None:
        return None
    inputs = [e.value for e in o.entries if e.path[:3] == (*base, "inputs") and e.key is None]
    outputs = o.keys_at((*base, "outputs"))
    parts = [f"**Module `{name}`** (defined in this file's `modules`)"]
    if inputs:
        parts.append("Inputs: " + ", ".join(f"`{i}`" for i in inputs))
    if outputs:
        parts.append("Outputs: " + ", ".join(f"`{x}`" for x in outputs))
    return "\n\n".join(parts)


__all__ = ["HoverFeature", "model_summary_markdown"]
