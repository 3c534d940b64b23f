"""Per-node output shapes, dtypes and parameter counts of a model built on `meta`.

The shape probe (arcgraph.worker.probes) traces its forward pass through here. A dimension
that follows a `null` input dimension is found by running the forward a second time with
other sizes for the `null`s (only when the spec has one; the built module is reused): a
dimension equal to the batch in both runs is `B`, one that changes otherwise is `?`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from arcgraph.builder.build import GraphModule

# The second run's sizes for `null` dimensions: primes unlike the first run's (2 and 8), so
# that a dimension derived from another one (8 // 4 == 2) does not pass for the batch twice.
SECOND_BATCH = 5
SECOND_VARIABLE = 13

BATCH = "B"
VARIES = "?"

Record = dict[str, tuple[list[Any], Any]]  # node -> (its arguments, its result)


def recorder(into: Record) -> Any:
    """A `GraphModule.trace` callback that keeps each node's arguments and result."""

    def record(name: str, args: list[Any], result: Any) -> None:
        into[name] = (args, result)

    return record


def has_null_dims(spec: Mapping[str, Any]) -> bool:
    """Whether any input's shape has a `null` (an input without a shape is `[null]`)."""
    inputs = spec.get("inputs")
    if not isinstance(inputs, Mapping):
        return False
    for decl in inputs.values():
        shape = decl.get("shape") if isinstance(decl, Mapping) else None
        if not isinstance(shape, list) or any(d is None for d in shape):
            return True
    return False


def _shape(value: Any) -> Any:
    """A tensor's shape (a list of ints), a tuple's shapes (a list of them), else None."""
    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, list | tuple):
        return [_shape(v) for v in value]
    return None


def _dtype(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return str(value.dtype).removeprefix("torch.")
    if isinstance(value, list | tuple):
        return [_dtype(v) for v in value]
    return None


def _is_dims(shape: Any) -> bool:
    return isinstance(shape, list) and all(isinstance(d, int) for d in shape)


_NO_SECOND_RUN = object()  # `merge`'s second shape when the forward ran once


def merge(first: Any, second: Any, batches: tuple[int, int]) -> Any:
    """One shape (or tuple of shapes) from the two runs: `B`, `?` or the constant size."""
    if second is _NO_SECOND_RUN:
        return first
    if _is_dims(first) and _is_dims(second) and len(first) == len(second):
        return [
            BATCH if (a, b) == batches else a if a == b else VARIES
            for a, b in zip(first, second, strict=True)
        ]
    if _is_dims(first) and _is_dims(second):  # the rank itself varies
        return [VARIES] * len(first)
    if isinstance(first, list) and isinstance(second, list) and len(first) == len(second):
        return [merge(a, b, batches) for a, b in zip(first, second, strict=True)]
    return first


def node_facts(
    spec: Mapping[str, Any],
    model: torch.nn.Module,
    first: Record,
    second: Record | None,
    batches: tuple[int, int],
    prefix: str = "",
) -> list[dict[str, Any]]:
    """Per node of the main graph (or of the sub-graph `spec` of a `modules` entry, whose
    records are keyed `prefix` + name), in the spec's order: name, type, output shape(s),
    dtype(s), input shapes and parameter counts (its module's, trainable and all)."""
    children = dict(model.named_children())
    nodes: list[dict[str, Any]] = []
    for node in spec.get("graph") or []:
        if not isinstance(node, Mapping) or f"{prefix}{node.get('name')}" not in first:
            continue
        name = str(node["name"])
        args, result = first[prefix + name]
        other = second.get(prefix + name) if second is not None else None
        args2, result2 = other if other is not None else ([], _NO_SECOND_RUN)
        shape = merge(_shape(result), _shape(result2) if other else _NO_SECOND_RUN, batches)
        inputs = [
            merge(_shape(a), _shape(args2[i]) if other else _NO_SECOND_RUN, batches)
            for i, a in enumerate(args)
        ]
        fact: dict[str, Any] = {"name": name, "type": str(node.get("type", ""))}
        if isinstance(result, list | tuple):
            fact["output_shapes"], fact["dtypes"] = shape, _dtype(result)
        else:
            fact["output_shape"], fact["dtype"] = shape, _dtype(result)
        fact["input_shapes"] = inputs
        layer = children.get(name)
        params = list(layer.parameters()) if layer is not None else []
        fact["params"] = sum(p.numel() for p in params)
        fact["trainable_params"] = sum(p.numel() for p in params if p.requires_grad)
        nodes.append(fact)
    return nodes


def totals(model: torch.nn.Module) -> dict[str, Any]:
    """The whole model's parameter counts (the categorical inputs' embeddings included) and
    their size as float32 in MB (10^6 bytes, as torchinfo counts)."""
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return {
        "total_params": total,
        "trainable_params": trainable,
        "non_trainable_params": total - trainable,
        "size_mb_fp32": round(total * 4 / 1e6, 6),
    }


def io_shapes(
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Any],
    second: tuple[Mapping[str, Any], Mapping[str, Any]] | None,
    batches: tuple[int, int],
) -> dict[str, Any]:
    """The model's inputs' and outputs' shapes, by name, as the nodes' are shown."""

    def merged(first: Mapping[str, Any], other: Mapping[str, Any] | None) -> dict[str, Any]:
        return {
            str(k): merge(
                _shape(v), _shape(other[k]) if other is not None else _NO_SECOND_RUN, batches
            )
            for k, v in first.items()
        }

    return {
        "model_inputs": merged(inputs, second[0] if second else None),
        "model_outputs": merged(outputs, second[1] if second else None),
    }


