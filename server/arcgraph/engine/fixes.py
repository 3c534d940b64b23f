"""Quick fixes: a diagnostic's `data` turned into precise text edits.

Edits touch only the characters they must (a key, a value, a line), so comments, quoting and
formatting around them survive; no YAML re-serialisation, no round trip through a dumper.
The LSP's code actions and any command-line fixer use the same functions.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from arcgraph.engine import arc_forms
from arcgraph.engine.diagnostics import Diagnostic, Span
from arcgraph.engine.kinds import SpecForm, detect_form, detect_kind
from arcgraph.engine.source import YMap, YNode, YScalar, YSeq, parse_yaml


@dataclass(frozen=True, slots=True)
class TextEdit:
    span: Span
    new_text: str


@dataclass(frozen=True, slots=True)
class NewFile:
    """A file a fix creates (it must not exist yet), with its whole text."""

    path: Path
    text: str


@dataclass(frozen=True, slots=True)
class Fix:
    title: str
    edits: tuple[TextEdit, ...]
    preferred: bool = True
    creates: tuple[NewFile, ...] = ()


def yaml_scalar(value: Any) -> str:
    """A value as YAML text for a plain spot (flow style for lists and maps) that reads back
    as the same value: floats in YAML 1.1 form (`1.0e-08`, not `1e-08`, which is a string),
    strings that would read as numbers, booleans or null quoted."""
    if isinstance(value, str):
        plain = (
            value
            and value.strip() == value
            and not any(c in value for c in ":#{}[],&*!|>'\"%@`")
            and not (value[0] in "-?" and value[1:2] in ("", " "))
        )
        return value if plain and _reads_as_string(value) else json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return yaml_float(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{yaml_scalar(str(k))}: {yaml_scalar(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    return str(value)


_RESOLVER = yaml.resolver.Resolver()


def _reads_as_string(text: str) -> bool:
    """`text` as a plain scalar is a string (not a number, bool, null or date), as the
    specs' loader (PyYAML, YAML 1.1) reads it."""
    return _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str"


def yaml_float(value: float) -> str:
    """A float as YAML 1.1 reads it back: a dot in the mantissa, `.inf`, `.nan`."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    mantissa, e, exponent = repr(value).partition("e")
    if e and "." not in mantissa:
        mantissa += ".0"
    return mantissa + e + exponent


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _find_entry(node: YNode | None, key_span: Span) -> tuple[YMap, YNode, YNode] | None:
    """The mapping and (key, value) whose key sits at `key_span`."""
    if isinstance(node, YMap):
        for k, v in node.pairs:
            if k.span == key_span:
                return node, k, v
            hit = _find_entry(v, key_span)
            if hit:
                return hit
    elif isinstance(node, YSeq):
        for item in node.items:
            hit = _find_entry(item, key_span)
            if hit:
                return hit
    return None


def _find_map_at(node: YNode | None, path: list[str]) -> YMap | None:
    for part in path:
        if isinstance(node, YMap):
            node = node.get(part)
        elif isinstance(node, YSeq) and part.isdigit() and int(part) < len(node.items):
            node = node.items[int(part)]
        else:
            return None
    return node if isinstance(node, YMap) else None


def _replace(span: Span, text: str) -> TextEdit:
    return TextEdit(span, text)


def _replace_value(text: str, d: Diagnostic, new: str) -> Fix:
    root = parse_yaml(text).root
    node = _node_at(root, d.span)
    quote = ""
    if isinstance(node, YScalar) and node.quoted:
        quote = _lines(text)[d.span.start_line][d.span.start_col]
    return Fix(
        f"Change to '{new}'",
        (_replace(d.span, f"{quote}{new}{quote}" if quote else yaml_scalar(new)),),
    )


def _node_at(node: YNode | None, span: Span) -> YNode | None:
    if node is None:
        return None
    if node.span == span:
        return node
    children: list[YNode] = []
    if isinstance(node, YMap):
        for k, v in node.pairs:
            children += [k, v]
    elif isinstance(node, YSeq):
        children = node.items
    for c in children:
        hit = _node_at(c, span)
        if hit is not None:
            return hit
    return None


def _remove_entry(text: str, key_span: Span, title: str) -> Fix | None:
    root = parse_yaml(text).root
    hit = _find_entry(root, key_span)
    if hit is None:
        return None
    mapping, key, value = hit
    lines = _lines(text)
    if mapping.flow:
        # `{a: 1, b: 2}`: remove "b: 2" with the comma before it (or after, for the first).
        idx = next(i for i, (k, _) in enumerate(mapping.pairs) if k is key)
        first = (key.span.start_line, key.span.start_col)
        last = (value.span.end_line, value.span.end_col)
        if len(mapping.pairs) > 1 and idx > 0:  # from the end of the value before it
            prev = mapping.pairs[idx - 1][1]
            first = (prev.span.end_line, prev.span.end_col)
        elif len(mapping.pairs) > 1:  # the first of several: up to the next key
            nxt = mapping.pairs[1][0]
            last = (nxt.span.start_line, nxt.span.start_col)
        return Fix(title, (TextEdit(Span(*first, *last), ""),))
    # Block style: whole lines, from the key's line to the value's last line (comments kept
    # when they stand on their own lines after it).
    start = key.span.start_line
    end = _last_line(value, lines)
    end = max(end, start)
    if start < len(lines) and lines[start][: key.span.start_col].strip() not in ("", "-"):
        return None
    if lines[start][: key.span.start_col].strip() == "-":
        return None  # the first key of a list item: leave it to the user
    return Fix(title, (TextEdit(Span(start, 0, end + 1, 0), ""),))


def _last_line(node: YNode, lines: list[str]) -> int:
    """The last line a value occupies; a block collection's end mark sits on the next token."""
    end = node.span.end_line
    block = isinstance(node, YMap | YSeq) and not node.flow and end > node.span.start_line
    if block and (end >= len(lines) or lines[end][: node.span.end_col].strip() == ""):
        end -= 1
    return end


