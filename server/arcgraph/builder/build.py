"""Build a torch.nn.Module from an Arc-Graph model spec (a dict loaded with yaml.safe_load).

Every spec name goes through `arcgraph.builder.torchnames` (never import/eval). Layers are registered
under their node names, so state_dict keys are stable (`hidden_1.weight`, `encoder.0.mha.
in_proj_weight`). The forward pass is precompiled into a flat list of steps in dependency
order: per node it does one argument gather and one call, so a spec-built model costs about
what a hand-written `nn.Module` does.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from arcgraph.builder import torchnames
from arcgraph.builder.errors import NodeRuntimeError, SpecBuildError
from arcgraph.engine import graph as rules

__all__ = [
    "GraphModule",
    "NodeRuntimeError",
    "SpecBuildError",
    "build_model",
    "embedding_sizes",
    "example_inputs",
]

# A resolved reference: (environment key, element index path into its value, or None).
Ref = tuple[str, tuple[int, ...] | None]

# What `GraphModule.trace` calls per node: (node name, its arguments, its result).
NodeRecord = Callable[[str, list[Any], Any], None]

# Size given to `null` dimensions other than the batch one by `example_inputs`.
EXAMPLE_VARIABLE_DIM = 8


class GraphModule(nn.Module):
    """A spec graph (the main one or a `modules` entry) as an nn.Module.

    The main graph's forward takes the inputs by name (keywords or one dict) and returns a dict
    of the named outputs; a sub-graph takes its inputs positionally and returns its single
    output, or a tuple of its outputs in declared order.
    """

    def __init__(
        self,
        input_names: list[str],
        steps: list[tuple[str, Callable[..., Any], list[Ref], list[tuple[str, Ref]], bool]],
        outputs: list[tuple[str, Ref]],
        layers: dict[str, nn.Module],
        *,
        main: bool,
        module_name: str | None = None,
    ) -> None:
        super().__init__()
        self._input_names = tuple(input_names)
        self._steps = steps
        self._outputs = outputs
        self._main = main
        self._chain = _straight_chain(self._input_names, steps, outputs)
        self._embedded: tuple[tuple[str, nn.Embedding], ...] = ()
        self._output_keys = tuple(name for name, _ in outputs)
        self.module_name = module_name
        # the shape probe's recorder of a sub-graph's nodes (see `record_nodes`)
        self._record: NodeRecord | None = None
        # after this module's own attributes: a node named like one is refused (add_module's
        # KeyError), not replaced by the attribute (its layer's parameters lost)
        for name, layer in layers.items():
            try:
                self.add_module(name, layer)
            except KeyError as err:
                raise SpecBuildError(
                    name,
                    f"the name '{name}' is reserved by torch.nn.Module; rename the node",
                    module=module_name,
                ) from err

    def record_nodes(self, record: NodeRecord | None) -> None:
        """Give each of this sub-graph's node calls to `record` from now on (None: stop): the
        shape probe sees a module's inner nodes through it."""
        self._record = record

    @property
    def input_names(self) -> tuple[str, ...]:
        return self._input_names

    def embed_inputs(self, embeddings: dict[str, nn.Embedding]) -> None:
        """Arc's categorical inputs: each one goes through its embedding before the graph
        reads it (state_dict keys `embeddings.<input>.weight`, as in Arc's builder)."""
        if not embeddings:
            return
        if "embeddings" in self._modules:
            raise SpecBuildError(
                "embeddings",
                "the name 'embeddings' holds the embeddings of the categorical inputs; "
                "rename the node",
            )
        self.embeddings = nn.ModuleDict(embeddings)
        self._embedded = tuple(embeddings.items())
        self._chain = None

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self._outputs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        chain, record = self._chain, self._record
        if chain is not None and record is None and len(args) == 1 and not kwargs:
            arg = args[0]
            if not self._main:
                return self._run_chain(chain, arg)
            if type(arg) is dict and self._input_names[0] in arg:
                return self._run_chain(chain, arg[self._input_names[0]])
        if len(args) == 1 and not kwargs and isinstance(args[0], Mapping):
            env: dict[str, Any] = dict(args[0])
        else:
            env = dict(zip(self._input_names, args, strict=False))
            env.update(kwargs)
        if len(env) < len(self._input_names):
            missing = [n for n in self._input_names if n not in env]
            raise TypeError(f"missing model input(s): {', '.join(missing)}")
        for name, embedding in self._embedded:
            env[name] = embedding(env[name])
        self._run_steps(env, record)
        return self._result(env)

    def _result(self, env: dict[str, Any]) -> Any:
        """The graph's outputs picked from `env` (a dict for the main graph)."""
        try:
            picked = [env[k] if i is None else _pick(env[k], k, i) for _, (k, i) in self._outputs]
        except _NoElement:
            raise self._output_error(env) from None
        if self._main:
            return dict(zip(self._output_keys, picked, strict=True))
        return picked[0] if len(picked) == 1 else tuple(picked)

    def _run_steps(self, env: dict[str, Any], record: NodeRecord | None = None) -> None:
        """Every node in run order, each result into `env`; with `record`, each node's
        arguments and result are also given to it (the shape probe's trace)."""
        for name, fn, pos, kw, pack in self._steps:
            try:
                a = [env[k] if i is None else _pick(env[k], k, i) for k, i in pos]
                k = {n: (env[r] if i is None else _pick(env[r], r, i)) for n, (r, i) in kw}
                env[name] = fn(a, **k) if pack else fn(*a, **k)
            except Exception as err:
                raise _failed(name, err) from err
            if record is not None:
                record(name, [*a, *k.values()], env[name])

    def trace(self, inputs: Mapping[str, Any], record: NodeRecord) -> Any:
        """The forward pass on `inputs` (by name) through the step list, giving `record`
        each node's name, arguments and result in run order (no straight-chain shortcut)."""
        env: dict[str, Any] = dict(inputs)
        for name, embedding in self._embedded:
            env[name] = embedding(env[name])
        self._run_steps(env, record)
        return self._result(env)

    def _output_error(self, env: dict[str, Any]) -> NodeRuntimeError:
        """The first graph output whose element reference does not exist, as an error of the
        node it indexes, naming the output (the shape check points at its reference)."""
        for out, (k, i) in self._outputs:
            try:
                if i is not None:
                    _pick(env[k], k, i)
            except _NoElement as err:
                return NodeRuntimeError(k, str(err), output=out)
        raise AssertionError("no output fails")  # only called after one did

    def _run_chain(self, chain: tuple[Callable[..., Any], ...], x: Any) -> Any:
        """The forward of a straight chain (one input, each node fed by the one before, the
        outputs all the last node's): the same calls as the step list without its argument
        gathering, which is most of the per-step Python cost of a small model."""
        done = 0
        try:
            for fn in chain:
                x = fn(x)
                done += 1
        except Exception as err:
            raise _failed(self._steps[done][0], err) from err
        keys = self._output_keys
        if self._main:
            return {key: x for key in keys}
        return x if len(keys) == 1 else tuple(x for _ in keys)


