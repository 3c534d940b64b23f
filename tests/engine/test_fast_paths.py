"""The fast paths give the same answers as the slow ones: trees, lookups, cancelled checks."""

from __future__ import annotations

import gc

import pytest

from arcgraph.engine.core import Cancelled, Engine
from arcgraph.engine.diagnostics import Span
from arcgraph.engine.source import YMap, YScalar, YSeq, parse_yaml, to_python

from .conftest import MODEL, rows


def _shape(node: object) -> object:
    """A tree as (class, span, value or children), for comparing two parses."""
    if isinstance(node, YScalar):
        return ("s", tuple(node.span), node.value, node.text, node.quoted)
    if isinstance(node, YSeq):
        return ("q", tuple(node.span), node.flow, [_shape(i) for i in node.items])
    assert isinstance(node, YMap)
    return ("m", tuple(node.span), node.flow, [(_shape(k), _shape(v)) for k, v in node.pairs])


def test_text_with_and_without_alias_characters_builds_the_same_tree() -> None:
    """`&` and `*` inside strings switch on the alias bookkeeping; the tree is the same."""
    plain = MODEL + "note: one\n"
    marked = MODEL + "note: 'R&D *draft*'\n"
    a, b = parse_yaml(plain).root, parse_yaml(marked).root
    assert isinstance(a, YMap) and isinstance(b, YMap)
    assert _shape(a)[:3] == _shape(b)[:3]
    assert [_shape(v) for k, v in a.pairs[:-1]] == [_shape(v) for k, v in b.pairs[:-1]]
    assert to_python(b)["note"] == "R&D *draft*"


def test_values_of_every_type_and_merge_keys() -> None:
    root = parse_yaml(
        "a: 1\nb: 0.5\nc: true\nd: null\ne: '7'\nf: 2024-01-01\ng: !!binary aGk=\n"
        "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n"
    ).root
    assert isinstance(root, YMap)
    assert to_python(root) == {
        "a": 1,
        "b": 0.5,
        "c": True,
        "d": None,
        "e": "7",
        "f": "2024-01-01",
        "g": "aGk=",
        "base": {"x": 1, "y": 2},
        "m": {"y": 3, "x": 1},
    }
    m = root.get("m")
    assert isinstance(m, YMap) and m.keys() == ["y", "x"]
    assert m.key_node("x") is root.get("base").pairs[0][0]  # type: ignore[union-attr]


def test_lookups_of_a_map_made_by_hand() -> None:
    """A YMap built without the parser's key texts finds its keys all the same."""
    k1, v1 = YScalar(Span(0, 0, 0, 1), "a", "a"), YScalar(Span(0, 3, 0, 4), 1, "1")
    k2, v2 = YScalar(Span(1, 0, 1, 1), 2, "2"), YScalar(Span(1, 3, 1, 4), "x", "x")
    m = YMap(Span(0, 0, 2, 0), [(k1, v1)])
    assert m.get("a") is v1 and m.get("2") is None
    m.pairs.append((k2, v2))  # grown after a lookup
    assert m.keys() == ["a", "2"] and m.get("2") is v2 and m.key_node("2") is k2
    assert [t for t, _, _ in m.items()] == ["a", "2"]


def test_parsing_leaves_garbage_collection_as_it_was() -> None:
    assert gc.isenabled()
    parse_yaml(MODEL)
    parse_yaml("a: [\n")  # a syntax error on the way out
    assert gc.isenabled()
    gc.disable()
    try:
        parse_yaml(MODEL)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_stale_check_is_given_up_and_a_current_one_is_not(workspace) -> None:
    engine = Engine()
    text = MODEL.replace("{input: fc.output}", "{input: fc2.output}").replace("null, 3", "null, -3")
    a = engine.analyze(workspace / "tiny-v1.model.yaml", text)
    expected = rows(engine.check_structure(a))
    assert expected  # something to say
    assert rows(engine.check_structure(a, stale=lambda: False)) == expected
    asked: list[int] = []

    def stale_after(n: int):
        def stale() -> bool:
            asked.append(n)
            return len(asked) > n

        return stale

    for n in (0, 1):
        asked.clear()
        with pytest.raises(Cancelled):
            engine.check_structure(a, stale=stale_after(n))
