"""Structure checks driven by the JSON Schemas in `schemas/`, with located, worded messages.

The schemas are the single source of structure and key docs. This is a small interpreter for
the part of draft-07 they use, working on located nodes so that each problem points at its key
or value and speaks the user's words ("'epochs' must be a positive integer; got 10.5") with a
did-you-mean where one helps. `jsonschema` validates the same files in the tests.

`if`/`then` is deliberately not interpreted: the one rule using it (arc.stack's params) has a
dedicated check with better words, and values at paths in `own_patterns` are checked for
their type only, the rest being left to the engine's own checks (`model_ref`, whose message
suggests an ID; `optimizer.type` and `optimizer.params` when the torch catalog is there).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from arcgraph.engine import codes
from arcgraph.engine.diagnostics import Diagnostic, Severity, Span
from arcgraph.engine.source import YMap, YNode, YScalar, YSeq

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"

# A hook may replace the generic "unknown key" diagnostic (e.g. `loss` in a trainer spec).
UnknownKeyHook = Callable[[tuple[str, ...], str, YNode], Diagnostic | None]


class Problem(NamedTuple):
    """A diagnostic with where it is in JSON Schema's terms: the path of the value (of the
    mapping, for a missing or unknown key) and the keyword it breaks."""

    path: tuple[str, ...]
    keyword: str
    diagnostic: Diagnostic


@lru_cache(maxsize=4)
def load_schema(kind: str) -> dict[str, Any]:
    """`trainer` or `model` -> the parsed JSON Schema."""
    return json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8"))


_regex = lru_cache(maxsize=256)(re.compile)  # the schemas' patterns, compiled once


def resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow local `$ref`s (`#/definitions/x`)."""
    seen = 0
    while "$ref" in schema and seen < 20:
        ref = schema["$ref"]
        node: Any = root
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        schema = node
        seen += 1
    return schema


