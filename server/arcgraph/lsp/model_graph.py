"""`arcgraph/modelGraph`: a model spec's DAG as data, so any client can draw it (the VS Code
extension's graph view does).

The answer is read from the server's current state of the document: its text as last
changed (parsed now, whatever the checks have done) and the diagnostics last published for
it (each node carries the worst severity found on its lines). References resolve with
`arcgraph.engine.graph`, the rules the checker and the builder use, so an edge is drawn
exactly where the builder would wire one. A `module.X` or `arc.stack` node is a group: its
module's nodes are its children (nested modules nest, once each along a path).

Output shapes and parameter counts of the nodes come from the last shape probe of the file
(`lsp/shapes.node_data`, never waiting on torch): null until it has answered. A module's inner
nodes have those of their own use (an `arc.stack`'s: its first copy's). An edge is labelled
with the shape of the tensor it carries (its source's output, or the input's declared shape).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arcgraph.engine.diagnostics import Diagnostic, Span
from arcgraph.engine.graph import Graph, Resolved, resolve
from arcgraph.engine.kinds import SpecKind
from arcgraph.engine.source import (
    YMap,
    YNode,
    YScalar,
    YSeq,
    normalize_newlines,
    parse_yaml,
    to_python,
)
from arcgraph.engine.summary import format_shape
from arcgraph.lsp import convert
from arcgraph.lsp.document import view_or_none
from arcgraph.lsp.feature import on
from arcgraph.lsp.shapes import node_data

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer

MODEL_GRAPH = "arcgraph/modelGraph"
# sent when the shape probe of an open model spec answers: its graph has new shapes to fetch
MODEL_GRAPH_CHANGED = "arcgraph/modelGraphChanged"
MODULE_PREFIX = "module."
STACK = "arc.stack"


def _last_line(span: Span, lines: list[str]) -> int:
    """The last line with a node's text (a block mapping's span ends where the next item
    starts: at its dash or column 0)."""
    last = min(span.end_line, len(lines) - 1)
    if last == span.end_line and last > span.start_line and not lines[last][: span.end_col].strip():
        last -= 1
    while last > span.start_line and (
        not lines[last].strip() or lines[last].lstrip().startswith("#")
    ):
        last -= 1
    return last


def _scalar(node: YNode | None) -> str | None:
    if isinstance(node, YScalar) and isinstance(node.value, str):
        return node.value
    return None


def _refs(inputs: YNode | None) -> list[str]:
    """The reference texts of a node's `inputs` (a map's values or a list's items)."""
    if isinstance(inputs, YMap):
        values: Iterable[YNode] = (v for _, v in inputs.pairs)
    elif isinstance(inputs, YSeq):
        values = inputs.items
    else:
        return []
    return [t for t in (_scalar(v) for v in values) if t is not None]


def _names(node: YNode | None) -> list[str]:
    """Input names: a model's `inputs` map keys, or a module's `inputs` list."""
    if isinstance(node, YMap):
        return node.keys()
    if isinstance(node, YSeq):
        return [t for t in (_scalar(i) for i in node.items) if t is not None]
    return []


