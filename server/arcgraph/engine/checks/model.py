"""Model spec checks: model-spec.md beyond what the schema says.

Names, references, cycles, `module.X` / `arc.stack`, outputs and loss are checked on the located
tree with no torch at all; node types and params are checked against the torch catalog when one
is available. The shape check (a forward pass on meta tensors) is a probe run by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arcgraph.engine import codes
from arcgraph.engine.checks.context import CheckContext
from arcgraph.engine.checks.params import check_params, missing_required, signature_facts
from arcgraph.engine.diagnostics import Related, Severity, Span
from arcgraph.engine.graph import Graph, RefError, Resolved, cycles, parse_ref, resolve, valid_refs
from arcgraph.engine.kinds import is_valid_model_id, model_id_of
from arcgraph.engine.namespaces import (
    NODE_TYPE_RE,
    classify_type,
    refused_function_reason,
    rejection_reason,
)
from arcgraph.engine.schema import did_you_mean
from arcgraph.engine.source import YMap, YNode, YScalar, YSeq

FALLBACK_DTYPES = (
    "float32", "float", "float64", "double", "float16", "half", "bfloat16",
    "int8", "int16", "int32", "int64", "long", "int", "short", "uint8", "bool",
    "complex64", "complex128",
)  # fmt: skip


@dataclass
class Node:
    name: str
    name_node: YNode | None
    type: str | None
    type_node: YNode | None
    params: YMap | None
    inputs: YNode | None
    node: YMap


@dataclass
class Scope:
    """A graph with its input names: the model's, or one module's."""

    label: str
    input_names: list[str]
    nodes: list[Node] = field(default_factory=list)
    by_name: dict[str, Node] = field(default_factory=dict)
    outputs: YMap | None = None
    graph: Graph = field(default_factory=lambda: Graph((), {}))


def _str(node: YNode | None) -> str | None:
    return node.value if isinstance(node, YScalar) and isinstance(node.value, str) else None


def _read_nodes(graph: YNode | None) -> list[Node]:
    out: list[Node] = []
    if not isinstance(graph, YSeq):
        return out
    for item in graph.items:
        if not isinstance(item, YMap):
            continue
        name_node, type_node = item.get("name"), item.get("type")
        params = item.get("params")
        out.append(
            Node(
                name=_str(name_node) or "",
                name_node=name_node,
                type=_str(type_node),
                type_node=type_node,
                params=params if isinstance(params, YMap) else None,
                inputs=item.get("inputs"),
                node=item,
            )
        )
    return out


def check_model(ctx: CheckContext) -> None:
    root = ctx.root
    assert isinstance(root, YMap)
    modules = root.get("modules")
    module_inputs: dict[str, list[str]] = {}
    module_outputs: dict[str, tuple[str, ...]] = {}
    module_nodes: dict[str, YNode] = {}
    if isinstance(modules, YMap):
        for name, knode, mod in modules.items():
            module_nodes[name] = knode
            ins = mod.get("inputs") if isinstance(mod, YMap) else None
            module_inputs[name] = [
                str(i.value) for i in getattr(ins, "items", []) if isinstance(i, YScalar)
            ]
            outs = mod.get("outputs") if isinstance(mod, YMap) else None
            module_outputs[name] = tuple(outs.keys()) if isinstance(outs, YMap) else ()
    _check_model_file(ctx)
    inputs = root.get("inputs")
    if isinstance(inputs, YMap):
        _check_inputs(ctx, inputs)
    top = Scope("graph", inputs.keys() if isinstance(inputs, YMap) else [])
    outputs = root.get("outputs")
    top.outputs = outputs if isinstance(outputs, YMap) else None
    _check_scope(ctx, top, root.get("graph"), module_inputs, module_outputs)
    if isinstance(modules, YMap):
        for name, _, mod in modules.items():
            if not isinstance(mod, YMap):
                continue
            scope = Scope(f"module {name}", module_inputs.get(name, []))
            outs = mod.get("outputs")
            scope.outputs = outs if isinstance(outs, YMap) else None
            _check_scope(ctx, scope, mod.get("graph"), module_inputs, module_outputs, within=name)
    loss = root.get("loss")
    if isinstance(loss, YMap):
        _check_loss(ctx, loss, top, inputs if isinstance(inputs, YMap) else None)


def _check_model_file(ctx: CheckContext) -> None:
    """The file name gives the model ID: its format, and no other file with the same ID."""
    model_id = model_id_of(ctx.path)
    first = (
        ctx.root.pairs[0][0].span
        if isinstance(ctx.root, YMap) and ctx.root.pairs
        else Span(0, 0, 0, 0)
    )
    if not is_valid_model_id(model_id):
        ctx.report(
            codes.MODEL_ID_FORMAT,
            f"this model's ID is its file name, '{model_id}', which is not of the form "
            f"<name>-v<version>; rename the file to e.g. '{model_id}-v1.model.yaml' so that "
            "trainers can reference it",
            first,
            Severity.WARNING,
        )
    if ctx.registry is None:
        return
    others = [p for p in ctx.registry.paths_of(model_id) if p != ctx.path.resolve()]
    if others:
        ctx.report(
            codes.DUPLICATE_MODEL_ID,
            f"model ID '{model_id}' is also defined by {others[0]}; model IDs must be unique "
            "in the workspace (rename one of the files)",
            first,
            related=tuple(Related(str(p), Span(0, 0, 0, 0), "same model ID") for p in others),
        )


def _check_inputs(ctx: CheckContext, inputs: YMap) -> None:
    dtypes = set(ctx.catalog.dtype_names() if ctx.catalog is not None else FALLBACK_DTYPES)
    for name, _, spec in inputs.items():
        if not isinstance(spec, YMap):
            continue
        dt = spec.get("dtype")
        dtv = _str(dt)
        if dt is not None and dtv is not None and dtv.removeprefix("torch.") not in dtypes:
            guess = did_you_mean(dtv, sorted(dtypes))
            msg = f"input '{name}' has unknown dtype '{dtv}'"
            ctx.suggest(
                codes.UNKNOWN_DTYPE, msg, dt.span, guess, otherwise="; use e.g. float32 or int64"
            )
        _check_categorical(ctx, name, spec)
        shape, cols = spec.get("shape"), spec.get("columns")
        if isinstance(shape, YSeq) and isinstance(cols, YSeq) and shape.items:
            last = shape.items[-1]
            n = len(cols.items)
            # Several columns spread over the last dim; one column may hold a whole sequence.
            if (
                n > 1
                and len(shape.items) == 2
                and isinstance(last, YScalar)
                and isinstance(last.value, int)
                and not isinstance(last.value, bool)
                and last.value != n
            ):
                ctx.report(
                    codes.COLUMNS_SHAPE_MISMATCH,
                    f"input '{name}' has shape {last.value} per row but {n} column"
                    f"{'s' if n != 1 else ''}; list {last.value} columns or set the shape to "
                    f"[null, {n}]",
                    last.span,
                )


# The index dtypes torch.nn.Embedding takes (int16 or uint8 indices are refused by torch).
INDEX_DTYPES = ("int64", "long", "int32", "int")
EMBEDDING_KEYS = ("vocab_size", "embedding_dim")


def _check_categorical(ctx: CheckContext, name: str, spec: YMap) -> None:
    """Arc's categorical input (arc-graph.md 3.2): the model embeds its values with
    nn.Embedding(vocab_size + 1, embedding_dim), so both sizes are needed, the values are
    indices and the shape is one value or k values per row."""
    flag = spec.get("categorical")
    value = flag.value if isinstance(flag, YScalar) else None
    given = [k for k in EMBEDDING_KEYS if spec.get(k) is not None]
    if flag is not None and not isinstance(value, bool):
        return  # not a boolean: the schema says so
    if value is not True:
        for key in given:
            knode = spec.key_node(key)
            assert knode is not None
            ctx.report(
                codes.EMBEDDING_WITHOUT_CATEGORICAL,
                f"input '{name}' gives {key} but is not categorical, so it has no embedding; "
                f"add `categorical: true` to embed its values, or remove {key}",
                knode.span,
                Severity.WARNING,
                data={"fix": "remove_key", "key": key},
            )
        return
    missing = [k for k in EMBEDDING_KEYS if k not in given]
    if missing:
        fkey = spec.key_node("categorical")
        assert fkey is not None
        ctx.report(
            codes.CATEGORICAL_INCOMPLETE,
            f"categorical input '{name}' needs {' and '.join(missing)}: its values are embedded "
            "by torch.nn.Embedding(vocab_size + 1, embedding_dim); add "
            + " and ".join(f"`{k}: <n>`" for k in missing),
            fkey.span,
        )
    dt = spec.get("dtype")
    dtv = _str(dt)
    if dt is not None and dtv is not None and dtv.removeprefix("torch.") not in INDEX_DTYPES:
        ctx.report(
            codes.CATEGORICAL_DTYPE,
            f"categorical input '{name}' has dtype {dtv}, but its values are indices into its "
            "embedding; use long (int64) or int32",
            dt.span,
            data={"fix": "replace_value", "with": "long"},
        )
    shape = spec.get("shape")
    if isinstance(shape, YSeq) and not _categorical_shape(shape):
        shown = "[" + ", ".join(getattr(i, "text", "?") for i in shape.items) + "]"
        ctx.report(
            codes.CATEGORICAL_SHAPE,
            f"categorical input '{name}' has shape {shown}; a categorical input has shape [null] "
            "(one value per row) or [null, k] (k values per row)",
            shape.span,
        )


def _categorical_shape(shape: YSeq) -> bool:
    """[null] or [null, k]; a k that is no positive integer is the schema's to report."""
    items = shape.items
    if not 1 <= len(items) <= 2:
        return False
    first = items[0]
    if not (isinstance(first, YScalar) and first.value is None):
        return False
    return len(items) == 1 or not (isinstance(items[1], YScalar) and items[1].value is None)


