"""Per-node output shapes, dtypes and parameter counts of a model built on `meta`.

The shape probe (arcgraph.worker.probes) traces its forward pass through here. A dimension
that follows a `null` input dimension is found by running the forward a second time with
other sizes for the `null`s (only when the spec has one; the built module is reused): a
dimension equal to the batch in both runs is `B`, one that changes otherwise is `?`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

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
) -> list[dict[str, Any]]:
    """Per node of the main graph, in the spec's order: name, type, output shape(s),
    dtype(s), input shapes and parameter counts (its module's, trainable and all)."""
    children = dict(model.named_children())
    nodes: list[dict[str, Any]] = []
    for node in spec.get("graph") or []:
        if not isinstance(node, Mapping) or node.get("name") not in first:
            continue
        name = str(node["name"])
        args, result = first[name]
        other = second.get(name) if second is not None else None
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