Use = tuple[str, str, int | None, "GraphModule"]  # (path, module name, stack count, instance)


def module_uses(model: torch.nn.Module, prefix: str = "") -> list[Use]:
    """Every instance of a `modules` entry in the built model, depth first in run order: its
    path (`blocks`, `enc/inner`: the node names down to it, as the graph view names them),
    its module, the count of an `arc.stack` (whose first copy stands for all) and itself."""
    from arcgraph.builder.build import GraphModule, StackModule

    uses: list[Use] = []
    for name, child in model.named_children():
        count: int | None = None
        if isinstance(child, StackModule) and len(child) > 0:
            child, count = child[0], len(child)
        if isinstance(child, GraphModule) and child.module_name is not None:
            uses.append((prefix + name, child.module_name, count, child))
            uses += module_uses(child, f"{prefix}{name}/")
    return uses


class ModuleRecording:
    """While entered, every module instance of `uses` gives its inner nodes' calls to `into`
    (keyed `path/node`) and its own arguments and result (keyed `path/`)."""

    def __init__(self, uses: list[Use], into: Record) -> None:
        self.uses, self.into = uses, into
        self._hooks: list[Any] = []

    def __enter__(self) -> ModuleRecording:
        for path, _, _, instance in self.uses:
            instance.record_nodes(self._keyed(f"{path}/"))
            self._hooks.append(instance.register_forward_hook(self._io(f"{path}/")))
        return self

    def __exit__(self, *exc: object) -> None:
        for _, _, _, instance in self.uses:
            instance.record_nodes(None)
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()

    def _keyed(self, prefix: str) -> Any:
        def record(name: str, args: list[Any], result: Any) -> None:
            self.into.setdefault(prefix + name, (args, result))  # an arc.stack's first copy

        return record

    def _io(self, key: str) -> Any:
        def hook(_module: Any, args: tuple[Any, ...], result: Any) -> None:
            self.into.setdefault(key, (list(args), result))

        return hook


def module_facts(
    spec: Mapping[str, Any],
    uses: list[Use],
    first: Record,
    second: Record | None,
    batches: tuple[int, int],
) -> dict[str, Any]:
    """`module_uses`: per instance (path order), its module, stack count, input and output
    shapes by the module's declared names and parameter counts of one copy; `module_nodes`:
    the inner nodes' facts (as `node_facts` gives them) by path (`blocks/ff`)."""
    modules = spec.get("modules")
    modules = modules if isinstance(modules, Mapping) else {}
    out_uses: list[dict[str, Any]] = []
    inner: dict[str, Any] = {}
    for path, name, count, instance in uses:
        decl = modules.get(name)
        if not isinstance(decl, Mapping) or f"{path}/" not in first:
            continue
        for fact in node_facts(decl, instance, first, second, batches, prefix=f"{path}/"):
            inner[f"{path}/{fact['name']}"] = fact
        (args, result), other = first[f"{path}/"], (second or {}).get(f"{path}/")
        args2, result2 = other if other is not None else ([], _NO_SECOND_RUN)
        results = list(result) if isinstance(result, tuple) else [result]
        results2 = (list(result2) if isinstance(result2, tuple) else [result2]) if other else None
        in_names = [str(i) for i in decl.get("inputs") or []]
        out_names = [str(o) for o in (decl.get("outputs") or {})]
        params = list(instance.parameters())

        def shown(values: list[Any], values2: list[Any] | None, names: list[str]) -> dict:
            return {
                n: merge(
                    _shape(v),
                    _shape(values2[i]) if values2 is not None else _NO_SECOND_RUN,
                    batches,
                )
                for i, (n, v) in enumerate(zip(names, values, strict=False))
            }

        out_uses.append(
            {
                "path": path,
                "module": name,
                "count": count,
                "inputs": shown(args, args2 if other else None, in_names),
                "outputs": shown(results, results2, out_names),
                "params": sum(p.numel() for p in params),
                "trainable_params": sum(p.numel() for p in params if p.requires_grad),
            }
        )
    return {"module_uses": out_uses, "module_nodes": inner}
