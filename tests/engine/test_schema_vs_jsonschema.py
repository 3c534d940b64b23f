"""The hand-written validator (engine/schema.py, on the typing path) against jsonschema.

For generated documents, both shipped schemas: the set of paths where our validator reports a
problem equals the set where `jsonschema.Draft7Validator` reports an error, and each of our
problems names a keyword jsonschema also reports at that path. Documents are the examples'
specs with a few mutations, and structures built from the schema itself, mostly valid, with
wrong types, unknown keys, missing required keys, enum and pattern misses mixed in.

The oracle is normalized in the three places where the two differ on purpose (`EXCEPTIONS`,
each shown real by a test below).
"""

from __future__ import annotations

import copy
import functools
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from arcgraph.engine.schema import Validator, load_schema
from arcgraph.engine.source import parse_yaml, to_python

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KINDS = ("model", "trainer")

EXCEPTIONS = {
    "if/then": "not interpreted: arc.stack's params have a dedicated check with better words",
    "integer": "a whole float (10.0) is not an integer: the trainer and torch refuse it too",
    "oneOf/anyOf": "a failing alternative is explained by the branch of the value's type; "
    "jsonschema's one error at the value is replaced by that branch's errors",
}
SETTINGS = settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _strict_integer(_checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


_Oracle = jsonschema.validators.extend(
    jsonschema.Draft7Validator,
    type_checker=jsonschema.Draft7Validator.TYPE_CHECKER.redefine("integer", _strict_integer),
)


def _without_if_then(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _without_if_then(v) for k, v in schema.items() if k not in ("if", "then")}
    if isinstance(schema, list):
        return [_without_if_then(v) for v in schema]
    return schema


ORACLES = {kind: _Oracle(_without_if_then(load_schema(kind))) for kind in KINDS}


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _flatten(oracle: Any, error: jsonschema.ValidationError) -> Iterator[tuple[tuple, str]]:
    """(path, keyword) of an error; a failed oneOf/anyOf as its branch of the value's type."""
    path = tuple(str(p) for p in error.absolute_path)
    if error.validator in ("oneOf", "anyOf"):
        branches = [_resolve(b, oracle.schema) for b in error.validator_value]
        for i, branch in enumerate(branches):
            types = branch.get("type")
            types = [types] if isinstance(types, str) else types or []
            if any(oracle.is_type(error.instance, t) for t in types):
                for sub in error.context or ():
                    if sub.relative_schema_path[0] == i:
                        yield from _flatten(oracle, sub)
                return
    yield path, str(error.validator)


def theirs(kind: str, data: Any) -> set[tuple[tuple, str]]:
    oracle = ORACLES[kind]
    return {p for e in oracle.iter_errors(data) for p in _flatten(oracle, e)}


def ours(text: str, kind: str) -> tuple[Any, set[tuple[tuple, str]]]:
    parsed = parse_yaml(text)
    assert parsed.root is not None, parsed.diagnostics
    validator = Validator(load_schema(kind))
    validator.run(parsed.root)
    return to_python(parsed.root), {(p.path, p.keyword) for p in validator.problems}


def assert_agree(kind: str, document: Any) -> None:
    text = yaml.dump(document, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)
    data, mine = ours(text, kind)
    oracle = theirs(kind, data)
    assert {p for p, _ in mine} == {p for p, _ in oracle}, text
    assert mine <= oracle, text


# -- documents -----------------------------------------------------------------------------

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.5, 10.0, -1.5, 1e-8])
    | st.text(string.ascii_letters + "._- !", max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=3),
    max_leaves=6,
)


@functools.cache
def _matching(pattern: str) -> st.SearchStrategy[str]:
    """Short ASCII strings the pattern matches (built once per pattern: building is slow)."""
    ascii_ = st.characters(codec="ascii", categories=["L", "N", "Pc", "Pd", "Po"])
    return st.from_regex(pattern, fullmatch=True, alphabet=ascii_).filter(lambda s: len(s) < 24)


LOOKALIKES = [1, True, 1.0, 0, False, None, "a", "1", ["a"], ["a"], {"a": 1}, {"a": True}]