class _NoElement(LookupError):
    """An element reference (`lstm.output.1.2`) past the end of a tuple, or into a tensor."""


def _pick(value: Any, node: str, index: tuple[int, ...]) -> Any:
    """One element of node `node`'s tuple result (`mha.output.0`), nested indices in turn
    (`lstm.output.1.0`). Indices select elements of tuples (and lists) only: on a tensor an
    index would silently take one row of its first dimension, usually the batch."""
    for depth, i in enumerate(index):
        if not isinstance(value, tuple | list):
            what = "a tensor" if isinstance(value, torch.Tensor) else f"a {type(value).__name__}"
            where = _element(node, index[:depth])
            raise _NoElement(
                f"'{where}.{i}': '{where}' is {what}, not a tuple, so it has no element {i}; "
                f"refer to '{where}' (torch.select or torch.narrow take part of a tensor)"
            )
        if i >= len(value):
            where = _element(node, index[:depth])
            raise _NoElement(
                f"'{where}.{i}': '{where}' is a tuple of {len(value)}, so it has no element {i}; "
                f"its elements are {where}.0 to {where}.{len(value) - 1}"
            )
        value = value[i]
    return value


def _element(node: str, index: tuple[int, ...]) -> str:
    return ".".join((node, rules.OUTPUT, *map(str, index)))


def _failed(node: str, err: Exception) -> NodeRuntimeError:
    """`err` raised while running `node`: a nested node's error keeps its path below it."""
    if isinstance(err, NodeRuntimeError):
        return NodeRuntimeError(node, err.message, path=(err.node, *err.path))
    return NodeRuntimeError(node, str(err))