def _ref_nodes(inputs: YNode | None) -> list[tuple[str | None, YNode]]:
    """(keyword or None, reference node) for a node's inputs."""
    if isinstance(inputs, YMap):
        return [(k, v) for k, _, v in inputs.items()]
    if isinstance(inputs, YSeq):
        return [(None, v) for v in inputs.items]
    if isinstance(inputs, YScalar) and isinstance(inputs.value, str):
        return [(None, inputs)]
    return []


def _check_scope(
    ctx: CheckContext,
    scope: Scope,
    graph: YNode | None,
    module_inputs: dict[str, list[str]],
    module_outputs: dict[str, tuple[str, ...]],
    within: str | None = None,
) -> None:
    scope.nodes = _read_nodes(graph)
    for n in scope.nodes:
        if not n.name:
            continue
        first = scope.by_name.get(n.name)
        if first is not None and n.name_node is not None and first.name_node is not None:
            ctx.report(
                codes.DUPLICATE_NODE,
                f"duplicate node name '{n.name}' in {scope.label} (first on line "
                f"{first.name_node.span.start_line + 1}); node names must be unique",
                n.name_node.span,
                related=(Related(str(ctx.path), first.name_node.span, "first defined here"),),
            )
            continue
        scope.by_name[n.name] = n
        if n.name in scope.input_names and n.name_node is not None:
            ctx.report(
                codes.DUPLICATE_NODE,
                f"node name '{n.name}' is also an input name in {scope.label}; a bare reference "
                f"'{n.name}' would be ambiguous, rename the node",
                n.name_node.span,
            )
    scope.graph = Graph(
        dict.fromkeys(scope.input_names),
        {name: _named_outputs(n, module_outputs) for name, n in scope.by_name.items()},
    )
    deps: dict[str, list[str]] = {name: [] for name in scope.by_name}
    for n in scope.nodes:
        _check_node_type(ctx, n, module_inputs, within)
        # a duplicate's references are checked, but only the first node of a name has deps
        _check_node_refs(ctx, scope, n, deps[n.name] if scope.by_name.get(n.name) is n else None)
    _check_cycles(ctx, scope, deps)
    if scope.outputs is not None:
        for out_name, _, ref in scope.outputs.items():
            _check_output(ctx, scope, out_name, ref)