def _near_misses(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of the right type that break the schema's other keywords, or any junk."""
    options: list[st.SearchStrategy[Any]] = [JUNK]
    if "enum" in schema:
        options.append(st.sampled_from([f"{v}x" for v in schema["enum"]] + ["", "Min"]))
    if "pattern" in schema:
        options.append(st.sampled_from(["", "a b", "torch.", "x.output.", "-v1", "é!", "1.2"]))
    for bound in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        if bound in schema:
            options.append(st.sampled_from([schema[bound], schema[bound] - 1, schema[bound] + 1]))
    if "minLength" in schema:
        options.append(st.just(""))
    return st.one_of(options)


def _chance(draw: st.DrawFn, one_in: int) -> bool:
    """True about once in `one_in` (False for the simplest draw: shrinking removes faults)."""
    return draw(st.integers(0, 999)) >= 1000 - 1000 // one_in


@st.composite
def from_schema(draw: st.DrawFn, schema: dict[str, Any], root: dict[str, Any], depth: int = 0):
    """A value for `schema`: mostly valid, one node in ~8 broken."""
    schema = _resolve(schema, root)
    if _chance(draw, 12):
        return draw(_near_misses(schema))
    alts = schema.get("oneOf") or schema.get("anyOf")
    if alts:
        return draw(from_schema(draw(st.sampled_from(alts)), root, depth))
    if "enum" in schema:
        return draw(st.sampled_from(schema["enum"]))
    types = schema.get("type", "object")
    t = draw(st.sampled_from(types)) if isinstance(types, list) else types
    if t == "object":
        out: dict[str, Any] = {}
        props = schema.get("properties", {})
        for name, sub in props.items():
            wanted = name in schema.get("required", ()) or draw(st.booleans())
            if wanted and not _chance(draw, 16):  # else: a required key left out
                out[name] = draw(from_schema(sub, root, depth + 1))
        for pattern, sub in schema.get("patternProperties", {}).items():
            count = draw(st.integers(schema.get("minProperties", 0), 2 if depth < 3 else 1))
            for _ in range(count):
                key = draw(_matching(pattern))
                out[key] = draw(from_schema(sub, root, depth + 1))
        if _chance(draw, 10):
            out[draw(st.sampled_from(["x-extra", "lr", "has space", "Type"]))] = 1
        return out
    if t == "array":
        lo = schema.get("minItems", 0)
        hi = schema.get("maxItems", lo + (2 if depth < 3 else 1))
        n = draw(st.integers(lo - 1 if lo and _chance(draw, 10) else lo, hi))
        n += int(_chance(draw, 10))
        item = schema.get("items", {})
        unique = schema.get("uniqueItems", False)
        if _chance(draw, 3 if unique else 8):  # values JSON and Python compare differently
            return draw(st.lists(st.sampled_from(LOOKALIKES), min_size=n, max_size=n))
        out_items = [draw(from_schema(item, root, depth + 1)) for _ in range(n)]
        if out_items and _chance(draw, 3 if unique else 8):
            out_items.append(copy.deepcopy(draw(st.sampled_from(out_items))))
        return out_items
    if t == "string":
        if "pattern" in schema:
            return draw(_matching(schema["pattern"]))
        return draw(
            st.text(string.ascii_lowercase + "_", min_size=schema.get("minLength", 0), max_size=8)
        )
    if t == "integer":
        lo = schema.get("minimum", -5)
        return draw(st.integers(lo, lo + 50))
    if t == "number":
        lo = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        hi = schema.get("maximum", schema.get("exclusiveMaximum", lo + 10))
        return draw(
            st.floats(
                lo,
                hi,
                exclude_min="exclusiveMinimum" in schema,
                exclude_max="exclusiveMaximum" in schema,
            )
        )
    if t == "boolean":
        return draw(st.booleans())
    return None


@functools.cache
def _example_documents(kind: str) -> list[Any]:
    folder = "models" if kind == "model" else "trainers"
    files = sorted((EXAMPLES / folder).glob(f"*.{kind}.yaml"))
    return [yaml.safe_load(f.read_text(encoding="utf-8")) for f in files]


def _paths(node: Any, path: tuple = ()) -> Iterator[tuple]:
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*path, i))


