"""A model's shapes and sizes, as the shape probe found them: `arcgraph summary`, and the
last probe's answer per model file (the language server's inlay hints and hovers read it and
never wait on torch)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arcgraph.engine.torch_service import ProbeResult

TOTAL_KEYS = ("total_params", "trainable_params", "non_trainable_params", "size_mb_fp32")
_NODE_KEYS = ("name", "type", "output_shape", "output_shapes", "dtype", "dtypes", "params")


def format_shape(shape: Any) -> str:
    """`["B", 8, 8]` -> `[B, 8, 8]`; a tuple's shapes -> `([B, 8], [B, 4])`."""
    if isinstance(shape, list) and all(isinstance(d, int | str) for d in shape):
        return "[" + ", ".join(str(d) for d in shape) + "]"
    if isinstance(shape, list):
        return "(" + ", ".join(format_shape(s) for s in shape) + ")"
    return "-"


def node_shape(node: dict[str, Any]) -> Any:
    """A node's output shape, or its list of shapes when it has several outputs."""
    return node["output_shapes"] if "output_shapes" in node else node.get("output_shape")


@dataclass(frozen=True)
class ModelShapes:
    """One successful shape probe of a model spec."""

    nodes: list[dict[str, Any]]
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    totals: dict[str, Any]
    by_name: dict[str, dict[str, Any]] = field(default_factory=dict)
    # every instance of a `modules` entry (path, module, count, inputs, outputs, params of one
    # copy), depth first in run order; and their inner nodes' facts by path (`blocks/ff`)
    module_uses: list[dict[str, Any]] = field(default_factory=list)
    module_nodes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def uses_of(self, module: str) -> list[dict[str, Any]]:
        """The instances of `modules` entry `module`; the first one's shapes are the ones
        shown on the module's own lines."""
        return [u for u in self.module_uses if u.get("module") == module]

    def module_node(self, module: str, name: str) -> dict[str, Any] | None:
        """Node `name` of `modules` entry `module` as its first use ran it."""
        uses = self.uses_of(module)
        return self.module_nodes.get(f"{uses[0]['path']}/{name}") if uses else None

    @classmethod
    def from_probe(cls, res: ProbeResult) -> ModelShapes | None:
        """None unless torch ran the model's graph (a shape error has no shapes to show;
        a loss that does not fit the outputs has)."""
        nodes = res.data.get("nodes")
        if res.ok is None or not isinstance(nodes, list):
            return None
        return cls(
            nodes=nodes,
            inputs=dict(res.data.get("model_inputs") or {}),
            outputs=dict(res.data.get("model_outputs") or {}),
            totals={k: res.data.get(k) for k in TOTAL_KEYS},
            by_name={str(n.get("name")): n for n in nodes},
            module_uses=list(res.data.get("module_uses") or []),
            module_nodes=dict(res.data.get("module_nodes") or {}),
        )

    def as_json(self) -> dict[str, Any]:
        """`arcgraph summary --format json`: nodes (name, type, output shape(s), dtype(s),
        params), the inputs' and outputs' shapes, and the totals."""
        nodes = [{k: n[k] for k in _NODE_KEYS if k in n} for n in self.nodes]
        for out, n in zip(nodes, self.nodes, strict=True):
            out["trainable_params"] = n.get("trainable_params", 0)
        modules = self._modules_json()
        return {
            "nodes": nodes,
            "inputs": self.inputs,
            "outputs": self.outputs,
            **self.totals,
            **({"modules": modules} if modules else {}),
        }

    def _inner_rows(self, path: str, depth: int) -> list[tuple[str, str, str, str]]:
        """The rows of the nodes inside the module that node `path` uses (an arc.stack's
        first copy), indented under it, nested modules deeper; [] for other nodes."""
        rows: list[tuple[str, str, str, str]] = []
        for inner, n in self.module_nodes.items():
            if inner.rpartition("/")[0] == path:
                rows.append(_row(n, depth))
                rows += self._inner_rows(inner, depth + 1)
        return rows

    def _modules_json(self) -> dict[str, Any]:
        """Per `modules` entry that the graph uses: its uses (paths), the parameters of one
        copy, its inputs' and outputs' shapes and its nodes, as its first use ran them."""
        found: dict[str, Any] = {}
        for use in self.module_uses:
            name = str(use.get("module"))
            if name in found:
                found[name]["used_by"].append(use["path"])
                continue
            prefix = f"{use['path']}/"
            inner = [
                {k: n[k] for k in _NODE_KEYS if k in n}
                | {"trainable_params": n["trainable_params"]}
                for path, n in self.module_nodes.items()
                if path.startswith(prefix) and "/" not in path[len(prefix) :]
            ]
            found[name] = {
                "used_by": [use["path"]],
                "params": use.get("params", 0),
                "trainable_params": use.get("trainable_params", 0),
                "inputs": use.get("inputs", {}),
                "outputs": use.get("outputs", {}),
                "nodes": inner,
            }
        return found

    def table(self) -> str:
        """The torchinfo-style table: node, type, output shape, params; then the totals."""
        rows = [("Node", "Type", "Output shape", "Params")]
        for n in self.nodes:
            rows.append(_row(n, 0))
            rows += self._inner_rows(str(n["name"]), 1)
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        rule = "=" * (sum(widths) + 6)

        def line(r: tuple[str, str, str, str]) -> str:
            cells = [r[i].ljust(widths[i]) for i in range(3)] + [r[3].rjust(widths[3])]
            return "  ".join(cells)

        t = self.totals
        return "\n".join(
            [
                rule,
                line(rows[0]),
                rule,
                *(line(r) for r in rows[1:]),
                rule,
                f"Total params: {t['total_params']:,}",
                f"Trainable params: {t['trainable_params']:,}",
                f"Non-trainable params: {t['non_trainable_params']:,}",
                f"Params size (MB, float32): {t['size_mb_fp32']:.2f}",
                rule,
            ]
        )


def _row(n: dict[str, Any], depth: int) -> tuple[str, str, str, str]:
    name = "  " * depth + str(n["name"])
    return (name, str(n["type"]), format_shape(node_shape(n)), f"{n['params']:,}")


class ShapeResults:
    """The last shape probe answer per model file (any thread writes; readers get a
    consistent entry), and who to tell when one arrives."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_path: dict[str, ModelShapes | None] = {}
        self.listeners: list[Callable[[Path], None]] = []

    def put(self, path: Path, res: ProbeResult) -> None:
        shapes = ModelShapes.from_probe(res)
        with self._lock:
            self._by_path[_key(path)] = shapes
        for listener in list(self.listeners):
            listener(path)

    def get(self, path: Path) -> ModelShapes | None:
        key = _key(path)
        with self._lock:
            return self._by_path.get(key)


def _key(path: Path) -> str:
    """The same file by any of its names (the editor's path, the registry's resolved one)."""
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):
        return str(path)