def _named_outputs(n: Node, module_outputs: dict[str, tuple[str, ...]]) -> tuple[str, ...] | None:
    """The output names of the `modules` entry a `module.X` node instantiates."""
    if n.type is None or classify_type(n.type) != "module_ref":
        return None
    return module_outputs.get(n.type.split(".", 1)[1]) or None


def _check_ref(ctx: CheckContext, scope: Scope, ref: YNode, what: str) -> Resolved | None:
    """Report a reference that does not resolve (arcgraph.engine.graph decides, as for the
    builder). -> what it resolves to (None: nothing, or no text)."""
    text = _str(ref)
    if text is None:
        return None
    found = resolve(text, scope.graph)
    if isinstance(found, Resolved):
        return found
    parsed = found.ref
    if parsed is None:
        ctx.report(
            codes.UNRESOLVED_REFERENCE,
            f"{what} '{text}' is not a reference; write an input name or <node>.output",
            ref.span,
        )
        return
    head, attr = parsed.name, parsed.attr
    named = scope.graph.nodes.get(head)
    if found.error is RefError.BARE_NODE:
        ctx.report(
            codes.UNRESOLVED_REFERENCE,
            f"{what} '{text}' names node '{head}'; refer to its result as '{head}.output'",
            ref.span,
            data={"fix": "replace_value", "with": f"{head}.output"},
        )
    elif found.error is RefError.NO_SUCH_OUTPUT and named:
        guess = did_you_mean(str(attr), list(named))
        msg = (
            f"{what} '{text}': node '{head}' has outputs {', '.join(named)} (or all of them "
            f"as '{head}.output'), not '{attr}'"
        )
        ctx.suggest(codes.UNRESOLVED_REFERENCE, msg, ref.span, guess and f"{head}.{guess}")
    elif found.error is RefError.NO_SUCH_OUTPUT:
        ctx.report(
            codes.UNRESOLVED_REFERENCE,
            f"{what} '{text}': a node's result is '{head}.output' (or '{head}.output.N' "
            f"for one element of a tuple), not '.{attr}'",
            ref.span,
            data={"fix": "replace_value", "with": f"{head}.output"},
        )
    elif found.error is RefError.NO_SUCH_ELEMENT and named:
        ctx.report(
            codes.UNRESOLVED_REFERENCE,
            f"{what} '{text}': '{head}.output' is a tuple of {len(named)} "
            f"({', '.join(named)}); its elements are {head}.output.0 to "
            f"{head}.output.{len(named) - 1}",
            ref.span,
        )
    else:
        known = valid_refs(scope.graph)
        guess = did_you_mean(text, known)
        msg = f"{what} '{text}' does not resolve in {scope.label}"
        ctx.suggest(
            codes.UNRESOLVED_REFERENCE,
            msg,
            ref.span,
            guess,
            otherwise=f"; known: {', '.join(known[:8])}",
        )


