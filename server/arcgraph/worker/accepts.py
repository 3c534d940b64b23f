"""Map Python annotations, docstring types and defaults to the catalog's `Accepts` values.

`Accepts` is what a spec value may be, checked without torch: None means unknown (accept
anything), else a list of alternatives, each one of the scalar kinds (int, number, bool, str,
null, tensor, dtype, device, module, callable, any) or one of
`{"tuple": [Accepts, ...]}`, `{"seq": Accepts}`, `{"literal": [values]}`. Everything here works
on annotation *text* (parsed with `ast`, never evaluated), so it is torch-free and unit-testable;
the worker formats real annotation objects to text first. When any part of a union is not
understood the whole result is None: a checker must never reject what torch would accept.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

Accepts = list[Any] | None

# Last dotted component of a type name -> the alternatives it stands for.
_NAMES: dict[str, list[Any]] = {
    "int": ["int"],
    "_int": ["int"],
    "SymInt": ["int"],
    "IntLikeType": ["int"],
    "float": ["number"],
    "_float": ["number"],
    "SymFloat": ["number"],
    "FloatLikeType": ["number"],
    "complex": ["number"],
    "_complex": ["number"],
    "Number": ["number"],
    "_number": ["number"],
    "Scalar": ["number"],
    "bool": ["bool"],
    "_bool": ["bool"],
    "SymBool": ["bool"],
    "str": ["str"],
    "None": ["null"],
    "NoneType": ["null"],
    "Tensor": ["tensor"],
    "Parameter": ["tensor"],
    "TensorLikeType": ["tensor"],
    "dtype": ["dtype"],
    "_dtype": ["dtype"],
    "device": ["device"],
    "_device": ["device"],
    "DeviceLikeType": ["device"],
    "Device": ["device"],
    "Module": ["module"],
    "Callable": ["callable"],
    "Any": ["any"],
    "object": ["any"],
    "_size": [{"seq": ["int"]}],
    "Size": [{"seq": ["int"]}],
    "SymIntArrayRef": [{"seq": ["int"]}],
    "_size_any_t": ["int", {"seq": ["int"]}],
    "_size_1_t": ["int", {"tuple": [["int"]]}],
    "_size_2_t": ["int", {"tuple": [["int"], ["int"]]}],
    "_size_3_t": ["int", {"tuple": [["int"], ["int"], ["int"]]}],
    "_size_4_t": ["int", {"tuple": [["int"]] * 4}],
    "_size_5_t": ["int", {"tuple": [["int"]] * 5}],
    "_size_6_t": ["int", {"tuple": [["int"]] * 6}],
    "_size_any_opt_t": ["int", "null", {"seq": ["int", "null"]}],
    "_size_2_opt_t": ["int", "null", {"tuple": [["int", "null"], ["int", "null"]]}],
    "_size_3_opt_t": ["int", "null", {"tuple": [["int", "null"]] * 3}],
    "_ratio_2_t": ["number", {"tuple": [["number"], ["number"]]}],
    "_ratio_3_t": ["number", {"tuple": [["number"]] * 3}],
    "_ratio_any_t": ["number", {"seq": ["number"]}],
    "_tensor_list_t": ["tensor", {"seq": ["tensor"]}],
    "_maybe_indices_t": ["tensor", {"tuple": [["tensor"], ["tensor"]]}],
}
_SEQS = {"list", "List", "Sequence", "MutableSequence", "Iterable", "Collection", "Iterator"}
_TUPLES = {"tuple", "Tuple"}
_UNIONS = {"Union"}
_OPTIONALS = {"Optional"}
_PASSTHROUGH = {"Annotated", "Final", "ClassVar", "Required", "NotRequired"}


class _Unknown(Exception):
    pass


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    raise _Unknown


def _merge(*parts: list[Any]) -> list[Any]:
    out: list[Any] = []
    for part in parts:
        for alt in part:
            if alt not in out:
                out.append(alt)
    return out


def _convert(node: ast.AST, resolve: Callable[[str], str | None] | None, depth: int) -> list[Any]:
    if depth > 8:
        raise _Unknown
    if isinstance(node, ast.Constant):
        if node.value is None:
            return ["null"]
        if isinstance(node.value, str):  # a forward reference: "Tensor"
            return _convert(_parse(node.value), resolve, depth + 1)
        raise _Unknown
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _merge(_convert(node.left, resolve, depth), _convert(node.right, resolve, depth))
    if isinstance(node, ast.Name | ast.Attribute):
        full = _dotted(node)
        last = full.rsplit(".", 1)[-1]
        if last in _NAMES:
            return list(_NAMES[last])
        if last in _SEQS:
            return [{"seq": None}]
        if last in _TUPLES:
            return [{"seq": None}]
        if resolve is not None:
            text = resolve(full)
            if text is not None and text != full:
                return _convert(_parse(text), resolve, depth + 1)
        raise _Unknown
    if isinstance(node, ast.Subscript):
        head = _dotted(node.value).rsplit(".", 1)[-1]
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if head in _OPTIONALS:
            return _merge(_convert(args[0], resolve, depth + 1), ["null"])
        if head in _UNIONS:
            return _merge(*(_convert(a, resolve, depth + 1) for a in args))
        if head in _PASSTHROUGH:
            return _convert(args[0], resolve, depth + 1)
        if head == "Literal":
            values = []
            for a in args:
                if not isinstance(a, ast.Constant):
                    raise _Unknown
                values.append(a.value)
            return [{"literal": values}]
        if head == "Callable":
            return ["callable"]
        if head in _TUPLES:
            if len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is Ellipsis:
                return [{"seq": _inner(args[0], resolve, depth)}]
            if len(args) == 1 and isinstance(args[0], ast.Tuple) and not args[0].elts:
                return [{"tuple": []}]
            return [{"tuple": [_inner(a, resolve, depth) for a in args]}]
        if head in _SEQS:
            return [{"seq": _inner(args[0], resolve, depth)}]
        if head in _NAMES:  # e.g. Tensor[...] in odd stubs
            return list(_NAMES[head])
        raise _Unknown
    raise _Unknown


def _inner(node: ast.AST, resolve: Callable[[str], str | None] | None, depth: int) -> Accepts:
    """An element type: unknown here means 'any element', not 'unknown container'."""
    try:
        return _convert(node, resolve, depth + 1)
    except _Unknown:
        return None


def _parse(text: str) -> ast.AST:
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise _Unknown from exc


def from_annotation(text: str, resolve: Callable[[str], str | None] | None = None) -> Accepts:
    """`"float | Tensor"` -> `["number", "tensor"]`; None when any part is not understood.

    `resolve` maps a name the table does not know (a module-level alias such as
    `_size_2_t` in a stringified annotation) to the text of what it stands for.
    """
    if not text or text in {"inspect._empty", "_empty"}:
        return None
    try:
        result = _convert(_parse(text), resolve, 0)
    except _Unknown:
        return None
    return None if "any" in result else result


def from_default(value: Any) -> Accepts:
    """Infer from a default when there is no annotation: 0.5 -> number, True -> bool."""
    if isinstance(value, bool):
        return ["bool"]
    if isinstance(value, float):
        return ["number"]
    # An int default says little: `padding=0` also takes a tuple, `momentum=0` a float.
    return None


def with_null(accepts: Accepts) -> Accepts:
    """A `None` default makes a parameter optional even when the annotation forgets it."""
    if accepts is None or "null" in accepts:
        return accepts
    return [*accepts, "null"]


# Docstring types: "int or tuple of ints, optional", "Tensor or Number", "torch.dtype, optional".
_DOC_WORDS: dict[str, list[Any]] = {
    "int": ["int"],
    "integer": ["int"],
    "long": ["int"],
    "float": ["number"],
    "number": ["number"],
    "scalar": ["number"],
    "bool": ["bool"],
    "boolean": ["bool"],
    "str": ["str"],
    "string": ["str"],
    "tensor": ["tensor"],
    "longtensor": ["tensor"],
    "booltensor": ["tensor"],
    "floattensor": ["tensor"],
    "dtype": ["dtype"],
    "torch.dtype": ["dtype"],
    "device": ["device"],
    "torch.device": ["device"],
    "none": ["null"],
    "callable": ["callable"],
    "torch.size": [{"seq": ["int"]}],
    "size": [{"seq": ["int"]}],
}
_DOC_SEQ = re.compile(
    r"^(?:a\s+)?(?:tuple|list|sequence|iterable)(?:\s+of\s+(?P<el>[\w.]+?)s?)?$", re.IGNORECASE
)


def from_doc_type(text: str) -> Accepts:
    """A docstring's `(type)` -> Accepts, or None unless every alternative is understood."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "").strip()
    if not text:
        return None
    optional = False
    alts: list[Any] = []
    for raw in re.split(r",|\bor\b|\|", text):
        word = raw.strip().strip(".").strip()
        if not word:
            continue
        low = word.lower()
        if low == "optional":
            optional = True
            continue
        if low in _DOC_WORDS:
            alts = _merge(alts, _DOC_WORDS[low])
            continue
        m = _DOC_SEQ.match(word)
        if m:
            el = m.group("el")
            if el is None:
                inner = None
            else:
                inner = _DOC_WORDS.get(el.lower()) or _DOC_WORDS.get(el.lower().rstrip("s"))
                if inner is None:
                    return None
            alts = _merge(alts, [{"seq": inner}])
            continue
        return None
    if not alts:
        return None
    return with_null(alts) if optional else alts