def _straight_chain(
    input_names: tuple[str, ...],
    steps: list[tuple[str, Callable[..., Any], list[Ref], list[tuple[str, Ref]], bool]],
    outputs: list[tuple[str, Ref]],
) -> tuple[Callable[..., Any], ...] | None:
    """One-argument callables for a graph that is one straight chain, else None."""
    if len(input_names) != 1 or not steps or not outputs:
        return None
    previous = input_names[0]
    chain = []
    for name, fn, pos, kw, pack in steps:
        if pack or len(pos) + len(kw) != 1:
            return None
        if pos:
            if pos[0] != (previous, None):
                return None
            chain.append(fn)
        else:
            keyword, ref = kw[0]
            if ref != (previous, None):
                return None
            chain.append(fn if _first_parameter(fn) == keyword else _by_keyword(fn, keyword))
        previous = name
    if any(ref != (previous, None) for _, ref in outputs):
        return None
    return tuple(chain)


def _first_parameter(fn: Callable[..., Any]) -> str | None:
    """The name of the first positional parameter (a module's forward's), if introspectable."""
    target = fn.forward if isinstance(fn, nn.Module) else fn
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return None
    if params and params[0].kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        return params[0].name
    return None


def _by_keyword(fn: Callable[..., Any], keyword: str) -> Callable[[Any], Any]:
    return lambda x: fn(**{keyword: x})


class StackModule(nn.ModuleList):
    """`arc.stack`: `count` independently initialised copies of a one-in, one-out module."""

    def forward(self, x: Any) -> Any:
        for index, block in enumerate(self):
            try:
                x = block(x)
            except NodeRuntimeError as err:
                raise _failed(str(index), err) from err
        return x


@contextmanager
def _construct_on(device: torch.device) -> Iterator[None]:
    with torch.device(device):
        yield


def build_model(spec: Mapping[str, Any], *, device: str | torch.device = "cpu") -> GraphModule:
    """Build the spec's main graph. On `meta` the layers are created without storage (for a
    shape check); otherwise they are created on the CPU, so that a seed gives the same initial
    weights on every device, then moved to `device`."""
    if not isinstance(spec, Mapping):
        raise SpecBuildError(None, "a model spec must be a mapping")
    dev = torch.device(device)
    builder = _Builder(spec)
    inputs = _mapping(spec.get("inputs"), "inputs", None)
    with _construct_on(dev if dev.type == "meta" else torch.device("cpu")):
        embeddings = _embeddings(inputs)  # first, as Arc's builder makes them
        model = builder.graph(
            list(inputs),
            spec.get("graph"),
            spec.get("outputs"),
            main=True,
            module_name=None,
        )
        model.embed_inputs(embeddings)
    if dev.type != "meta":
        model.to(dev)
    return model


def embedding_sizes(decl: Mapping[str, Any]) -> tuple[int, int] | None:
    """(vocab_size, embedding_dim) of a `categorical: true` input, None for any other input.
    The embedding has vocab_size + 1 rows: index vocab_size is reserved for values the
    training rows did not hold (the trainer's vocabulary, arcgraph.training.vocab)."""
    if decl.get("categorical") is not True:
        return None
    vocab_size, dim = decl.get("vocab_size"), decl.get("embedding_dim")
    if not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in (vocab_size, dim)
    ):
        raise SpecBuildError(
            None,
            "a categorical input needs vocab_size and embedding_dim, positive integers; got "
            f"vocab_size {vocab_size!r}, embedding_dim {dim!r}",
        )
    return int(vocab_size), int(dim)  # pyright: ignore[reportArgumentType] - checked above


def _embeddings(inputs: Mapping[str, Any]) -> dict[str, nn.Embedding]:
    out: dict[str, nn.Embedding] = {}
    for name, decl in inputs.items():
        if not isinstance(decl, Mapping):
            continue
        try:
            sizes = embedding_sizes(decl)
        except SpecBuildError as err:
            raise SpecBuildError(None, f"input '{name}': {err.message}") from None
        if sizes is not None:
            out[str(name)] = nn.Embedding(sizes[0] + 1, sizes[1])
    return out