def _check_node_refs(ctx: CheckContext, scope: Scope, n: Node, deps: list[str] | None) -> None:
    """Report `n`'s references that do not resolve; append the nodes whose results it reads
    to `deps` (each reference resolved once, for both: the cycle check reads `deps`)."""
    for _, ref in _ref_nodes(n.inputs):
        found = _check_ref(ctx, scope, ref, f"input of node '{n.name}'")
        if deps is not None and found is not None and found.is_node:
            deps.append(found.name)


def _check_cycles(ctx: CheckContext, scope: Scope, deps: dict[str, list[str]]) -> None:
    """Each cycle once, named in data-flow order from its earliest-listed node (the builder
    refuses the same cycles with the same path). `deps`: node -> the nodes it reads."""
    for cycle in cycles(deps):
        first = scope.by_name[cycle.nodes[0]]
        if first.name_node is not None:
            ctx.report(
                codes.GRAPH_CYCLE,
                f"the graph has a cycle: {cycle.path}; a node cannot depend on its own output",
                first.name_node.span,
            )


def _check_output(ctx: CheckContext, scope: Scope, out_name: str, ref: YNode) -> None:
    text = _str(ref)
    if text is None:
        return
    found = resolve(text, scope.graph, nodes_only=True)
    if isinstance(found, Resolved):
        return
    if found.error is RefError.INPUT_NOT_NODE:
        ctx.report(
            codes.BAD_OUTPUT,
            f"output '{out_name}' refers to input '{text}'; outputs refer to graph nodes "
            "(<node>.output)",
            ref.span,
        )
        return
    guess = did_you_mean(text, valid_refs(scope.graph, nodes_only=True))
    msg = f"output '{out_name}' refers to '{text}', which is no node of {scope.label}"
    ctx.suggest(codes.BAD_OUTPUT, msg, ref.span, guess, otherwise="; write <node>.output")


