"""The graph rules of a model spec, in one place: what a reference is, what it resolves to, and
the order nodes run in (or the cycle that prevents one).

The checker, the language server's navigation and the torch model builder all use this module,
so that `check` reports a reference or cycle error exactly when the builder would refuse the
graph. Pure Python (no torch, nothing of the language server or the trainer).

References (model-spec.md): an input name (`features`), a node's result (`fc.output`), one
element of a tuple result (`mha.output.0`, and of nested tuples to any depth: `lstm.output.1.0`
is the hidden state of an LSTM's `(output, (h, c))`), and one named output of a `module.X` node
(`pair.first`, where module X declares `outputs: {first: ..., second: ...}`). Only torch knows
the structure of other nodes' results: whether an index exists is the shape check's to say.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import Enum
from graphlib import CycleError, TopologicalSorter
from typing import NamedTuple

# `name`, then `.attr`, then any number of `.N` element indices (nested tuples).
_REF_RE = re.compile(r"^([A-Za-z0-9_]+)(?:\.(\w+)((?:\.[0-9]+)*))?$")

OUTPUT = "output"  # `<node>.output`: the node's whole result

_new = tuple.__new__  # a NamedTuple without its Python-level __new__


class Ref(NamedTuple):  # a tuple, not a dataclass: one per reference of a 2,000-node build
    """A parsed reference: `name`, then `.attr` (`output` or a named output), then indices."""

    name: str
    attr: str | None = None
    indices: tuple[int, ...] = ()


def parse_ref(text: str) -> Ref | None:
    """The parts of a reference, or None when `text` has no reference's form."""
    m = _REF_RE.match(text)
    return None if m is None else _ref(*m.groups())


def _ref(name: str, attr: str | None, tail: str | None) -> Ref:
    index = tuple(int(i) for i in tail.split(".")[1:]) if tail else ()
    return Ref(name, attr, index)


def is_name(text: str) -> bool:
    """Whether `text` matches `[A-Za-z0-9_]+`, the form of input and node names (no regex:
    resolution asks this once per reference)."""
    return text.isascii() and text.replace("_", "a").isalnum()


def ref_name(text: str) -> str:
    """The input or node name a reference (even a half-typed one) starts with: what
    navigation looks up."""
    return text.partition(".")[0]


@dataclass(frozen=True, slots=True)
class Graph:
    """One graph's names: the model's or a module's inputs, and its nodes, each with the
    output names of the `modules` entry a `module.X` node instantiates (None for any other
    node: its result's structure is known only to torch)."""

    inputs: Collection[str]  # in the spec's order (a did-you-mean lists them)
    nodes: Mapping[str, tuple[str, ...] | None]


class RefError(Enum):
    """Why a reference does not resolve."""

    NOT_A_REFERENCE = "not a reference"
    BARE_NODE = "a node's bare name"  # `fc` where `fc.output` is meant
    NO_SUCH_OUTPUT = "no such output"  # `fc.result`, `pair.third`
    NO_SUCH_ELEMENT = "no such element"  # `pair.output.2` of a module with two outputs
    INPUT_NOT_NODE = "an input where a node is needed"  # `outputs: {y: features}`
    UNKNOWN = "unknown name"


class Resolved(NamedTuple):
    """What a reference names: an input or a node (`name`), and the element `indices` path
    into that node's result (empty: the whole result)."""

    name: str
    is_node: bool
    indices: tuple[int, ...] = ()


class Unresolved(NamedTuple):
    error: RefError
    ref: Ref | None


def resolve(text: str, graph: Graph, *, nodes_only: bool = False) -> Resolved | Unresolved:
    """Resolve `text` in `graph`. `nodes_only`: an input name is no answer (a graph's
    `outputs` refer to nodes)."""
    # The common forms first, with neither the regex nor a Ref (a 2,000-node build has 2,000).
    name, dot, rest = text.partition(".")
    if rest == OUTPUT:
        if name in graph.nodes and is_name(name):
            return _new(Resolved, (name, True, ()))
    elif not dot and not nodes_only and name in graph.inputs and is_name(name):
        return _new(Resolved, (name, False, ()))
    m = _REF_RE.match(text)
    if m is None:
        return Unresolved(RefError.NOT_A_REFERENCE, None)
    ref = _ref(*m.groups())
    if ref.attr is None:
        if ref.name in graph.inputs:
            if nodes_only:
                return Unresolved(RefError.INPUT_NOT_NODE, ref)
            return Resolved(ref.name, False)
        if ref.name in graph.nodes:
            return Unresolved(RefError.BARE_NODE, ref)
        return Unresolved(RefError.UNKNOWN, ref)
    if ref.name not in graph.nodes:
        return Unresolved(RefError.UNKNOWN, ref)
    named = graph.nodes[ref.name] or ()
    if ref.attr == OUTPUT:
        # The result of a module node with several outputs is the tuple of them, in order.
        if ref.indices and len(named) > 1 and ref.indices[0] >= len(named):
            return Unresolved(RefError.NO_SUCH_ELEMENT, ref)
        return Resolved(ref.name, True, ref.indices)
    if ref.attr in named:
        first = () if len(named) == 1 else (named.index(ref.attr),)
        return Resolved(ref.name, True, first + ref.indices)
    return Unresolved(RefError.NO_SUCH_OUTPUT, ref)


