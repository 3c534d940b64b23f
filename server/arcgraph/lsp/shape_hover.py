"""What hover adds from the last shape probe (lsp/shapes.py): a node's input and output
shapes and parameter count; a trainer's `model_ref`: the model's shapes and total size."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from arcgraph.engine.summary import format_shape, node_shape
from arcgraph.lsp import shapes as shape_data
from arcgraph.lsp.definition import find_target
from arcgraph.lsp.outline import Cursor, Outline

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer


def node_markdown(server: ArcGraphServer, path: Path, o: Outline, c: Cursor) -> str | None:
    """For a node (its name, or a reference to it): `Input: [B, 4]`, `Output: [B, 16]`,
    `Params: 80 (80 trainable)`; None before the shape probe answered."""
    name = _node_name(o, c)
    found = shape_data.model_shapes(server, path) if name is not None else None
    node = found.by_name.get(name) if found is not None and name is not None else None
    if node is None:
        return None
    ins = ", ".join(f"`{format_shape(s)}`" for s in node.get("input_shapes", []))
    trainable = int(node.get("trainable_params", 0))
    return "\n\n".join(
        [
            f"Input: {ins or '-'}",
            f"Output: `{format_shape(node_shape(node))}`",
            f"Params: {int(node.get('params', 0)):,} ({trainable:,} trainable)",
        ]
    )


def _node_name(o: Outline, c: Cursor) -> str | None:
    """The main graph's node at the cursor: its `name:` value, or a reference to it."""
    path = c.value_path
    if len(path) == 3 and path[0] == "graph" and path[2] == "name":
        return o.value_of(path)
    target = find_target(o, c)
    if target is None or target[0].key != "name" or target[0].path[:1] != ("graph",):
        return None
    return target[0].value


def model_markdown(server: ArcGraphServer, path: Path) -> str | None:
    """A model's shapes and size for the hover on a trainer's `model_ref`: `Shapes: x
    [B, 4] → logits [B, 3]` and the totals; None before its shape probe answered."""
    found = shape_data.model_shapes(server, path)
    if found is None:
        return None
    ins = ", ".join(f"`{k}` `{format_shape(s)}`" for k, s in found.inputs.items())
    outs = ", ".join(f"`{k}` `{format_shape(s)}`" for k, s in found.outputs.items())
    return f"Shapes: {ins} → {outs}\n\nSize: {shape_data.totals_text(found)}"