def _check_node_type(
    ctx: CheckContext, n: Node, module_inputs: dict[str, list[str]], within: str | None
) -> None:
    if n.type is None or n.type_node is None:
        return
    kind = classify_type(n.type)
    if kind == "module_ref":
        _check_module_ref(ctx, n, n.type.split(".", 1)[1], module_inputs, within)
        return
    if kind == "stack":
        _check_stack(ctx, n, module_inputs, within)
        return
    reason = rejection_reason(n.type)
    if reason:
        ctx.report(codes.REJECTED_NAME, reason, n.type_node.span)
        return
    if kind is None or not NODE_TYPE_RE.match(n.type):
        _bad_type_form(ctx, n)
        return
    cat = ctx.catalog
    if cat is None:
        for obj in _target_objects(n.params):
            _check_target(ctx, obj, n.type)
        return
    if kind == "nn":
        info = cat.module(n.type)
        if info is None:
            _unknown_type(
                ctx,
                n,
                cat.module_names(),
                "a module class in torch.nn",
                fallback=cat.function_names(),
            )
            return
        given = set(n.params.keys()) if n.params else set()
        if n.params is not None:
            check_params(ctx, n.params, info, n.type, nested=lambda m, o: _check_target(ctx, m, o))
        for name in missing_required(info, given):
            ctx.report(
                codes.MISSING_PARAM,
                f"{n.type} needs parameter '{name}'; add it under params of node '{n.name}'",
                n.type_node.span,
                data={"fix": "add_param", "key": name},
            )
        if isinstance(n.inputs, YMap):
            fwd = getattr(info, "forward", None) or []
            _check_input_keywords(ctx, n, fwd, f"{n.type}.forward")
        return
    info = cat.function(n.type)
    if info is None and _refused_function(ctx, n, cat):
        return
    if info is None:
        _unknown_type(
            ctx,
            n,
            cat.function_names(),
            "a function in torch or torch.nn.functional",
            fallback=cat.module_names(),
        )
        return
    given_by_inputs = list(n.inputs.keys()) if isinstance(n.inputs, YMap) else []
    if n.params is not None:
        check_params(
            ctx,
            n.params,
            info,
            n.type,
            skip=given_by_inputs,
            nested=lambda m, o: _check_target(ctx, m, o),
        )
    if isinstance(n.inputs, YMap):
        _check_input_keywords(ctx, n, getattr(info, "params", []), n.type)
        given = set(given_by_inputs) | (set(n.params.keys()) if n.params else set())
        for name in missing_required(info, given):
            ctx.report(
                codes.MISSING_PARAM,
                f"{n.type} needs argument '{name}'; give it in inputs or params of node '{n.name}'",
                n.type_node.span,
                data={"fix": "add_param", "key": name},
            )