class _Builder:
    """Collects the nodes, edges and groups of one parsed model spec."""

    def __init__(
        self,
        root: YMap,
        lines: list[str],
        diagnostics: list[Diagnostic],
        shapes: dict[str, dict[str, Any]],
    ) -> None:
        self.root = root
        self.shapes = shapes  # the probe's data of the nodes, by path (`blocks/ff`)
        self.labels: dict[str, str] = {}  # node or input id -> the shape text it outputs
        self.text_lines = lines
        modules = root.get("modules")
        self.modules = modules if isinstance(modules, YMap) else YMap(Span(0, 0, 0, 0))
        self.lines = [d.span.start_line for d in diagnostics]
        self.severities = [int(d.severity) for d in diagnostics]
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.groups: list[dict[str, Any]] = []

    def severity(self, first: int, last: int) -> int | None:
        """The worst (lowest LSP number) severity of a diagnostic on lines first..last."""
        found = [s for n, s in zip(self.lines, self.severities, strict=True) if first <= n <= last]
        return min(found) if found else None

    def graph(
        self,
        items: YNode | None,
        inputs: list[str],
        prefix: str,
        parent: str | None,
        path: tuple[str, ...],
    ) -> dict[str, str]:
        """Adds the nodes of a `graph` list and the edges between them; returns the node ids
        by name (for the outputs)."""
        if not isinstance(items, YSeq):
            return {}
        maps = [i for i in items.items if isinstance(i, YMap)]
        named = [(m, _scalar(m.get("name"))) for m in maps]
        names: dict[str, tuple[str, ...] | None] = {}
        for m, name in named:
            if name is not None and name not in names:
                names[name] = self._module_outputs(_scalar(m.get("type")))
        g = Graph(inputs, names)
        ids: dict[str, str] = {}
        for m, name in named:
            if name is None or name in ids:
                continue
            node_id = f"node:{prefix}{name}"
            ids[name] = node_id
            self._node(m, name, node_id, parent, prefix, path)
        for m, name in named:
            if name is None or ids.get(name) is None:
                continue
            for text in _refs(m.get("inputs")):
                found = resolve(text, g)
                if not isinstance(found, Resolved):
                    continue
                if found.is_node:
                    source = ids[found.name]
                elif parent is None:
                    source = f"input:{found.name}"
                else:
                    continue  # a module's own input: fed by the group's incoming edges
                self.edges.append(
                    {"source": source, "target": ids[name], "label": self.labels.get(source)}
                )
        return ids

    def _module_outputs(self, type_: str | None) -> tuple[str, ...] | None:
        if type_ is None or not type_.startswith(MODULE_PREFIX):
            return None
        module = self.modules.get(type_[len(MODULE_PREFIX) :])
        outputs = module.get("outputs") if isinstance(module, YMap) else None
        return tuple(outputs.keys()) if isinstance(outputs, YMap) else None

    def _node(
        self,
        m: YMap,
        name: str,
        node_id: str,
        parent: str | None,
        prefix: str,
        path: tuple[str, ...],
    ) -> None:
        type_ = _scalar(m.get("type"))
        first, last = m.span.start_line, _last_line(m.span, self.text_lines)
        probed = self.shapes.get(prefix + name, {})
        if probed.get("outputShape") is not None:
            self.labels[node_id] = format_shape(probed["outputShape"])
        self.nodes.append(
            {
                "id": node_id,
                "name": name,
                "type": type_,
                "line": first,
                "endLine": last,
                "parent": parent,
                "outputShape": probed.get("outputShape"),
                "params": probed.get("params"),
                "severity": self.severity(first, last),
            }
        )
        module_name: str | None = None
        count: int | None = None
        if type_ is not None and type_.startswith(MODULE_PREFIX):
            module_name = type_[len(MODULE_PREFIX) :]
        elif type_ == STACK:
            params = to_python(m.get("params"))
            if isinstance(params, dict):
                module_name = (
                    params.get("module") if isinstance(params.get("module"), str) else None
                )
                n = params.get("count")
                count = n if isinstance(n, int) and not isinstance(n, bool) else None
        if module_name is None or module_name in path:
            return
        module = self.modules.get(module_name)
        if not isinstance(module, YMap):
            return
        self.groups.append(
            {
                "id": node_id,
                "kind": "stack" if type_ == STACK else "module",
                "module": module_name,
                "count": count,
            }
        )
        self.graph(
            module.get("graph"),
            _names(module.get("inputs")),
            f"{prefix}{name}/",
            node_id,
            (*path, module_name),
        )

    def build(self) -> dict[str, Any]:
        inputs_node = self.root.get("inputs")
        inputs: list[dict[str, Any]] = []
        if isinstance(inputs_node, YMap):
            for name, key, value in inputs_node.items():
                spec = to_python(value)
                spec = spec if isinstance(spec, dict) else {}
                shape = spec.get("shape")
                if isinstance(shape, list) and self.shapes:  # labels only once probed
                    self.labels[f"input:{name}"] = format_shape(
                        ["B" if d is None else d for d in shape]
                    )
                inputs.append(
                    {
                        "id": f"input:{name}",
                        "name": name,
                        "dtype": spec.get("dtype") if isinstance(spec.get("dtype"), str) else None,
                        "shape": spec.get("shape") if isinstance(spec.get("shape"), list) else None,
                        "line": key.span.start_line,
                    }
                )
        ids = self.graph(self.root.get("graph"), [i["name"] for i in inputs], "", None, ())
        outputs: list[dict[str, Any]] = []
        outputs_node = self.root.get("outputs")
        if isinstance(outputs_node, YMap):
            g = Graph([], dict.fromkeys(ids))
            for name, key, value in outputs_node.items():
                out_id = f"output:{name}"
                ref = _scalar(value)
                outputs.append(
                    {"id": out_id, "name": name, "ref": ref, "line": key.span.start_line}
                )
                found = resolve(ref, g, nodes_only=True) if ref is not None else None
                if isinstance(found, Resolved):
                    source = ids[found.name]
                    self.edges.append(
                        {"source": source, "target": out_id, "label": self.labels.get(source)}
                    )
        return {
            "inputs": inputs,
            "nodes": self.nodes,
            "outputs": outputs,
            "edges": self.edges,
            "groups": self.groups,
        }


def model_graph(
    text: str, diagnostics: list[Diagnostic], shapes: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any] | None:
    """The DAG of a model spec's text, or None when its top level is no mapping."""
    root = parse_yaml(text).root
    if not isinstance(root, YMap):
        return None
    lines = normalize_newlines(text).split("\n")
    return _Builder(root, lines, diagnostics, shapes or {}).build()


class ModelGraphFeature:
    def __init__(self, server: ArcGraphServer) -> None:
        self.server = server

    def register(self, server: ArcGraphServer) -> None:
        on(server, MODEL_GRAPH, self.model_graph)
        server.index.engine.shapes.listeners.append(self._probed)

    def _probed(self, path: Path) -> None:  # on the torch lane
        self.server.scheduler.from_thread(self._changed, path)

    def _changed(self, path: Path) -> None:
        for uri in self.server.open_uris():
            if convert.uri_to_path(uri) == path:
                self.server.protocol.notify(MODEL_GRAPH_CHANGED, {"textDocument": {"uri": uri}})

    def model_graph(self, params: Any) -> dict[str, Any] | None:
        """`{textDocument: {uri}}` -> the graph (None: not open, or not a model spec)."""
        uri = _uri_of(params)
        if uri is None:
            return None
        doc = view_or_none(self.server, uri)
        if doc is None or doc.kind != SpecKind.MODEL:
            return None
        state = self.server.diagnostics.docs.get(uri)
        published = state.published if state is not None else []
        found = model_graph(doc.text, published, node_data(self.server, uri))
        if found is None:
            return None
        return {"uri": uri, "version": doc.version, **found}


def _uri_of(params: Any) -> str | None:
    """The URI of `{textDocument: {uri}}` (pygls hands an unknown request's params as an
    object with attributes)."""
    doc = (
        params.get("textDocument")
        if isinstance(params, dict)
        else getattr(params, "textDocument", None)
    )
    uri = doc.get("uri") if isinstance(doc, dict) else getattr(doc, "uri", None)
    return uri if isinstance(uri, str) else None
