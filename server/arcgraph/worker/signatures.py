"""Parameter lists from signature *text*: torch builtins have no `inspect.signature`.

Their docstrings start with one or more overload lines (`add(input, other, *, alpha=1,
out=None) -> Tensor`) and `torch.overrides` gives a lambda with a plain signature. We parse
those with `ast` (never evaluated) and merge the overloads so no valid call is refused:
a parameter missing from some overload counts as optional.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any

MISSING: Any = object()

KINDS = (
    "positional_only",
    "positional_or_keyword",
    "var_positional",
    "keyword_only",
    "var_keyword",
)


@dataclass
class RawParam:
    name: str
    kind: str
    default: Any = MISSING  # a Python value (literal) or MISSING
    default_repr: str = ""
    annotation: str = ""

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING or self.default_repr != ""


def _paren_body(line: str) -> str | None:
    start = line.find("(")
    if start < 0:
        return None
    depth = 0
    for i in range(start, len(line)):
        if line[i] in "([{":
            depth += 1
        elif line[i] in ")]}":
            depth -= 1
            if depth == 0:
                return line[start + 1 : i]
    return None


def _default(node: ast.expr) -> tuple[Any, str]:
    src = ast.unparse(node)
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return MISSING, src
    return value, src


def parse_signature_text(line: str) -> list[RawParam] | None:
    """`name(a, b=1, *, c=None) -> T` -> RawParams, or None if it does not parse."""
    body = _paren_body(line)
    if body is None:
        return None
    try:
        fn = ast.parse(f"def f({body}): pass").body[0]
    except SyntaxError:
        return None
    assert isinstance(fn, ast.FunctionDef)
    a = fn.args
    out: list[RawParam] = []
    positional = [(p, "positional_only") for p in a.posonlyargs] + [
        (p, "positional_or_keyword") for p in a.args
    ]
    first_default = len(positional) - len(a.defaults)
    for i, (p, kind) in enumerate(positional):
        rp = RawParam(p.arg, kind, annotation=ast.unparse(p.annotation) if p.annotation else "")
        if i >= first_default:
            rp.default, rp.default_repr = _default(a.defaults[i - first_default])
        out.append(rp)
    if a.vararg:
        out.append(RawParam(a.vararg.arg, "var_positional"))
    for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        rp = RawParam(
            p.arg, "keyword_only", annotation=ast.unparse(p.annotation) if p.annotation else ""
        )
        if d is not None:
            rp.default, rp.default_repr = _default(d)
        out.append(rp)
    if a.kwarg:
        out.append(RawParam(a.kwarg.arg, "var_keyword"))
    return out


def merge_overloads(overloads: list[list[RawParam]]) -> list[RawParam]:
    """Union of overloads, first overload's order and kinds first; partial ones become optional."""
    if not overloads:
        return []
    merged: dict[str, RawParam] = {}
    for params in overloads:
        for p in params:
            if p.name not in merged:
                merged[p.name] = RawParam(p.name, p.kind, p.default, p.default_repr, p.annotation)
            elif not merged[p.name].has_default and p.has_default:
                merged[p.name].default, merged[p.name].default_repr = p.default, p.default_repr
    if len(overloads) > 1:
        for name, p in merged.items():
            if p.kind in {"var_positional", "var_keyword"} or p.has_default:
                continue
            if not all(any(q.name == name for q in ov) for ov in overloads):
                p.default_repr = "<depends on overload>"
    order = {k: i for i, k in enumerate(KINDS)}
    ordered = sorted(merged.values(), key=lambda p: order[p.kind])  # stable within a kind
    # A required positional parameter may not follow an optional one; make it optional too.
    seen_default = False
    for p in ordered:
        if p.kind in {"positional_only", "positional_or_keyword"}:
            if p.has_default:
                seen_default = True
            elif seen_default:
                p.default_repr = "<depends on overload>"
    return ordered


def format_signature(params: list[RawParam]) -> str:
    """Render like `inspect.Signature`: `(a, b: int = 1, *, c=None)`."""
    parts: list[str] = []
    star_done = False
    posonly_done = True
    for p in params:
        if p.kind == "positional_only":
            posonly_done = False
        elif not posonly_done:
            parts.append("/")
            posonly_done = True
        if p.kind == "var_positional":
            star_done = True
            parts.append(f"*{p.name}")
            continue
        if p.kind == "keyword_only" and not star_done:
            parts.append("*")
            star_done = True
        if p.kind == "var_keyword":
            parts.append(f"**{p.name}")
            continue
        text = p.name
        if p.annotation:
            text += f": {p.annotation}"
        if p.has_default:
            rep = p.default_repr or repr(p.default)
            text += f" = {rep}" if p.annotation else f"={rep}"
        parts.append(text)
    if not posonly_done:
        parts.append("/")
    return "(" + ", ".join(parts) + ")"


def json_value(value: Any) -> Any:
    """A default as JSON, or None when it has no JSON form (see `default_repr`)."""
    if value is MISSING:
        return None
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, tuple | list):
        items = [json_value(v) for v in value]
        return (
            None
            if any(i is None and v is not None for i, v in zip(items, value, strict=True))
            else items
        )
    return None
