"""arcgraph.engine.graph: the reference forms, their resolution, the run order and cycles."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arcgraph.engine.graph import (
    Graph,
    GraphCycle,
    Ref,
    RefError,
    Resolved,
    Unresolved,
    cycles,
    is_name,
    parse_ref,
    ref_name,
    resolve,
    run_order,
    valid_refs,
)

GRAPH = Graph(frozenset({"x"}), {"fc": None, "pair": ("first", "second"), "one": ("out",)})


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("x", Ref("x")),
        ("fc.output", Ref("fc", "output")),
        ("mha.output.0", Ref("mha", "output", (0,))),
        ("pair.first", Ref("pair", "first")),
        ("lstm.output.1.0", Ref("lstm", "output", (1, 0))),  # nested tuples, any depth
        ("lstm.output.1.0.2", Ref("lstm", "output", (1, 0, 2))),
        ("fc..output", None),
        ("fc.output.x", None),
        ("f-c.output", None),
        ("", None),
    ],
)
def test_parse_ref(text: str, ref: Ref | None) -> None:
    assert parse_ref(text) == ref


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("x", Resolved("x", False)),
        ("fc.output", Resolved("fc", True)),
        ("fc.output.1", Resolved("fc", True, (1,))),
        ("pair.output", Resolved("pair", True)),
        ("pair.output.1", Resolved("pair", True, (1,))),
        ("pair.first", Resolved("pair", True, (0,))),
        ("pair.second.0", Resolved("pair", True, (1, 0))),
        ("pair.output.1.0.3", Resolved("pair", True, (1, 0, 3))),
        ("fc.output.1.0", Resolved("fc", True, (1, 0))),
        ("one.out", Resolved("one", True)),
        ("one.output.3", Resolved("one", True, (3,))),  # its one output may itself be a tuple
        ("fc", Unresolved(RefError.BARE_NODE, Ref("fc"))),
        ("fc.first", Unresolved(RefError.NO_SUCH_OUTPUT, Ref("fc", "first"))),
        ("pair.third", Unresolved(RefError.NO_SUCH_OUTPUT, Ref("pair", "third"))),
        ("pair.output.2", Unresolved(RefError.NO_SUCH_ELEMENT, Ref("pair", "output", (2,)))),
        ("x.output", Unresolved(RefError.UNKNOWN, Ref("x", "output"))),
        ("nope", Unresolved(RefError.UNKNOWN, Ref("nope"))),
        ("a b", Unresolved(RefError.NOT_A_REFERENCE, None)),
    ],
)
def test_resolve(text: str, found: Resolved | Unresolved) -> None:
    assert resolve(text, GRAPH) == found


def test_outputs_resolve_nodes_only() -> None:
    assert resolve("x", GRAPH, nodes_only=True) == Unresolved(RefError.INPUT_NOT_NODE, Ref("x"))
    assert resolve("pair.first", GRAPH, nodes_only=True) == Resolved("pair", True, (0,))


def test_valid_refs_offer_named_outputs() -> None:
    assert valid_refs(GRAPH) == [
        "x",
        "fc.output",
        "pair.output",
        "pair.first",
        "pair.second",
        "one.output",
        "one.out",
    ]


def test_ref_name_of_a_half_typed_reference() -> None:
    assert [ref_name(t) for t in ("fc.outp", "fc", "pair.first.")] == ["fc", "fc", "pair"]


def test_run_order_is_stable_the_earliest_listed_ready_node_first() -> None:
    deps = {"c": ["a", "b"], "d": [], "b": ["d"], "a": []}
    assert run_order(deps) == ["d", "b", "a", "c"]


def test_a_cycle_is_named_from_its_earliest_listed_node_in_data_flow_order() -> None:
    # a reads c, c reads b, b reads a: data flows a -> b -> c -> a
    with pytest.raises(GraphCycle) as info:
        run_order({"z": [], "b": ["a"], "a": ["c"], "c": ["b"]})
    assert info.value.nodes == ["b", "c", "a", "b"]
    assert info.value.path == "b -> c -> a -> b"


def test_a_cycle_that_also_reads_a_placed_node_is_named() -> None:
    # n1 reads n0 (placed first) and itself: found by the property test, a KeyError before
    with pytest.raises(GraphCycle) as info:
        run_order({"n0": [], "n1": ["n0", "n1"]})
    assert info.value.path == "n1 -> n1"


def test_every_cycle_once() -> None:
    deps = {"a": ["b"], "b": ["a"], "c": ["c"], "d": ["a"], "e": ["f"], "f": ["e", "d"]}
    assert [c.nodes for c in cycles(deps)] == [["a", "b", "a"], ["c", "c"], ["e", "f", "e"]]


def test_a_long_chain_orders_without_recursion() -> None:
    n = 20_000
    deps = {f"n{i}": [f"n{i - 1}"] if i else [] for i in reversed(range(n))}
    assert run_order(deps) == [f"n{i}" for i in range(n)]


@given(st.text(alphabet="aZ09_.-é٣ ", max_size=6))
def test_is_name_is_the_name_pattern(text: str) -> None:
    """The resolver's fast path checks names without the regex: the same answer."""
    assert is_name(text) == bool(re.fullmatch(r"[A-Za-z0-9_]+", text))


def test_names_of_another_form_never_resolve() -> None:
    odd = Graph(frozenset({"a b"}), {"é": None, "c-d": None})
    assert [resolve(t, odd).error for t in ("a b", "é.output", "c-d.output")] == [
        RefError.NOT_A_REFERENCE
    ] * 3
