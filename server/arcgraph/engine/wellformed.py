"""The part of a model spec the shape check can run despite errors elsewhere in it.

A structure error in one branch (an unknown param, a bad reference) used to skip the shape
check of the whole spec, hiding torch's shape errors in the branches that are fine. This picks
the well-formed part: the inputs, `modules` entries and nodes with no error of their own (an
error located inside them), whose references resolve to well-formed inputs and nodes, and
whose modules are well-formed; the outputs that refer to such nodes; and the loss when it has
no error and its output is kept. The result is a plain spec the builder builds as it is.
Pure Python, like the rest of the engine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from arcgraph.engine import codes
from arcgraph.engine.diagnostics import Diagnostic, Severity, Span
from arcgraph.engine.graph import ref_name
from arcgraph.engine.namespaces import classify_type
from arcgraph.engine.source import YMap, YNode, YScalar, YSeq, to_python

# Errors about the data, not the tensors: the declared shape and dtype still build an input.
_DATA_ONLY = frozenset({codes.COLUMNS_SHAPE_MISMATCH})


def probe_spec(root: YMap, diagnostics: Iterable[Diagnostic]) -> dict[str, Any] | None:
    """The spec to send to the shape check: the whole spec when it has no error, its
    well-formed part when it has some, None when no node of the main graph is well-formed."""
    errors = [d for d in diagnostics if d.severity == Severity.ERROR]
    if not errors:
        return to_python(root)
    # Below, only the kept parts are converted (a 5,000-line model whose input has an error
    # keeps nothing: converting all of it first was most of this function's time).

    def bad(node: YNode | None, ignore: frozenset[str] = frozenset()) -> bool:
        return node is not None and any(
            d.code not in ignore and _inside(d.span, node.span) for d in errors
        )

    inputs = root.get("inputs")
    graph = root.get("graph")
    if not isinstance(inputs, YMap) or not isinstance(graph, YSeq):
        return None
    good_inputs = {name for name, _, decl in inputs.items() if not bad(decl, ignore=_DATA_ONLY)}
    modules = root.get("modules")
    good_modules = (
        {name for name, _, decl in modules.items() if not bad(decl)}
        if isinstance(modules, YMap)
        else set()
    )
    items = [item for item in graph.items if isinstance(item, YMap)]
    names = [_text(item.get("name")) for item in items]
    counts = Counter(names)  # not names.count per node: quadratic in the nodes
    good_nodes: set[str] = set()
    candidates = [
        (name, item)
        for name, item in zip(names, items, strict=True)
        if name and counts[name] == 1 and not bad(item) and _modules_ok(item, good_modules)
    ]
    changed = True
    while changed:  # a node is kept once everything it reads is kept (cycles never are)
        changed = False
        for name, item in candidates:
            if name in good_nodes:
                continue
            reads = [ref_name(r) for r in _refs(item.get("inputs"))]
            if all(r in good_inputs or r in good_nodes for r in reads):
                good_nodes.add(name)
                changed = True
    if not good_nodes:
        return None
    kept = [to_python(item) for name, item in zip(names, items, strict=True) if name in good_nodes]
    outs = root.get("outputs")
    outputs: dict[str, Any] = {}
    if isinstance(outs, YMap):
        for key, _, ref in outs.items():
            text = _text(ref)
            if text and not bad(ref) and ref_name(text) in good_nodes:
                outputs[key] = text
    if not outputs:  # every kept node still runs: the forward pass runs them all
        last = kept[-1]["name"]
        outputs = {last: f"{last}.output"}
    probe: dict[str, Any] = {
        "inputs": {k: v for k, v in to_python(inputs).items() if k in good_inputs},
        "graph": kept,
        "outputs": outputs,
    }
    if good_modules:
        probe["modules"] = {k: v for k, v in to_python(modules).items() if k in good_modules}
    loss = root.get("loss")
    loss_spec = to_python(loss) if isinstance(loss, YMap) else None
    if isinstance(loss, YMap) and isinstance(loss_spec, dict) and not bad(loss):
        linputs = loss_spec.get("inputs")
        if isinstance(linputs, dict) and linputs.get("input") in outputs:
            probe["loss"] = loss_spec
    return probe


def _inside(error: Span, span: Span) -> bool:
    return span.contains(error.start_line, error.start_col)


def _text(node: Any) -> str | None:
    if isinstance(node, str):
        return node
    return node.value if isinstance(node, YScalar) and isinstance(node.value, str) else None


def _refs(inputs: YNode | None) -> list[str]:
    if isinstance(inputs, YMap):
        values = [v for _, _, v in inputs.items()]
    elif isinstance(inputs, YSeq):
        values = list(inputs.items)
    else:
        values = [inputs]
    return [t for t in (_text(v) for v in values) if t]


def _modules_ok(item: YMap, good_modules: set[str]) -> bool:
    """A `module.X` or `arc.stack` node needs its module to be well-formed."""
    type_ = _text(item.get("type")) or ""
    kind = classify_type(type_)
    if kind == "module_ref":
        return type_.split(".", 1)[1] in good_modules
    if kind == "stack":
        params = item.get("params")
        mod = _text(params.get("module")) if isinstance(params, YMap) else None
        return mod is not None and mod.removeprefix("module.") in good_modules
    return True
