"""The shape probe's answer for an open model spec, as the editor features read it.

Inlay hints, hovers, the totals code lens and the graph view (`arcgraph/modelGraph`) read the
engine's last shape probe of the document's file (`engine.shapes`, arcgraph.engine.summary):
never waiting on torch. When a probe answers, the clients that can are asked to fetch inlay
hints and code lenses again.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arcgraph.engine.summary import ModelShapes, format_shape, node_shape
from arcgraph.lsp import convert

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer

log = logging.getLogger(__name__)


def model_shapes(server: ArcGraphServer, path: Path) -> ModelShapes | None:
    """The last successful shape probe of the model file at `path` (None: none yet, or the
    last one failed)."""
    return server.index.engine.shapes.get(path)


def node_data(server: ArcGraphServer, uri: str) -> dict[str, dict[str, Any]]:
    """Per node, by path (a main graph node's name; a module's inner node under the node
    that uses it: `blocks/ff`): `outputShape` (a shape, or a list of shapes for a node with
    several outputs; dims are ints, "B" for the batch, "?" for other varying sizes),
    `inputShapes`, `dtype`, `params` and `trainableParams`; {} until the shape probe has
    answered for this file. (The graph view reads this.)"""
    path = convert.uri_to_path(uri)
    shapes = model_shapes(server, path) if path is not None else None
    if shapes is None:
        return {}
    return {
        name: {
            "outputShape": node_shape(n),
            "inputShapes": n.get("input_shapes", []),
            "dtype": n.get("dtypes", n.get("dtype")),
            "params": n.get("params", 0),
            "trainableParams": n.get("trainable_params", 0),
        }
        for name, n in (*shapes.by_name.items(), *shapes.module_nodes.items())
    }


def params_text(n: int) -> str:
    return f"{n:,} param" if n == 1 else f"{n:,} params"


def node_hint(node: dict[str, Any]) -> str:
    """`→ [B, 8, 8, 8] · 80 params`."""
    return f"→ {format_shape(node_shape(node))} · {params_text(int(node.get('params', 0)))}"


@dataclass(frozen=True)
class HintLabels:
    """The inlay-hint texts of one probe answer: per node name, per graph output."""

    nodes: dict[str, str]
    outputs: dict[str, str]


_LABELS: OrderedDict[int, tuple[ModelShapes, HintLabels]] = OrderedDict()
_LABELS_KEPT = 8  # probe answers (of as many model files) whose labels are kept


def hint_labels(shapes: ModelShapes) -> HintLabels:
    """The labels of `shapes`, made once per probe answer (an edit keeps the answer until the
    next probe: its 900 labels are not formatted again on every keystroke). Kept by the
    answer's identity (the answer is kept alongside, so its id stays its own)."""
    kept = _LABELS.get(id(shapes))
    if kept is not None and kept[0] is shapes:
        _LABELS.move_to_end(id(shapes))
        return kept[1]
    # the previous answer's label of a node whose facts did not change (a probe after each
    # edit: mostly the same facts in a new answer)
    last = next(reversed(_LABELS.values()), None)
    before, said = (last[0].by_name, last[1].nodes) if last is not None else ({}, {})
    labels = HintLabels(
        nodes={
            name: said[name] if before.get(name) == node and name in said else node_hint(node)
            for name, node in shapes.by_name.items()
        },
        outputs={
            name: f"→ {format_shape(shape)}"
            for name, shape in shapes.outputs.items()
            if shape is not None
        },
    )
    _LABELS[id(shapes)] = (shapes, labels)
    while len(_LABELS) > _LABELS_KEPT:
        _LABELS.popitem(last=False)
    return labels


def totals_text(shapes: ModelShapes) -> str:
    """`5,210 params (5,210 trainable) · 0.02 MB fp32`."""
    t = shapes.totals
    return (
        f"{params_text(int(t['total_params']))} ({int(t['trainable_params']):,} trainable)"
        f" · {float(t['size_mb_fp32']):.2f} MB fp32"
    )


class ShapeRefresh:
    """Asks the client to fetch inlay hints and code lenses again when a probe answers (on
    the event loop; only clients that advertised refresh support are asked)."""

    def __init__(self, server: ArcGraphServer) -> None:
        self.server = server
        server.index.engine.shapes.listeners.append(self._answered)

    def _answered(self, path: Path) -> None:  # on the torch lane
        self.server.scheduler.from_thread(self.refresh)

    def refresh(self) -> None:
        caps = self.server.client_capabilities.workspace
        hints = caps.inlay_hint if caps is not None else None
        if hints is not None and hints.refresh_support:
            try:
                self.server.workspace_inlay_hint_refresh(None)
            except Exception:
                log.exception("workspace/inlayHint/refresh failed")
        self.server.refresh_code_lenses()
