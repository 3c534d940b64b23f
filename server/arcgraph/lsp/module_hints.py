"""The inlay hints of a model spec's `modules` entries, from the last shape probe: a module's
lines show how its first use ran it (the probe records every use under the path of the node
that makes it: `pair/inner`, an `arc.stack`'s first copy standing for its copies). The
entry's key gets its output's shape and one copy's parameters, its nodes and outputs get
theirs as the main graph's do. A module nothing uses has no shapes to show."""

from __future__ import annotations

from typing import Any

from arcgraph.engine.summary import ModelShapes, format_shape
from arcgraph.lsp import shapes as shape_data
from arcgraph.lsp.outline import Entry, Outline


def module_hint(use: dict[str, Any]) -> str:
    """A `modules` entry's key: its output's shape (its outputs' when several) and the
    parameters of one copy: `→ [B, 16, 32] · 4,224 params`."""
    outs = list(use.get("outputs", {}).values())
    shape = outs[0] if len(outs) == 1 else outs
    return f"→ {format_shape(shape)} · {shape_data.params_text(int(use.get('params', 0)))}"


def module_spots(o: Outline, found: ModelShapes) -> list[tuple[Entry, str]]:
    """(entry, label) of every hint in `modules`: each used entry's key, its nodes' `name`
    entries and its `outputs` entries, in the document's order within each module."""
    spots: list[tuple[Entry, str]] = []
    for module in o.at(("modules",)):
        uses = found.uses_of(module.key) if module.key else []
        if not uses or module.key is None:
            continue
        spots.append((module, module_hint(uses[0])))
        where = ("modules", module.key)
        for idx in o.items_at((*where, "graph")):
            entry = o.entry_of((*where, "graph", idx, "name"))
            node = found.module_node(module.key, entry.value) if entry is not None else None
            if entry is not None and node is not None:
                spots.append((entry, shape_data.node_hint(node)))
        for entry in o.at((*where, "outputs")):
            shape = uses[0].get("outputs", {}).get(entry.key or "")
            if shape is not None and entry.key:
                spots.append((entry, f"→ {format_shape(shape)}"))
    return spots
