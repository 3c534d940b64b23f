"""The code lens on a model spec's `graph:` key: its parameter totals and fp32 size, from the
last shape probe (lsp/shapes.py); none until the probe has answered."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from arcgraph.engine.source import YMap, YNode
from arcgraph.lsp import shapes as shape_data

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer


def code_lenses(server: ArcGraphServer, path: Path, root: YNode | None) -> list[types.CodeLens]:
    """`5,210 params (5,210 trainable) · 0.02 MB fp32` above `graph:` (a label: the
    command does nothing)."""
    key = root.key_node("graph") if isinstance(root, YMap) else None
    found = shape_data.model_shapes(server, path)
    if key is None or found is None:
        return []
    line = key.span.start_line
    return [
        types.CodeLens(
            range=types.Range(types.Position(line, 0), types.Position(line, 0)),
            command=types.Command(title=shape_data.totals_text(found), command=""),
        )
    ]
