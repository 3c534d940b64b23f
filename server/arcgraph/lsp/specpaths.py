"""Where a key path sits in a spec: a graph node, its params, the optimizer, the loss."""

from __future__ import annotations

from typing import Any

from arcgraph.engine import fixes
from arcgraph.engine.catalog import CallableInfo, Catalog, ParamInfo
from arcgraph.engine.kinds import SpecKind, detect_kind
from arcgraph.engine.schema import alternatives, load_schema, resolve, subschema_at
from arcgraph.lsp import lr_schedulers
from arcgraph.lsp.outline import Outline


def node_of(path: tuple[str, ...]) -> tuple[str, ...] | None:
    """The node that `path` is in: `('graph', '2')` or `('modules', 'block', 'graph', '0')`."""
    if len(path) >= 2 and path[0] == "graph" and path[1].isdigit():
        return path[:2]
    if len(path) >= 4 and path[0] == "modules" and path[2] == "graph" and path[3].isdigit():
        return path[:4]
    return None


def graph_of(node: tuple[str, ...]) -> tuple[str, ...]:
    return node[:-1]


def kind_of(path: Any, text: str) -> SpecKind:
    """By the file name, else by the top-level keys of the raw text (no parse needed)."""
    return detect_kind(path, None, text)


def schema_root(kind: SpecKind) -> dict[str, Any] | None:
    if kind == SpecKind.NONE:
        return None
    return load_schema(kind.value)


def schema_at(kind: SpecKind, path: tuple[str, ...]) -> dict[str, Any] | None:
    root = schema_root(kind)
    return None if root is None else subschema_at(root, path)


def properties(kind: SpecKind, schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The named keys a mapping schema defines (through oneOf/anyOf branches), resolved."""
    root = schema_root(kind) or {}
    out: dict[str, dict[str, Any]] = {}
    for branch in alternatives(schema, root):
        for name, sub in branch.get("properties", {}).items():
            out.setdefault(name, resolve(sub, root))
    return out


def schema_types(kind: SpecKind, schema: dict[str, Any]) -> set[str]:
    root = schema_root(kind) or {}
    types: set[str] = set()
    for branch in alternatives(schema, root):
        t = branch.get("type")
        if isinstance(t, str):
            types.add(t)
        elif isinstance(t, list):
            types.update(x for x in t if isinstance(x, str))
    return types


def callable_for(
    outline: Outline, path: tuple[str, ...], catalog: Catalog | None
) -> tuple[CallableInfo | None, str] | None:
    """The catalog entry whose keyword arguments the mapping at `path` holds, and its name:
    `optimizer.params` -> the optimizer, a node's `params` -> its type, `loss.params`."""
    if catalog is None:
        return None
    if path == ("optimizer", "params"):
        name = outline.value_of(("optimizer", "type"))
        return (catalog.optimizer(name), name) if name else None
    if lr_schedulers.is_params_path(path):  # spec v1.1, nested ones too
        return lr_schedulers.scheduler_for(outline, path, catalog)
    if path == ("loss", "params"):  # a loss function's keywords, or a loss class's constructor
        name = outline.value_of(("loss", "type"))
        loss = catalog.loss(name) if name else None
        return (loss.function if loss is not None else None, name) if name else None
    node = node_of(path)
    if node is not None and path == (*node, "params"):
        name = outline.value_of((*node, "type"))
        if not name:
            return None
        return (catalog.module(name) or catalog.function(name), name)
    return None


def node_input_args(
    outline: Outline, path: tuple[str, ...], catalog: Catalog | None
) -> tuple[list[ParamInfo], str]:
    """For a node's `inputs` mapping at `path`: the arguments its type takes tensors by
    (a module's forward, a function's parameters) and the owner's name for docs."""
    node = node_of(path)
    if catalog is None or node is None or path != (*node, "inputs"):
        return [], ""
    name = outline.value_of((*node, "type"))
    if not name:
        return [], ""
    module = catalog.module(name)
    if module is not None:
        args = [p for p in module.forward or () if p.name != "self" and p.keyword]
        return args, f"{name}.forward"
    function = catalog.function(name)
    if function is not None:
        return [p for p in function.params if p.keyword], name
    return [], ""


STACK_MARKDOWN = (
    "**arc.stack** \u2014 repeats a module of this file's `modules` in sequence, each copy "
    "feeding the next.\n\n```yaml\ntype: arc.stack\nparams: { module: block, count: 4 }\n```"
)


def stack_params(outline: Outline, path: tuple[str, ...]) -> bool:
    """`path` is the `params` of an `arc.stack` node."""
    node = node_of(path)
    return (
        node is not None
        and path == (*node, "params")
        and outline.value_of((*node, "type")) == "arc.stack"
    )


def param_markdown(p: ParamInfo, owner: str) -> str:
    head = f"**{p.name}**"
    if p.annotation:
        head += f": `{p.annotation}`"
    if p.has_default:
        head += f" = `{p.default_repr}`"
    elif p.required:
        head += " *(required)*"
    parts = [head, f"argument of `{owner}`"]
    if p.doc:
        parts.append(p.doc)
    return "\n\n".join(parts)


def schema_markdown(schema: dict[str, Any]) -> str | None:
    text = schema.get("markdownDescription") or schema.get("description")
    if not text:
        return None
    parts = [text]
    if "default" in schema:
        parts.append(f"Default: `{yaml_scalar(schema['default'])}`")
    if "enum" in schema:
        parts.append("Allowed values: " + ", ".join(f"`{yaml_scalar(v)}`" for v in schema["enum"]))
    return "\n\n".join(parts)


def yaml_scalar(v: Any) -> str:
    """A value as the YAML text that reads back as it (inserted by completion, shown in docs)."""
    return fixes.yaml_scalar(v)
