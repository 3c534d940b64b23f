"""Does a YAML value fit a torch argument? Checks against the catalog's `accepts` descriptors.

`accepts` is derived from torch's annotations by the catalog builder: None means unknown (any
value passes); otherwise a list of alternatives: "int", "number", "bool", "str", "null",
"tensor", "dtype", "device", "module", "callable", "any", {"tuple": [...]}, {"seq": [...]},
{"literal": [...]}. YAML gives no tensors: a tensor argument takes a number or a nested list of
numbers, which the trainer turns into a tensor.
"""

from __future__ import annotations

from typing import Any

from arcgraph.catalog import accepts_value
from arcgraph.source import YNode, to_python

Accepts = list[Any] | None


def matches(node: YNode, accepts: Accepts) -> bool:
    """The catalog's own value test, on the plain value of a located node."""
    return accepts_value(accepts, to_python(node))


_WORDS = {
    "int": "an integer",
    "number": "a number",
    "bool": "true or false",
    "str": "a string",
    "null": "null",
    "tensor": "a number or a list of numbers",
    "dtype": "a dtype name",
    "device": "a device name",
    "module": "a torch.nn object ({_target_: torch.nn.X, ...})",
    "callable": "a function name",
    "any": "any value",
}


def describe(accepts: Accepts) -> str:
    """`[{"tuple": [["number"], ["number"]]}]` -> 'a list of two numbers'."""
    if accepts is None:
        return "any value"
    words: list[str] = []
    for alt in accepts:
        if isinstance(alt, dict) and "tuple" in alt:
            parts = [describe(p) for p in alt["tuple"]]
            n = len(parts)
            if len(set(parts)) == 1:
                count = {1: "one", 2: "two", 3: "three", 4: "four"}.get(n, str(n))
                noun = parts[0].removeprefix("a ").removeprefix("an ")
                noun = noun.replace("number or a list of numbers", "number")
                words.append(f"a list of {count} {noun}{'s' if n != 1 else ''}")
            else:
                words.append("a list of [" + ", ".join(parts) + "]")
        elif isinstance(alt, dict) and "seq" in alt:
            inner = describe(alt["seq"]).removeprefix("a ").removeprefix("an ")
            words.append(f"a list of {inner}s")
        elif isinstance(alt, dict) and "literal" in alt:
            words.append("one of " + ", ".join(repr(v) for v in alt["literal"]))
        else:
            words.append(_WORDS.get(str(alt), str(alt)))
    # "a number or a list of numbers" already covers "a number".
    if "a number or a list of numbers" in words and "a number" in words:
        words.remove("a number")
    return " or ".join(dict.fromkeys(words))