def subschema_at(root: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    """The schema that governs the value at `path` (keys; list positions as '0', '1', ...)."""
    schema = resolve(root, root)
    for part in path:
        schema = _child_schema(schema, part, root)
        if schema is None:
            return None
    return schema


def property_order(kind: str, path: tuple[str, ...]) -> tuple[str, ...]:
    """The keys of the mapping at `path` in `kind`'s schema, in the schema's order: the one
    list of a mapping's keys that the formatter and the tools share."""
    sub = subschema_at(load_schema(kind), path) or {}
    return tuple(sub.get("properties", {}))


def _child_schema(schema: dict[str, Any], part: str, root: dict[str, Any]) -> dict[str, Any] | None:
    for branch in alternatives(schema, root):
        props = branch.get("properties", {})
        if part in props:
            return resolve(props[part], root)
        for pattern, sub in branch.get("patternProperties", {}).items():
            if _regex(pattern).search(part):
                return resolve(sub, root)
        if part.isdigit() and isinstance(branch.get("items"), dict):
            return resolve(branch["items"], root)
        extra = branch.get("additionalProperties")
        if isinstance(extra, dict):
            return resolve(extra, root)
    return None


def alternatives(schema: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    """A schema and the alternatives of its oneOf/anyOf/allOf, each resolved."""
    out = [schema]
    for key in ("oneOf", "anyOf", "allOf"):
        for sub in schema.get(key, []):
            out.extend(alternatives(resolve(sub, root), root))
    return out


def yaml_type(node: YNode) -> str:
    """The JSON type of a located node: object, array, boolean, integer, number, string, null."""
    if isinstance(node, YMap):
        return "object"
    if isinstance(node, YSeq):
        return "array"
    v = node.value if isinstance(node, YScalar) else None
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    return "string"


def show(node: YNode) -> str:
    """A value as the user wrote it, for messages."""
    if isinstance(node, YScalar):
        return repr(node.value) if isinstance(node.value, str) else node.text or "null"
    return "a mapping" if isinstance(node, YMap) else "a list"


_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "null": "null",
}


def describe(schema: dict[str, Any], root: dict[str, Any]) -> str:
    """What a schema accepts, in words: 'a positive integer', 'a number in [0, 1)'."""
    schema = resolve(schema, root)
    alts = [describe(s, root) for s in schema.get("oneOf", []) + schema.get("anyOf", [])]
    if alts:
        return " or ".join(dict.fromkeys(alts))
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    words = []
    for t in types:
        if t in ("integer", "number"):
            words.append(_describe_number(schema, t))
        elif t == "null":
            words.append("null")
        else:
            words.append(_TYPE_WORDS.get(t, t))
    return " or ".join(words) if words else "a valid value"


def _describe_number(schema: dict[str, Any], t: str) -> str:
    noun = "integer" if t == "integer" else "number"
    lo, lo_x = schema.get("minimum"), schema.get("exclusiveMinimum")
    hi, hi_x = schema.get("maximum"), schema.get("exclusiveMaximum")
    if lo_x == 0 and hi is None and hi_x is None:
        return f"a positive {noun}"
    if lo == 1 and t == "integer" and hi is None and hi_x is None:
        return "a positive integer"
    if lo == 0 and hi is None and hi_x is None:
        return f"a non-negative {noun}"
    low = f"[{lo}" if lo is not None else (f"({lo_x}" if lo_x is not None else None)
    high = f"{hi}]" if hi is not None else (f"{hi_x})" if hi_x is not None else None)
    if low and high:
        return f"a {noun} in {low}, {high}"
    if low:
        return f"a {noun} {'>=' if lo is not None else '>'} {lo if lo is not None else lo_x}"
    if high:
        return f"a {noun} {'<=' if hi is not None else '<'} {hi if hi is not None else hi_x}"
    return f"an {noun}" if noun == "integer" else "a number"


def _type_ok(node: YNode, types: list[str]) -> bool:
    t = yaml_type(node)
    return t in types or (t == "integer" and "number" in types)


def did_you_mean(word: str, choices: list[str] | set[str] | tuple[str, ...]) -> str | None:
    """The closest choice, if close enough to be a typo."""
    pool = list(choices)
    hit = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    if not hit:
        low = {c.lower(): c for c in pool}
        hit = [low[word.lower()]] if word.lower() in low else []
    return hit[0] if hit else None


def _fmt_path(path: tuple[str, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out


@dataclass
class Validator:
    """Validates one located document against one schema."""

    root_schema: dict[str, Any]
    unknown_key_hook: UnknownKeyHook | None = None
    own_patterns: frozenset[tuple[str, ...]] = frozenset()

    def __post_init__(self) -> None:
        self.problems: list[Problem] = []
        self._owned_root = (_owned_trie(self.own_patterns),) if self.own_patterns else ()

    # Messages name the place (`graph[3].type`); it is worded only when something is wrong.

    def run(self, node: YNode) -> list[Diagnostic]:
        self.problems = []
        self._check(node, self.root_schema, (), None, self._owned_root)
        return [p.diagnostic for p in self.problems]

    def _add(self, path: tuple[str, ...], keyword: str, diagnostic: Diagnostic) -> None:
        self.problems.append(Problem(path, keyword, diagnostic))

    # ``key`` is the key node the value hangs under: missing keys are reported on it.
    def _check(
        self,
        node: YNode,
        schema: dict[str, Any],
        path: tuple[str, ...],
        key: YNode | None,
        own: _Owned = (),
    ) -> bool:
        schema = resolve(schema, self.root_schema)
        alts = schema.get("oneOf") or schema.get("anyOf")
        if alts:
            return self._check_alternatives(node, schema, alts, path, own)
        types = schema.get("type")
        if types is not None:
            types = [types] if isinstance(types, str) else types
            if not _type_ok(node, types):
                where = _fmt_path(path) or "the spec"
                if (
                    isinstance(node, YScalar)
                    and node.value is None
                    and "null" not in types
                    and key is not None
                ):
                    msg = f"'{where}' has no value; it must be {describe(schema, self.root_schema)}"
                else:
                    msg = (
                        f"'{where}' must be {describe(schema, self.root_schema)}; got {show(node)}"
                    )
                self._add(path, "type", Diagnostic(codes.WRONG_TYPE, msg, node.span))
                return False
        if own and any(_END in t for t in own):
            return True  # the engine checks this value itself (torch or registry knows better)
        ok = True
        if "enum" in schema and isinstance(node, YScalar) and node.value not in schema["enum"]:
            ok = False
            where = _fmt_path(path) or "the spec"
            allowed = [str(v) for v in schema["enum"]]
            guess = did_you_mean(str(node.value), allowed) if isinstance(node.value, str) else None
            msg = f"'{where}' must be {describe(schema, self.root_schema)}; got {show(node)}"
            data = None
            if guess:
                msg += f"; did you mean '{guess}'?"
                data = {"fix": "replace_value", "with": guess}
            self._add(path, "enum", Diagnostic(codes.NOT_IN_ENUM, msg, node.span, data=data))
        if isinstance(node, YScalar):
            ok &= self._check_scalar(node, schema, path)
        elif isinstance(node, YSeq):
            ok &= self._check_seq(node, schema, path, own)
        elif isinstance(node, YMap):
            ok &= self._check_map(node, schema, path, key, own)
        return ok

    def _check_alternatives(
        self,
        node: YNode,
        schema: dict[str, Any],
        alts: list[Any],
        path: tuple[str, ...],
        own: _Owned = (),
    ) -> bool:
        saved = self.problems
        best: list[Problem] | None = None
        for alt in alts:
            self.problems = []
            if self._check(node, alt, path, None, own):
                self.problems = saved
                return True
            sub = resolve(alt, self.root_schema)
            t = sub.get("type")
            if (
                best is None
                and t is not None
                and _type_ok(node, [t] if isinstance(t, str) else list(t))
            ):
                best = self.problems  # the branch of the right type explains it best
        self.problems = saved
        if best:
            self.problems.extend(best)
        else:
            where = _fmt_path(path) or "the spec"
            self._add(
                path,
                "oneOf" if "oneOf" in schema else "anyOf",
                Diagnostic(
                    codes.WRONG_TYPE,
                    f"'{where}' must be {describe(schema, self.root_schema)}; got {show(node)}",
                    node.span,
                ),
            )
        return False

    def _check_scalar(self, node: YScalar, schema: dict[str, Any], path: tuple[str, ...]) -> bool:
        v = node.value
        if isinstance(v, int | float) and not isinstance(v, bool):
            lo, lo_x = schema.get("minimum"), schema.get("exclusiveMinimum")
            hi, hi_x = schema.get("maximum"), schema.get("exclusiveMaximum")
            failed = (
                "minimum"
                if lo is not None and v < lo
                else "exclusiveMinimum"
                if lo_x is not None and v <= lo_x
                else "maximum"
                if hi is not None and v > hi
                else "exclusiveMaximum"
                if hi_x is not None and v >= hi_x
                else None
            )
            if failed:
                where = _fmt_path(path) or "the spec"
                self._add(
                    path,
                    failed,
                    Diagnostic(
                        codes.OUT_OF_RANGE,
                        f"'{where}' must be {describe(schema, self.root_schema)}; got {node.text}",
                        node.span,
                    ),
                )
                return False
        if isinstance(v, str) and len(v) < schema.get("minLength", 0):
            where = _fmt_path(path) or "the spec"
            self._add(
                path,
                "minLength",
                Diagnostic(codes.BAD_LENGTH, f"'{where}' must not be empty", node.span),
            )
            return False
        if "const" in schema and v != schema["const"]:
            where = _fmt_path(path) or "the spec"
            self._add(
                path,
                "const",
                Diagnostic(
                    codes.NOT_IN_ENUM,
                    f"'{where}' must be {json.dumps(schema['const'])}; got {show(node)}",
                    node.span,
                ),
            )
            return False
        if isinstance(v, str) and "pattern" in schema and not _regex(schema["pattern"]).search(v):
            hint = schema.get("x-format-hint") or schema.get("description", "").split(". ")[0]
            where = _fmt_path(path) or "the spec"
            self._add(
                path,
                "pattern",
                Diagnostic(
                    codes.BAD_FORMAT,
                    f"'{where}' has an invalid value {v!r}: {hint.rstrip('.')}",
                    node.span,
                ),
            )
            return False
        return True

    def _check_seq(
        self, node: YSeq, schema: dict[str, Any], path: tuple[str, ...], own: _Owned = ()
    ) -> bool:
        ok = True
        where = _fmt_path(path) or "the spec"
        n = len(node.items)
        if "minItems" in schema and n < schema["minItems"]:
            self._add(
                path,
                "minItems",
                Diagnostic(
                    codes.BAD_LENGTH,
                    f"'{where}' needs at least {schema['minItems']} item(s); it has {n}",
                    node.span,
                ),
            )
            ok = False
        if "maxItems" in schema and n > schema["maxItems"]:
            self._add(
                path,
                "maxItems",
                Diagnostic(
                    codes.BAD_LENGTH,
                    f"'{where}' allows at most {schema['maxItems']} item(s); it has {n}",
                    node.span,
                ),
            )
            ok = False
        if schema.get("uniqueItems"):
            seen: set[Any] = set()
            for item in node.items:
                value = _json_key(item)
                if value in seen:
                    self._add(
                        path,
                        "uniqueItems",
                        Diagnostic(
                            codes.BAD_LENGTH,
                            f"'{where}' lists {show(item)} twice; each entry must be unique",
                            item.span,
                        ),
                    )
                    ok = False
                seen.add(value)
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(node.items):
                part = str(i)
                ok &= self._check(item, items, (*path, part), None, _descend(own, part))
        return ok

    def _check_map(
        self,
        node: YMap,
        schema: dict[str, Any],
        path: tuple[str, ...],
        key: YNode | None,
        own: _Owned = (),
    ) -> bool:
        ok = True
        props: dict[str, Any] = schema.get("properties", {})
        patterns: dict[str, Any] = schema.get("patternProperties", {})
        extra = schema.get("additionalProperties", True)
        present = set()
        for name, knode, vnode in node.items():
            present.add(name)
            sub = props.get(name)
            if sub is None:
                sub = next((s for p, s in patterns.items() if _regex(p).search(name)), None)
            if sub is None and patterns and extra is False:
                names = schema.get("propertyNames", {})
                where = _fmt_path(path) or "the spec"
                self._add(
                    path,
                    "additionalProperties",
                    Diagnostic(
                        codes.BAD_FORMAT,
                        f"'{name}' is not a valid name in {where}: "
                        + (names.get("description") or "use letters, digits and underscores"),
                        knode.span,
                    ),
                )
                ok = False
                continue
            if sub is None:
                if extra is False:
                    ok = False
                    self._unknown_key(path, name, knode, props)
                    continue
                if isinstance(extra, dict):
                    sub = extra
                else:
                    continue
            ok &= self._check(vnode, sub, (*path, name), knode, _descend(own, name))
        for req in schema.get("required", []):
            if req not in present:
                ok = False
                self._missing_key(node, path, req, props.get(req, {}), key)
        if "minProperties" in schema and len(present) < schema["minProperties"]:
            where = _fmt_path(path) or "the spec"
            self._add(
                path,
                "minProperties",
                Diagnostic(
                    codes.BAD_LENGTH,
                    f"'{where}' needs at least {schema['minProperties']} entr{'y' if schema['minProperties'] == 1 else 'ies'}",
                    key.span if key is not None else node.span,
                ),
            )
            ok = False
        return ok

    def _unknown_key(
        self, path: tuple[str, ...], name: str, knode: YNode, props: dict[str, Any]
    ) -> None:
        if self.unknown_key_hook is not None:
            special = self.unknown_key_hook(path, name, knode)
            if special is not None:
                self._add(path, "additionalProperties", special)
                return
        where = _fmt_path(path) or "the top level"
        guess = did_you_mean(name, list(props))
        if guess:
            msg = f"unknown key '{name}' in {where}; did you mean '{guess}'?"
            data = {"fix": "rename_key", "with": guess}
        else:
            allowed = ", ".join(props)
            msg = f"unknown key '{name}' in {where}; allowed keys: {allowed}"
            data = {"fix": "remove_key", "key": name}
        self._add(
            path, "additionalProperties", Diagnostic(codes.UNKNOWN_KEY, msg, knode.span, data=data)
        )

    def _missing_key(
        self,
        node: YMap,
        path: tuple[str, ...],
        req: str,
        sub: dict[str, Any],
        key: YNode | None,
    ) -> None:
        sub = resolve(sub, self.root_schema)
        default = sub.get("default", _placeholder(sub))
        if "default" not in sub and sub.get("type") == "number" and sub.get("examples"):
            default = sub["examples"][0]  # the spec's own example: no one number fits every key
        value = json.dumps(default) if not isinstance(default, str) else default
        where = _fmt_path(path) or "the spec"
        msg = f"missing required key '{req}' in {where}; add `{req}: {value}`"
        if not path:
            span = Span(
                node.span.start_line, node.span.start_col, node.span.start_line, node.span.start_col
            )
            lines_key = node.pairs[0][0].span if node.pairs else None
            span = lines_key or span
        else:
            span = key.span if key is not None else node.span
        self._add(
            path,
            "required",
            Diagnostic(
                codes.MISSING_KEY,
                msg,
                span,
                data={"fix": "add_key", "path": list(path), "key": req, "value": default},
            ),
        )


def open_top_level(node: YMap, kind: str) -> list[Diagnostic]:
    """The keys an open top level (`additionalProperties: true`) lets through, said: a key
    close to a spec key is likely its typo (`grpah`; the section it meant is ignored): a
    warning with did-you-mean; any other key (Arc's `name`, `data_table`) an info."""
    schema = load_schema(kind)
    if schema.get("additionalProperties", True) is not True:
        return []  # closed: the validator reports unknown keys itself
    props = list(schema.get("properties", {}))
    out = []
    for name, knode, _ in node.items():
        if name in props:
            continue
        guess = did_you_mean(name, props)
        if guess:
            out.append(
                Diagnostic(
                    codes.TOP_LEVEL_KEY_TYPO,
                    f"'{name}' is not a {kind} spec key and is ignored; did you mean '{guess}'?",
                    knode.span,
                    Severity.WARNING,
                    data={"fix": "rename_key", "with": guess, "key": name},
                )
            )
        else:
            out.append(
                Diagnostic(
                    codes.IGNORED_TOP_LEVEL_KEY,
                    f"'{name}' is not a {kind} spec key; ignored by arcgraph",
                    knode.span,
                    Severity.INFO,
                )
            )
    return out


# Paths the engine checks itself, as a trie of path parts ('*': any one key or index); a
# walk carries the trie nodes that match its path so far (`_Owned`), empty outside them.
_END = "\0end"
_Owned = tuple[dict[str, Any], ...]


def _owned_trie(patterns: frozenset[tuple[str, ...]]) -> dict[str, Any]:
    trie: dict[str, Any] = {}
    for pattern in patterns:
        node = trie
        for part in pattern:
            node = node.setdefault(part, {})
        node[_END] = True
    return trie


def _descend(own: _Owned, part: str) -> _Owned:
    """The trie nodes matching a path one part longer."""
    if not own:
        return ()
    out = []
    for t in own:
        exact = t.get(part)
        if exact is not None:
            out.append(exact)
        if part != "*":
            wild = t.get("*")
            if wild is not None:
                out.append(wild)
    return tuple(out)


def _json_key(node: YNode) -> Any:
    """A node's value as JSON compares it, hashable: `true` is not `1` (Python says it is),
    `1` is `1.0`, lists and mappings compare by content."""
    if isinstance(node, YSeq):
        return ("array", tuple(_json_key(i) for i in node.items))
    if isinstance(node, YMap):
        return ("object", frozenset((k, _json_key(v)) for k, _, v in node.items()))
    t = yaml_type(node)
    value = node.value if isinstance(node, YScalar) else None
    return ("number" if t == "integer" else t, value)


def _placeholder(schema: dict[str, Any]) -> Any:
    """A value to suggest for a missing key without a default."""
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if "type" not in schema and alternatives:  # `inputs`: a map or a list -> `{}`, not null
        return _placeholder(alternatives[0])
    t = schema.get("type")
    t = t[0] if isinstance(t, list) else t
    if "enum" in schema:
        return schema["enum"][0]
    return {
        "integer": 1,
        "number": 0.001,
        "boolean": True,
        "string": "",
        "array": [],
        "object": {},
    }.get(t or "")


def validate(
    node: YNode,
    kind: str,
    hook: UnknownKeyHook | None = None,
    own_patterns: frozenset[tuple[str, ...]] = frozenset(),
) -> list[Diagnostic]:
    """Check a located document against the `kind` schema (`trainer` or `model`)."""
    return Validator(load_schema(kind), hook, own_patterns).run(node)