def example_inputs(
    spec: Mapping[str, Any],
    *,
    batch: int = 2,
    device: str | torch.device = "meta",
    variable: int = EXAMPLE_VARIABLE_DIM,
) -> dict[str, torch.Tensor]:
    """Tensors of each input's declared dtype and shape: the first `null` is the batch, other
    `null`s are `variable`; floats are random normal, integers zeros (a valid index
    for any Embedding, a categorical input's own too), booleans False."""
    inputs = _mapping(spec.get("inputs") if isinstance(spec, Mapping) else None, "inputs", None)
    out: dict[str, torch.Tensor] = {}
    for name, decl in inputs.items():
        if not isinstance(decl, Mapping):
            raise SpecBuildError(None, f"input '{name}' must be a mapping")
        try:
            dtype = torchnames.resolve_dtype(str(decl.get("dtype", "float32")))
        except torchnames.NameRejected as err:
            raise SpecBuildError(None, f"input '{name}': {err}") from err
        shape_decl = decl.get("shape") or [None]
        shape = [
            (batch if i == 0 else variable) if d is None else int(d)
            for i, d in enumerate(shape_decl)
        ]
        if dtype.is_floating_point or dtype.is_complex:
            tensor = torch.randn(shape, dtype=dtype, device=device)
        else:
            tensor = torch.zeros(shape, dtype=dtype, device=device)
        out[name] = tensor
    return out


def _mapping(value: Any, what: str, module: str | None) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecBuildError(None, f"'{what}' must be a mapping", module=module)
    return value


@functools.lru_cache(maxsize=256)
def _takes_sequence(fn: Any) -> bool:
    """True for functions whose first parameter is a list of tensors (torch.cat, torch.stack):
    a node's list inputs are then passed as that one list, not spread out."""
    sig_fn = torch.overrides.get_testing_overrides().get(fn)
    if sig_fn is None:
        return False
    try:
        params = list(inspect.signature(sig_fn).parameters.values())
    except (TypeError, ValueError):
        return False
    return (
        bool(params)
        and params[0].name == "tensors"
        and params[0].kind is not params[0].VAR_POSITIONAL
    )