def _child_indent(text: str, mapping: YMap) -> str:
    if mapping.pairs:
        k = mapping.pairs[0][0]
        return " " * k.span.start_col
    return "  "


def _add_key(text: str, path: list[str], key: str, value: Any) -> Fix | None:
    root = parse_yaml(text).root
    mapping = _find_map_at(root, path)
    if mapping is None:
        return None
    lines = _lines(text)
    shown = yaml_scalar(value) if not isinstance(value, dict) else "{}"
    title = f"Add '{key}: {shown}'"
    if mapping.flow:
        last = mapping.pairs[-1][1] if mapping.pairs else None
        if last is None:
            pos = Span(
                mapping.span.start_line,
                mapping.span.start_col + 1,
                mapping.span.start_line,
                mapping.span.start_col + 1,
            )
            return Fix(title, (TextEdit(pos, f"{key}: {shown}"),))
        end = last.span
        return Fix(
            title,
            (
                TextEdit(
                    Span(end.end_line, end.end_col, end.end_line, end.end_col), f", {key}: {shown}"
                ),
            ),
        )
    indent = _child_indent(text, mapping)
    line = f"{indent}{key}: {shown}"
    if not mapping.pairs:
        return None
    at = _last_line(mapping.pairs[-1][1], lines) + 1  # after the last entry's last line
    if at >= len(lines):  # no newline at the end of the file
        end = len(lines) - 1
        return Fix(
            title, (TextEdit(Span(end, len(lines[end]), end, len(lines[end])), "\n" + line),)
        )
    return Fix(title, (TextEdit(Span(at, 0, at, 0), line + "\n"),))


def fixes_for(text: str, d: Diagnostic) -> list[Fix]:
    """The quick fixes a diagnostic offers, as edits against `text`."""
    data = d.data or {}
    kind = data.get("fix")
    out: list[Fix] = []
    if not _span_holds(text, d, kind, data):
        return out  # the text under the span is not what the diagnostic was about
    if kind == "replace_value" and isinstance(data.get("with"), str):
        out.append(_replace_value(text, d, data["with"]))
    elif kind == "rename_key" and isinstance(data.get("with"), str):
        out.append(Fix(f"Rename to '{data['with']}'", (TextEdit(d.span, data["with"]),)))
        removed = _remove_entry(text, d.span, f"Remove '{_span_text(text, d.span)}'")
        if removed:
            out.append(Fix(removed.title, removed.edits, preferred=False))
    elif kind == "remove_key":
        removed = _remove_entry(
            text, d.span, f"Remove '{data.get('key', _span_text(text, d.span))}'"
        )
        if removed:
            out.append(removed)
    elif kind == "add_key" and isinstance(data.get("key"), str):
        added = _add_key(text, list(data.get("path", [])), data["key"], data.get("value"))
        if added:
            out.append(added)
    elif kind == "move_lr" and data.get("move"):
        moved = _move_lr_up(text, d.span)
        if moved:
            out.append(moved)
    elif kind == "move_lr":
        removed = _remove_entry(text, d.span, "Remove 'lr' from params (optimizer.lr is used)")
        if removed:
            out.append(removed)
    elif kind == "split_arc" and d.path:
        split = _split_arc(text, Path(d.path))
        if split:
            out.append(split)
    return out


def _split_arc(text: str, path: Path) -> Fix | None:
    """Arc's unified or wrapper file -> this file as a model spec and a new trainer spec."""
    root = parse_yaml(text).root
    form = detect_form(detect_kind(path, root, text), root)
    if not isinstance(root, YMap) or form is SpecForm.PLAIN:
        return None
    done = arc_forms.split(path, text, root, form)
    if done is None:
        return None
    return Fix(
        f"Split into a model spec and a trainer spec ({done.trainer_path.name})",
        (TextEdit(done.span, done.model_text),),
        creates=(NewFile(done.trainer_path, done.trainer_text),),
    )


def _move_lr_up(text: str, key_span: Span) -> Fix | None:
    """`optimizer.params.lr` -> `optimizer.lr`, value kept (only removing it would lose the
    user's learning rate): one fix, the entry removed and the key added to `optimizer`."""
    hit = _find_entry(parse_yaml(text).root, key_span)
    removed = _remove_entry(text, key_span, "")
    if hit is None or removed is None:
        return None
    value = hit[2]
    shown = value.value if isinstance(value, YScalar) else None
    if shown is None:
        return None
    added = _add_key(text, ["optimizer"], "lr", shown)
    if added is None:
        return None
    return Fix(f"Move 'lr: {yaml_scalar(shown)}' up to optimizer.lr", removed.edits + added.edits)


def _span_holds(text: str, d: Diagnostic, kind: Any, data: dict[str, Any]) -> bool:
    """A fix that edits at the span needs the span to be what it was reported on: a key of
    the current text (the key named in `data`, if any) or, for a value, a node of it."""
    if kind in ("rename_key", "remove_key", "move_lr"):
        hit = _find_entry(parse_yaml(text).root, d.span)
        expected = data.get("key")
        if hit is None or not isinstance(expected, str):
            return hit is not None
        return isinstance(hit[1], YScalar) and str(hit[1].value) == expected
    if kind == "replace_value":
        return _node_at(parse_yaml(text).root, d.span) is not None
    return True


def _span_text(text: str, span: Span) -> str:
    lines = _lines(text)
    if span.start_line == span.end_line and span.start_line < len(lines):
        return lines[span.start_line][span.start_col : span.end_col]
    return ""