def _bad_type_form(ctx: CheckContext, n: Node) -> None:
    assert n.type is not None and n.type_node is not None
    tail = n.type.rsplit(".", 1)[-1]
    guess = None
    if ctx.catalog is not None:
        names = ctx.catalog.module_names() + ctx.catalog.function_names()
        guess = next((x for x in names if x.rsplit(".", 1)[-1] == tail), None)
    msg = (
        f"node type '{n.type}' must be torch.nn.<Module>, torch.<function>, "
        "torch.nn.functional.<function>, module.<Name> or arc.stack"
    )
    ctx.suggest(codes.BAD_FORMAT, msg, n.type_node.span, guess)


def _target_objects(node: YNode | None) -> list[YMap]:
    """Every `{_target_: ...}` mapping inside a params value, outermost first."""
    found: list[YMap] = []
    if isinstance(node, YMap):
        if node.get("_target_") is not None:
            found.append(node)
        for _, _, v in node.items():
            found += _target_objects(v)
    elif isinstance(node, YSeq):
        for v in node.items:
            found += _target_objects(v)
    return found


def _check_input_keywords(ctx: CheckContext, n: Node, params: list[Any], owner: str) -> None:
    assert isinstance(n.inputs, YMap)
    facts = signature_facts(params)
    if facts.var_keyword:
        return
    allowed = facts.named
    for key, knode, _ in n.inputs.items():
        if key in allowed:
            continue
        guess = did_you_mean(key, list(allowed))
        msg = f"{owner} takes no argument '{key}'"
        ctx.suggest(
            codes.UNKNOWN_INPUT_ARG,
            msg,
            knode.span,
            guess,
            otherwise=f"; it takes: {', '.join(allowed) or 'none'}",
            fix="rename_key",
        )


def _refused_function(ctx: CheckContext, n: Node, cat: Any) -> bool:
    """A torch function that exists but is no graph node (a factory like torch.randn, an
    in-place variant, a settings getter): say why, rather than guess a similar name."""
    assert n.type is not None and n.type_node is not None
    found = refused_function_reason(n.type)
    if found is not None:
        reason, instead = found
    else:
        rejected = getattr(cat, "rejected_reason", None)
        reason, instead = (rejected(n.type) if rejected else None), None
        if reason is None:
            return False
    guess = instead if instead is not None and cat.function(instead) is not None else None
    ctx.suggest(codes.REJECTED_NAME, reason, n.type_node.span, guess)
    return True


def _unknown_type(
    ctx: CheckContext, n: Node, names: list[str], what: str, fallback: list[str]
) -> None:
    assert n.type is not None and n.type_node is not None
    guess = did_you_mean(n.type, names)
    if (
        guess is None
    ):  # torch.nn.relu -> torch.nn.ReLU, torch.nn.functional.Linear -> torch.nn.Linear
        tail = n.type.rsplit(".", 1)[-1].lower()
        guess = next((x for x in names + fallback if x.rsplit(".", 1)[-1].lower() == tail), None)
    msg = f"'{n.type}' is not {what} of the installed torch"
    ctx.suggest(codes.UNKNOWN_NODE_TYPE, msg, n.type_node.span, guess)


def _check_target(ctx: CheckContext, obj: YMap, owner: str) -> None:
    """A `{_target_: torch.nn.X, ...}` value: X must be a torch.nn class, its keys its params."""
    tnode = obj.get("_target_")
    target = _str(tnode)
    if tnode is None or target is None:
        return
    reason = rejection_reason(target)
    if reason or classify_type(target) != "nn":
        ctx.report(
            codes.BAD_TARGET_OBJECT,
            reason
            or f"_target_ '{target}' must name a torch.nn class (e.g. torch.nn.TransformerEncoderLayer)",
            tnode.span,
        )
        return
    if ctx.catalog is None:
        return
    info = ctx.catalog.module(target)
    if info is None:
        guess = did_you_mean(target, ctx.catalog.module_names())
        msg = f"_target_ '{target}' is not a module class of the installed torch"
        ctx.suggest(codes.BAD_TARGET_OBJECT, msg, tnode.span, guess)
        return
    check_params(
        ctx, obj, info, target, skip=("_target_",), nested=lambda m, o: _check_target(ctx, m, o)
    )
    for name in missing_required(info, set(obj.keys())):
        ctx.report(
            codes.MISSING_PARAM,
            f"{target} needs parameter '{name}' (in {owner})",
            tnode.span,
            data={"fix": "add_param", "key": name},
        )