class _Builder:
    """Turns spec sections into GraphModules, resolving `modules` entries on demand."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.modules = _mapping(spec.get("modules"), "modules", None)
        self._active: list[str] = []

    # -- graphs ---------------------------------------------------------------------------
    def graph(
        self,
        input_names: list[str],
        nodes: Any,
        outputs: Any,
        *,
        main: bool,
        module_name: str | None,
    ) -> GraphModule:
        if not isinstance(nodes, list) or not nodes:
            raise SpecBuildError(
                None, "'graph' must be a non-empty list of nodes", module=module_name
            )
        by_name: dict[str, Mapping[str, Any]] = {}
        for node in nodes:
            if not isinstance(node, Mapping) or not isinstance(node.get("name"), str):
                raise SpecBuildError(
                    None, "every graph node needs a string 'name'", module=module_name
                )
            name = node["name"]
            if name in by_name:
                raise SpecBuildError(name, "duplicate node name", module=module_name)
            if name in input_names:
                raise SpecBuildError(
                    name, "a node may not share its name with an input", module=module_name
                )
            by_name[name] = node

        # Build every node first (so a module node's output names are known), then order them.
        built: dict[str, tuple[Callable[..., Any], nn.Module | None, tuple[str, ...] | None]] = {}
        mod_of: dict[str, str | None] = {}
        for name, node in by_name.items():
            fn, layer, out_names, mod_of[name] = self.node(node, module_name)
            built[name] = (fn, layer, out_names)

        names = rules.Graph(dict.fromkeys(input_names), {n: b[2] for n, b in built.items()})

        def resolve(ref: Any, node: str | None) -> Ref:
            return _resolve_ref(ref, node, names, module_name)

        refs: dict[str, tuple[list[Ref], list[tuple[str, Ref]]]] = {}
        for name, node in by_name.items():
            raw = node.get("inputs", {})
            if isinstance(raw, list):
                refs[name] = ([resolve(r, name) for r in raw], [])
            elif isinstance(raw, Mapping):
                refs[name] = ([], [(str(k), resolve(v, name)) for k, v in raw.items()])
            else:
                raise SpecBuildError(name, "'inputs' must be a map or a list", module=module_name)

        order = _run_order(by_name, refs, module_name)
        steps = []
        layers: dict[str, nn.Module] = {}
        for name in order:
            fn, layer, _ = built[name]
            pos, kw = refs[name]
            if layer is not None:
                layers[name] = layer
            mod_name = mod_of[name]
            if mod_name is not None:
                pos, kw = self._bind_module_inputs(name, mod_name, pos, kw, module_name)
            pack = layer is None and bool(pos) and _takes_sequence(getattr(fn, "func", fn))
            steps.append((name, fn, pos, kw, pack))

        out_decl = _mapping(outputs, "outputs", module_name)
        if not out_decl:
            raise SpecBuildError(
                None, "'outputs' must name at least one output", module=module_name
            )
        out_refs = [(str(k), resolve(v, None)) for k, v in out_decl.items()]
        return GraphModule(input_names, steps, out_refs, layers, main=main, module_name=module_name)

    def _bind_module_inputs(
        self,
        name: str,
        mod_name: str,
        pos: list[Ref],
        kw: list[tuple[str, Ref]],
        module_name: str | None,
    ) -> tuple[list[Ref], list[tuple[str, Ref]]]:
        """A module node's inputs become positional arguments in the module's declared order:
        a list binds by position, a map by name; a single map entry binds to a module's only
        input whatever its key (Arc's own transformer example relies on that)."""
        declared = list(self.modules[mod_name]["inputs"])
        if pos:
            if len(pos) != len(declared):
                raise SpecBuildError(
                    name,
                    f"module '{mod_name}' takes {len(declared)} input(s), got {len(pos)}",
                    module=module_name,
                )
            return pos, []
        if len(declared) == 1 and len(kw) == 1:
            return [kw[0][1]], []
        given = dict(kw)
        unknown = [k for k in given if k not in declared]
        missing = [d for d in declared if d not in given]
        if unknown or missing:
            detail = []
            if missing:
                detail.append("missing " + ", ".join(missing))
            if unknown:
                detail.append("unknown " + ", ".join(unknown))
            raise SpecBuildError(
                name,
                f"inputs do not match module '{mod_name}' inputs {declared}: {'; '.join(detail)}",
                module=module_name,
            )
        return [given[d] for d in declared], []

    # -- nodes ----------------------------------------------------------------------------
    def node(
        self, node: Mapping[str, Any], module_name: str | None
    ) -> tuple[Callable[..., Any], nn.Module | None, tuple[str, ...] | None, str | None]:
        """-> (callable, layer to register or None, a module node's output names, the `modules`
        entry it instantiates)."""
        name = node["name"]
        node_type = node.get("type")
        params = node.get("params") or {}
        if not isinstance(node_type, str):
            raise SpecBuildError(name, "'type' must be a string", module=module_name)
        if not isinstance(params, Mapping):
            raise SpecBuildError(name, "'params' must be a mapping", module=module_name)

        if node_type == "arc.stack":
            mod_name, count = self._stack_params(name, params, module_name)
            decl = self.modules[mod_name]
            if (
                len(decl.get("inputs") or []) != 1
                or len(_mapping(decl.get("outputs"), "outputs", mod_name)) != 1
            ):
                raise SpecBuildError(
                    name,
                    f"arc.stack needs a module with exactly one input and one output; "
                    f"'{mod_name}' has {len(decl.get('inputs') or [])} and "
                    f"{len(_mapping(decl.get('outputs'), 'outputs', mod_name))}",
                    module=module_name,
                )
            stack = StackModule([self.module(mod_name, name, module_name) for _ in range(count)])
            return stack, stack, None, mod_name

        if node_type.startswith("module."):
            mod_name = node_type[len("module.") :]
            if params:
                raise SpecBuildError(name, "a module.X node takes no params", module=module_name)
            sub = self.module(mod_name, name, module_name)
            return sub, sub, sub.output_names, mod_name

        try:
            kind, obj = torchnames.resolve_node_type(node_type)
        except torchnames.NameRejected as err:
            raise SpecBuildError(name, str(err), module=module_name) from err
        kwargs = {k: self._value(v, name, module_name, key=k) for k, v in params.items()}
        if kind == "module":
            try:
                layer = obj(**kwargs)
            except Exception as err:
                raise SpecBuildError(name, f"{node_type}(...): {err}", module=module_name) from err
            return layer, layer, None, None
        return (functools.partial(obj, **kwargs) if kwargs else obj), None, None, None

    def _stack_params(
        self, name: str, params: Mapping[str, Any], module_name: str | None
    ) -> tuple[str, int]:
        mod_name = params.get("module")
        count = params.get("count")
        if not isinstance(mod_name, str) or mod_name not in self.modules:
            raise SpecBuildError(
                name,
                f"arc.stack 'module' must name an entry of 'modules', got {mod_name!r}",
                module=module_name,
            )
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise SpecBuildError(
                name,
                f"arc.stack 'count' must be an integer >= 1, got {count!r}",
                module=module_name,
            )
        return mod_name, count

    def module(self, mod_name: str, node: str, module_name: str | None) -> GraphModule:
        """A fresh instance of a `modules` entry (fresh weights for each use)."""
        decl = self.modules.get(mod_name)
        if not isinstance(decl, Mapping):
            raise SpecBuildError(
                node, f"no module named '{mod_name}' in 'modules'", module=module_name
            )
        if mod_name in self._active:
            raise SpecBuildError(node, f"module '{mod_name}' uses itself", module=module_name)
        inputs = decl.get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            raise SpecBuildError(None, "'inputs' must be a list of names", module=mod_name)
        self._active.append(mod_name)
        try:
            return self.graph(
                list(inputs),
                decl.get("graph"),
                decl.get("outputs"),
                main=False,
                module_name=mod_name,
            )
        finally:
            self._active.pop()

    def _value(self, value: Any, node: str, module_name: str | None, *, key: str = "") -> Any:
        """A param value: `_target_` mappings become constructed torch.nn objects, `dtype`
        strings torch dtypes; everything else is passed as YAML gave it."""
        if isinstance(value, Mapping):
            if "_target_" in value:
                target = value["_target_"]
                try:
                    cls = torchnames.resolve_target(str(target))
                except torchnames.NameRejected as err:
                    raise SpecBuildError(node, f"{key}: {err}", module=module_name) from err
                kwargs = {
                    k: self._value(v, node, module_name, key=k)
                    for k, v in value.items()
                    if k != "_target_"
                }
                try:
                    return cls(**kwargs)
                except Exception as err:
                    raise SpecBuildError(
                        node, f"{key}: {target}(...): {err}", module=module_name
                    ) from err
            return {k: self._value(v, node, module_name, key=k) for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(v, node, module_name, key=key) for v in value]
        if key == "dtype" and isinstance(value, str):
            try:
                return torchnames.resolve_dtype(value)
            except torchnames.NameRejected as err:
                raise SpecBuildError(node, str(err), module=module_name) from err
        return value


def _resolve_ref(ref: Any, node: str | None, names: rules.Graph, module_name: str | None) -> Ref:
    """A node's input (`node` set) or a graph output (`node` None), resolved by the rules the
    checker uses (arcgraph.engine.graph), so that `check` refuses exactly what the builder refuses."""
    if not isinstance(ref, str):
        raise SpecBuildError(node, f"reference {ref!r} must be a string", module=module_name)
    found = rules.resolve(ref, names, nodes_only=node is None)
    if isinstance(found, rules.Resolved):
        return (found.name, found.indices or None)
    where = f"module '{module_name}'" if module_name else "the graph"
    parsed, error = found.ref, found.error
    named = names.nodes.get(parsed.name) if parsed else None
    if parsed is None:
        message = f"'{ref}' is not a reference (an input name or <node>.output)"
    elif error is rules.RefError.BARE_NODE:
        message = f"'{ref}' names a node; refer to its result as '{ref}.output'"
    elif error is rules.RefError.INPUT_NOT_NODE:
        message = f"'{ref}' is an input; outputs refer to nodes of {where} (<node>.output)"
    elif error is rules.RefError.NO_SUCH_ELEMENT and named:
        message = f"'{ref}': node '{parsed.name}' has {len(named)} outputs ({', '.join(named)})"
    else:
        what = "an input" if parsed.attr is None else "a node output"
        message = f"'{ref}' is not {what} of {where}"
    raise SpecBuildError(node, message, module=module_name)


def _run_order(
    by_name: Mapping[str, Any],
    refs: Mapping[str, tuple[list[Ref], list[tuple[str, Ref]]]],
    module_name: str | None,
) -> list[str]:
    """The nodes in dependency order (arcgraph.engine.graph: of the ready ones, the earliest listed
    first, so the order is stable); a cycle is refused with its path."""
    deps: dict[str, list[str]] = {}
    for name in by_name:
        pos, kw = refs[name]
        deps[name] = [k for k, _ in (*pos, *(r for _, r in kw)) if k in by_name]
    try:
        return rules.run_order(deps)
    except rules.GraphCycle as cycle:
        raise SpecBuildError(
            cycle.nodes[0],
            f"the graph has a cycle: {cycle.path}; a node cannot depend on its own output",
            module=module_name,
        ) from None
