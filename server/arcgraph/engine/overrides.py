"""`--set KEY=VALUE` overrides of a trainer spec for one run, applied to its text.

The effective spec is the file's own text with each overridden value replaced in place (padded
so that every other line keeps its number) and each missing key inserted into its mapping: the
same checker then checks it, and `locate` puts what it reports back on the file's lines, naming
the override whose value it is about.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from arcgraph.engine.diagnostics import Diagnostic, Span
from arcgraph.engine.source import YMap, YNode, YScalar, YSeq, parse_yaml

# Keys that say where a run happens, not what it computes: a resume may give them other
# values than the run was started with (the spec's hash leaves their overrides out).
ENVIRONMENT_KEYS = frozenset({("config", "device"), ("config", "verbose")})


class OverrideError(ValueError):
    """An override that cannot be applied; the message names it."""


@dataclass(frozen=True)
class Override:
    text: str  # as given after --set
    path: tuple[str, ...]
    value: Any


def parse_override(text: str) -> Override:
    """`a.b.0.c=VALUE` -> the key path and VALUE parsed as YAML (yaml.safe_load)."""
    key, sep, raw = text.partition("=")
    parts = tuple(p.strip() for p in key.split("."))
    if not sep or not key.strip():
        raise OverrideError(f"--set {text}: expected KEY=VALUE, e.g. --set config.device=cpu")
    if not all(parts):
        raise OverrideError(f"--set {text}: '{key}' has an empty part; write a dotted key path")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise OverrideError(f"--set {text}: the value is not valid YAML ({problem})") from None
    return Override(text, parts, value)


def flow_text(value: Any) -> str:
    """The value as one line of YAML flow text (what safe_load reads back as `value`)."""
    text = yaml.safe_dump(
        value, default_flow_style=True, width=2**31, allow_unicode=True, sort_keys=False
    )
    return text.removesuffix("\n").removesuffix("\n...")


@dataclass
class Applied:
    """The effective text and how to put its positions back on the file's."""

    original: str
    text: str
    overrides: list[Override]
    inserted: list[int] = field(default_factory=list)  # effective lines that are not the file's

    def locate(self, d: Diagnostic) -> Diagnostic:
        """A diagnostic of the effective text, on the file's lines; one about an overridden
        value names its override and sits on the key (or its nearest key in the file)."""
        owner = self._owner(d.span)
        if owner is None:
            return replace(d, span=self._back(d.span))
        return replace(d, message=f"--set {owner.text}: {d.message}", span=self._key_span(owner))

    def _owner(self, span: Span) -> Override | None:
        root = parse_yaml(self.text).root
        best: tuple[int, Override] | None = None
        for ov in self.overrides:
            hit = _find(root, ov.path)
            if hit is None:
                continue
            key, value = hit
            start = (key.span.start_line, key.span.start_col) if key else value.span[:2]
            end = (value.span.end_line, value.span.end_col)
            if start <= (span.start_line, span.start_col) <= end:
                size = (end[0] - start[0]) * 10**6 + end[1] - start[1]
                if best is None or size <= best[0]:
                    best = (size, ov)
        return None if best is None else best[1]

    def _key_span(self, ov: Override) -> Span:
        root = parse_yaml(self.original).root
        for n in range(len(ov.path), 0, -1):
            hit = _find(root, ov.path[:n])
            if hit is not None:
                key, value = hit
                return (key or value).span
        return Span(0, 0, 0, 0)

    def _back(self, span: Span) -> Span:
        def line(n: int) -> int:
            return n - sum(1 for i in self.inserted if i < n)

        return Span(line(span.start_line), span.start_col, line(span.end_line), span.end_col)


def _find(root: YNode | None, path: tuple[str, ...]) -> tuple[YNode | None, YNode] | None:
    """(key node, value node) at `path` (an index into a list has no key node)."""
    node, key = root, None
    for part in path:
        if isinstance(node, YMap) and node.get(part) is not None:
            key, node = node.key_node(part), node.get(part)
        elif isinstance(node, YSeq) and part.isdigit() and int(part) < len(node.items):
            key, node = None, node.items[int(part)]
        else:
            return None
    return None if node is None else (key, node)


def apply_overrides(text: str, overrides: list[Override]) -> Applied:
    """Apply the overrides in order; OverrideError says which one cannot be and why."""
    applied = Applied(text, text, list(overrides))
    for ov in overrides:
        applied.text = _apply(applied, ov)
    return applied


def _offset(lines: list[str], line: int, col: int) -> int:
    return sum(len(x) for x in lines[:line]) + col


def _apply(applied: Applied, ov: Override) -> str:
    text = applied.text
    root = parse_yaml(text).root
    if not isinstance(root, YMap):
        raise OverrideError(f"--set {ov.text}: the trainer spec is not a mapping of sections")
    node: YNode = root
    for i, part in enumerate(ov.path):
        where = ".".join(ov.path[:i]) or "the spec"
        rest = _nested(ov.path[i + 1 :], ov.value)
        if isinstance(node, YMap):
            child = node.get(part)
            if child is None:
                return _insert(applied, node, part, rest)
            node = child
        elif isinstance(node, YSeq):
            if not part.isdigit() or int(part) >= len(node.items):
                n = len(node.items)
                raise OverrideError(
                    f"--set {ov.text}: {where} is a list of {n} item{'s' if n != 1 else ''}; "
                    f"'{part}' is not one of its indices" + (f" (0-{n - 1})" if n else "")
                )
            node = node.items[int(part)]
        elif isinstance(node, YScalar) and node.value is None:
            return _replace(text, node, _nested(ov.path[i:], ov.value))
        else:
            raise OverrideError(
                f"--set {ov.text}: {where} is a single value, not a mapping with '{part}'"
            )
    return _replace(text, node, ov.value)


def _nested(path: tuple[str, ...], value: Any) -> Any:
    for part in reversed(path):
        value = {part: value}
    return value


def _replace(text: str, node: YNode, value: Any) -> str:
    """The node's text replaced by the value's flow text, padded to the same lines."""
    lines = text.splitlines(keepends=True)
    s = node.span
    start, end = _offset(lines, s.start_line, s.start_col), _offset(lines, s.end_line, s.end_col)
    pad = "\n" * (s.end_line - s.start_line) + " " * s.end_col if s.end_line > s.start_line else ""
    space = " " if text[start - 1 : start] == ":" else ""  # `key:` with no value
    return text[:start] + space + flow_text(value) + pad + text[end:]


def _insert(applied: Applied, mapping: YMap, key: str, value: Any) -> str:
    text = applied.text
    entry = f"{flow_text(key)}: {flow_text(value)}"
    lines = text.splitlines(keepends=True)
    s = mapping.span
    if mapping.flow:  # inline, after the `{`: no line moves
        at = _offset(lines, s.start_line, s.start_col) + 1
        return text[:at] + entry + (", " if mapping.pairs else "") + text[at:]
    indent = mapping.pairs[0][0].span.start_col if mapping.pairs else 0
    last = mapping.pairs[-1][1].span if mapping.pairs else s
    line = last.end_line if last.end_col == 0 else last.end_line + 1
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    lines.insert(min(line, len(lines)), " " * indent + entry + "\n")
    applied.inserted = [i + 1 if i >= line else i for i in applied.inserted] + [line]
    return "".join(lines)