@st.composite
def mutated_example(draw: st.DrawFn, kind: str) -> Any:
    """An example spec with one to three mutations at random places."""
    doc = copy.deepcopy(draw(st.sampled_from(_example_documents(kind))))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(doc))))
        if not path:
            continue
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        last, value = path[-1], parent[path[-1]]
        action = draw(st.sampled_from(["junk", "delete", "extra", "miss", "duplicate"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[last]
        elif action == "extra" and isinstance(value, dict):
            value[draw(NAMES)] = draw(JUNK)
        elif action == "duplicate" and isinstance(value, list) and value:
            value.append(copy.deepcopy(value[0]))
        elif action == "miss" and isinstance(value, str):
            parent[last] = draw(st.sampled_from([value + "x", value.upper(), value + ".", ""]))
        else:
            parent[last] = draw(JUNK)
    return doc


# -- the property ----------------------------------------------------------------------------

COLUMNS = ("inputs", "x", "columns")


def _model(columns: Any) -> dict[str, Any]:
    return {
        "inputs": {"x": {"dtype": "float32", "shape": [None, 2], "columns": columns}},
        "graph": [{"name": "a", "type": "torch.nn.ReLU", "inputs": {"input": "x"}}],
        "outputs": {"y": "a.output"},
        "loss": {"type": "torch.nn.MSELoss", "inputs": {"input": "y", "target": "t"}},
    }


@pytest.mark.parametrize(
    ("columns", "duplicated"),
    [
        (["a", "a"], True),
        ([1, 1.0], True),  # JSON: the same number
        ([1, True], False),  # Python: 1 == True; JSON: a number and a boolean
        ([0, False], False),
        ([None, None], True),  # nulls, lists and mappings repeat too
        ([["a"], ["a"]], True),
        ([{"a": 1}, {"a": True}], False),
    ],
)
def test_unique_items_compare_as_json(columns: list[Any], duplicated: bool) -> None:
    text = yaml.dump(_model(columns), Dumper=yaml.CSafeDumper, sort_keys=False)
    data, mine = ours(text, "model")
    assert ((COLUMNS, "uniqueItems") in mine) is duplicated
    assert ((COLUMNS, "uniqueItems") in theirs("model", data)) is duplicated


def test_the_exceptions_are_real() -> None:
    """Without the oracle's normalization the two would differ exactly there."""
    raw = jsonschema.Draft7Validator(load_schema("model"))
    stack = _model(["a", "b"])
    stack["graph"][0] = {"name": "s", "type": "arc.stack", "inputs": ["x"]}  # no params
    text = yaml.dump(stack, Dumper=yaml.CSafeDumper, sort_keys=False)
    data, mine = ours(text, "model")
    assert mine == set() and theirs("model", data) == set()
    assert [(list(e.absolute_path), e.validator) for e in raw.iter_errors(data)] == [
        (["graph", 0], "required")
    ]
    trainer = _example_documents("trainer")[0]
    trainer = {**trainer, "config": {**trainer["config"], "epochs": 10.0}}
    text = yaml.dump(trainer, Dumper=yaml.CSafeDumper, sort_keys=False)
    data, mine = ours(text, "trainer")
    assert mine == {(("config", "epochs"), "type")} == theirs("trainer", data)
    assert list(jsonschema.Draft7Validator(load_schema("trainer")).iter_errors(data)) == []


def _one_ofs(node: Any) -> Iterator[list[Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("oneOf", "anyOf"):
                yield value
            yield from _one_ofs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _one_ofs(value)


def test_alternatives_differ_by_type() -> None:
    """Our validator reads oneOf as anyOf: right only while no value can match two branches."""
    found = [(alts, load_schema(kind)) for kind in KINDS for alts in _one_ofs(load_schema(kind))]
    assert len(found) == 2  # model: a node's inputs, an input's shape items
    for alts, root in found:
        types = [_resolve(a, root)["type"] for a in alts]
        assert len(set(types)) == len(types) and "number" not in types, types


@pytest.mark.parametrize("kind", KINDS)
@SETTINGS
@given(data=st.data())
def test_mutated_examples_agree(kind: str, data: st.DataObject) -> None:
    assert_agree(kind, data.draw(mutated_example(kind)))


@pytest.mark.parametrize("kind", KINDS)
@SETTINGS
@given(data=st.data())
def test_documents_from_the_schema_agree(kind: str, data: st.DataObject) -> None:
    schema = load_schema(kind)
    assert_agree(kind, data.draw(from_schema(schema, schema)))