def _check_module_ref(
    ctx: CheckContext, n: Node, name: str, module_inputs: dict[str, list[str]], within: str | None
) -> None:
    assert n.type_node is not None
    if name not in module_inputs:
        guess = did_you_mean(name, list(module_inputs))
        msg = f"module '{name}' is not defined under `modules`"
        msg += (
            f"; did you mean 'module.{guess}'?"
            if guess
            else (
                f"; defined: {', '.join(module_inputs)}"
                if module_inputs
                else "; add it under `modules:`"
            )
        )
        ctx.report(
            codes.UNKNOWN_MODULE,
            msg,
            n.type_node.span,
            data={"fix": "replace_value", "with": f"module.{guess}"} if guess else None,
        )
        return
    if name == within:
        ctx.report(
            codes.UNKNOWN_MODULE,
            f"module '{name}' uses itself; modules cannot be recursive",
            n.type_node.span,
        )
        return
    if n.params is not None and n.params.pairs:
        ctx.report(
            codes.UNKNOWN_PARAM,
            f"a module.{name} node takes no params; remove them",
            n.params.pairs[0][0].span,
            data={"fix": "remove_key", "key": n.params.keys()[0]},
        )
    _check_binding(ctx, n, name, module_inputs[name])


def _check_binding(ctx: CheckContext, n: Node, module: str, declared: list[str]) -> None:
    if isinstance(n.inputs, YSeq) and len(n.inputs.items) != len(declared):
        ctx.report(
            codes.MODULE_BINDING,
            f"module '{module}' takes {len(declared)} input(s) ({', '.join(declared)}) "
            f"but node '{n.name}' passes {len(n.inputs.items)}",
            n.inputs.span,
        )
    if not isinstance(n.inputs, YMap):
        return
    keys = n.inputs.keys()
    if len(declared) == 1 and len(keys) == 1 and keys[0] != declared[0]:
        knode = n.inputs.pairs[0][0]
        ctx.report(
            codes.MODULE_BINDING,
            f"'{keys[0]}' binds to module '{module}''s only input '{declared[0]}'; "
            f"you may name it '{declared[0]}'",
            knode.span,
            Severity.HINT,
            data={"fix": "rename_key", "with": declared[0]},
        )
        return
    for key, knode, _ in n.inputs.items():
        if key not in declared:
            guess = did_you_mean(key, declared)
            msg = f"module '{module}' has no input '{key}'"
            ctx.suggest(
                codes.MODULE_BINDING,
                msg,
                knode.span,
                guess,
                otherwise=f"; its inputs: {', '.join(declared)}",
                fix="rename_key",
            )
    for name in declared:
        if name not in keys and len(declared) > 1:
            ctx.report(
                codes.MODULE_BINDING,
                f"node '{n.name}' does not bind input '{name}' of module '{module}'",
                n.inputs.span,
            )


