"""What hover adds from the last shape probe (lsp/shapes.py): a node's input and output
shapes and parameter count; a trainer's `model_ref`: the model's shapes and total size."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from arcgraph.engine.summary import format_shape, node_shape
from arcgraph.lsp import shapes as shape_data
from arcgraph.lsp.definition import find_target
from arcgraph.lsp.outline import Cursor, Outline

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer


def node_markdown(server: ArcGraphServer, path: Path, o: Outline, c: Cursor) -> str | None:
    """For a node (its name, or a reference to it): `Input: [B, 4]`, `Output: [B, 16]`,
    `Params: 80 (80 trainable)`; a `modules` entry's node as the module's first use ran it,
    named (`Shapes as used by ...`); None before the shape probe answered."""
    at = _node_at(o, c)
    found = shape_data.model_shapes(server, path) if at is not None else None
    if found is None or at is None:
        return None
    module, name = at
    node = found.by_name.get(name) if module is None else found.module_node(module, name)
    if node is None:
        return None
    ins = ", ".join(f"`{format_shape(s)}`" for s in node.get("input_shapes", []))
    trainable = int(node.get("trainable_params", 0))
    parts = [
        f"Input: {ins or '-'}",
        f"Output: `{format_shape(node_shape(node))}`",
        f"Params: {int(node.get('params', 0)):,} ({trainable:,} trainable)",
    ]
    if module is not None:
        parts.append(_uses_text(found.uses_of(module)))
    return "\n\n".join(parts)


def _uses_text(uses: list[dict[str, Any]]) -> str:
    """`Shapes as used by `blocks` (arc.stack of 6); also used by `enc``."""

    def named(use: dict[str, Any]) -> str:
        count = use.get("count")
        return f"`{use['path']}`" + (f" (arc.stack of {count})" if count is not None else "")

    text = f"Shapes as used by {named(uses[0])}"
    if len(uses) > 1:
        text += "; also used by " + ", ".join(named(u) for u in uses[1:])
    return text


def _node_at(o: Outline, c: Cursor) -> tuple[str | None, str] | None:
    """The node at the cursor: its `name:` value, or a reference to it; with the `modules`
    entry it belongs to (None: the main graph)."""
    path = c.value_path
    if len(path) == 3 and path[0] == "graph" and path[2] == "name":
        name = o.value_of(path)
        return (None, name) if name is not None else None
    if len(path) == 5 and path[0] == "modules" and path[2] == "graph" and path[4] == "name":
        name = o.value_of(path)
        return (path[1], name) if name is not None else None
    target = find_target(o, c)
    if target is None or target[0].key != "name":
        return None
    where = target[0].path
    if where[:1] == ("graph",):
        return None, target[0].value
    if len(where) == 4 and where[0] == "modules" and where[2] == "graph":
        return where[1], target[0].value
    return None


def model_markdown(server: ArcGraphServer, path: Path) -> str | None:
    """A model's shapes and size for the hover on a trainer's `model_ref`: `Shapes: x
    [B, 4] → logits [B, 3]` and the totals; None before its shape probe answered."""
    found = shape_data.model_shapes(server, path)
    if found is None:
        return None
    ins = ", ".join(f"`{k}` `{format_shape(s)}`" for k, s in found.inputs.items())
    outs = ", ".join(f"`{k}` `{format_shape(s)}`" for k, s in found.outputs.items())
    return f"Shapes: {ins} → {outs}\n\nSize: {shape_data.totals_text(found)}"