def valid_refs(graph: Graph, *, nodes_only: bool = False) -> list[str]:
    """The references a graph offers: its inputs, then each node's result and named outputs
    (what a did-you-mean chooses from)."""
    out = [] if nodes_only else list(graph.inputs)
    for name, named in graph.nodes.items():
        out.append(f"{name}.{OUTPUT}")
        out += [f"{name}.{o}" for o in named or () if o != OUTPUT]
    return out


# -- order -----------------------------------------------------------------------------------
class GraphCycle(Exception):
    """The graph has a cycle: `nodes` in data-flow order, starting at the earliest-listed
    node of the cycle and ending with it again."""

    def __init__(self, nodes: list[str]) -> None:
        super().__init__(" -> ".join(nodes))
        self.nodes = nodes

    @property
    def path(self) -> str:
        return " -> ".join(self.nodes)


def run_order(deps: Mapping[str, Collection[str]]) -> list[str]:
    """The nodes of `deps` (node -> the nodes it reads, each a key of `deps`) in an order where each comes after what
    it reads; of the nodes ready to run, the earliest listed goes first, so the order (and so
    the order of a built model's parameters) is stable. Raises GraphCycle."""
    done, left = _ready_first(deps)
    if left:
        # only what is left: the nodes already placed are no longer anyone's dependency
        raise cycles({n: [d for d in deps[n] if d in left] for n in left}, limit=1)[0]
    return done


def cycles(deps: Mapping[str, Collection[str]], limit: int = 20) -> list[GraphCycle]:
    """Every cycle of `deps` (at most `limit`; each set of nodes once) in the order of their
    first nodes, each named as `run_order` raises it."""
    _, left = _ready_first(deps)
    if not left:
        return []
    # graphlib names the cycles among what is left: each found is broken, then searched again.
    edges = {n: {d for d in deps[n] if d in left} for n in left}
    found: list[GraphCycle] = []
    seen: set[frozenset[str]] = set()
    for _ in range(limit * 4):
        try:
            _sorter(edges).prepare()
        except CycleError as err:
            ring = list(err.args[1])  # data-flow order, first == last
            edges[ring[-1]].discard(ring[-2])  # break it at its last edge
            if frozenset(ring) not in seen:
                seen.add(frozenset(ring))
                found.append(GraphCycle(_rotated(ring, deps)))
                if len(found) == limit:
                    break
            continue
        break
    position = {name: i for i, name in enumerate(deps)}
    return sorted(found, key=lambda c: position.get(c.nodes[0], len(position)))


def _ready_first(deps: Mapping[str, Collection[str]]) -> tuple[list[str], dict[str, None]]:
    """Kahn's algorithm with a heap of list positions: (the nodes in run order, the nodes left
    over, which are on or after a cycle). A heap rather than graphlib's get_ready/done, which
    take 2.5 times as long on a 2,000-node chain; graphlib names the cycles."""
    position = {name: i for i, name in enumerate(deps)}
    waiting: dict[str, int] = {}
    users: dict[str, list[str]] = {name: [] for name in deps}
    for name, ds in deps.items():
        needs = ds if len(ds) < 2 else set(ds)  # torch.add(a, a) waits for a once
        waiting[name] = len(needs)
        for d in needs:
            users[d].append(name)  # KeyError: `d` is not a node of `deps` (the caller's bug)
    names = list(deps)
    ready = [position[n] for n in names if not waiting[n]]
    heapq.heapify(ready)
    done: list[str] = []
    while ready:
        name = names[heapq.heappop(ready)]
        done.append(name)
        for user in users[name]:
            waiting[user] -= 1
            if not waiting[user]:
                heapq.heappush(ready, position[user])
    if len(done) == len(names):
        return done, {}
    placed = set(done)
    return done, {n: None for n in names if n not in placed}


def _sorter(deps: Mapping[str, Collection[str]]) -> TopologicalSorter[str]:
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for name, ds in deps.items():
        sorter.add(name, *ds)
    return sorter


def _rotated(ring: list[str], deps: Mapping[str, Collection[str]]) -> list[str]:
    """graphlib's cycle (data-flow order, first == last) starting at its earliest-listed node."""
    nodes = ring[:-1]
    position = {name: i for i, name in enumerate(deps)}
    start = min(range(len(nodes)), key=lambda i: position.get(nodes[i], len(position)))
    nodes = nodes[start:] + nodes[:start]
    return [*nodes, nodes[0]]


__all__ = [
    "OUTPUT",
    "Graph",
    "GraphCycle",
    "Ref",
    "RefError",
    "Resolved",
    "Unresolved",
    "cycles",
    "is_name",
    "parse_ref",
    "ref_name",
    "resolve",
    "run_order",
    "valid_refs",
]