def _check_stack(
    ctx: CheckContext, n: Node, module_inputs: dict[str, list[str]], within: str | None
) -> None:
    assert n.type_node is not None
    p = n.params
    if p is None:
        ctx.report(
            codes.BAD_STACK,
            "arc.stack needs params `module` (a module name) and `count` (>= 1)",
            n.type_node.span,
            data={"fix": "add_param", "key": "module"},
        )
        return
    mod_node, count_node = p.get("module"), p.get("count")
    mod = _str(mod_node)
    if mod_node is None:
        ctx.report(
            codes.BAD_STACK,
            "arc.stack needs params.module: the name of a module to stack",
            n.type_node.span,
            data={"fix": "add_param", "key": "module"},
        )
    elif mod is None or mod.removeprefix("module.") not in module_inputs:
        name = (mod or "").removeprefix("module.")
        guess = did_you_mean(name, list(module_inputs))
        msg = f"arc.stack module '{mod_node.value if isinstance(mod_node, YScalar) else mod}' is not defined under `modules`"
        ctx.suggest(codes.BAD_STACK, msg, mod_node.span, guess)
    else:
        name = mod.removeprefix("module.")
        if name == within:
            ctx.report(
                codes.BAD_STACK,
                f"module '{name}' stacks itself; modules cannot be recursive",
                mod_node.span,
            )
        else:
            _check_binding(ctx, n, name, module_inputs[name])
    if count_node is None:
        ctx.report(
            codes.BAD_STACK,
            "arc.stack needs params.count: how many copies to chain (>= 1)",
            n.type_node.span,
            data={"fix": "add_param", "key": "count"},
        )
    else:
        c = count_node.value if isinstance(count_node, YScalar) else None
        if not (isinstance(c, int) and not isinstance(c, bool) and c >= 1):
            ctx.report(
                codes.BAD_STACK,
                f"arc.stack count must be an integer >= 1; got {getattr(count_node, 'text', c)}",
                count_node.span,
            )
    for key, knode, _ in p.items():
        if key not in ("module", "count"):
            ctx.report(
                codes.UNKNOWN_PARAM,
                f"unknown parameter '{key}' for arc.stack; it takes module and count",
                knode.span,
                data={"fix": "remove_key", "key": key},
            )


def _check_loss(ctx: CheckContext, loss: YMap, top: Scope, inputs: YMap | None) -> None:
    tnode = loss.get("type")
    ltype = _str(tnode)
    info = None
    if ltype and tnode is not None and ctx.catalog is not None:
        info = ctx.catalog.loss(ltype)
        if info is None:
            names = ctx.catalog.loss_names()
            guess = did_you_mean(ltype, names)
            if guess is None:
                tail = ltype.rsplit(".", 1)[-1].lower()
                guess = next(
                    (
                        x
                        for x in names
                        if x.rsplit(".", 1)[-1].replace("_", "") in tail.replace("_", "")
                        or tail.replace("loss", "") in x.replace("_", "")
                    ),
                    None,
                )
            msg = f"'{ltype}' is not a torch loss function or loss class"
            ctx.suggest(
                codes.NOT_A_LOSS,
                msg,
                tnode.span,
                guess,
                otherwise="; use e.g. torch.nn.functional.mse_loss",
            )
    linputs = loss.get("inputs")
    outputs = top.outputs.keys() if top.outputs is not None else []
    if isinstance(linputs, YMap):
        inp = linputs.get("input")
        val = _str(inp)
        if inp is not None and val is not None and val not in outputs:
            guess = did_you_mean(val, outputs)
            if guess is None:
                parsed = parse_ref(val)  # `sigmoid.output` -> the output that is that node
                if parsed and top.outputs is not None:
                    guess = next((k for k, _, v in top.outputs.items() if _str(v) == val), None)
            msg = f"loss input '{val}' is not one of the model's outputs ({', '.join(outputs) or 'none'})"
            ctx.suggest(codes.LOSS_INPUT_UNKNOWN, msg, inp.span, guess)
        tgt = linputs.get("target")
        target = _str(tgt)
        if tgt is not None and target and inputs is not None:
            for name, _, spec in inputs.items():
                cols = spec.get("columns") if isinstance(spec, YMap) else None
                if isinstance(cols, YSeq) and any(_str(c) == target for c in cols.items):
                    ctx.report(
                        codes.TARGET_IS_FEATURE,
                        f"target column '{target}' is also a feature column of input '{name}': "
                        "the model would see the answer (label leakage); remove it from the columns",
                        tgt.span,
                        Severity.WARNING,
                    )
                    break
    params = loss.get("params")
    fn = getattr(info, "function", None)
    if fn is not None and isinstance(params, YMap) and ltype:
        check_params(ctx, params, fn, ltype, skip=("input", "target"))
