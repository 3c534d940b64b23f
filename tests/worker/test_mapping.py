"""Torch-free helpers: annotation/doc/default -> Accepts, RST -> Markdown, signature text."""

from __future__ import annotations

import pytest

from arcgraph.engine.catalog import accepts_value, describe_accepts
from arcgraph.worker import accepts as acc
from arcgraph.worker.rst import inline, latex_to_text, parse_docstring
from arcgraph.worker.signatures import format_signature, merge_overloads, parse_signature_text

NUM2 = {"tuple": [["number", "tensor"], ["number", "tensor"]]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("float | Tensor", ["number", "tensor"]),
        ("float | torch.Tensor", ["number", "tensor"]),
        ("Optional[float]", ["number", "null"]),
        ("bool | None", ["bool", "null"]),
        ("bool", ["bool"]),
        ("int", ["int"]),
        ("_int", ["int"]),
        ("SymInt", ["int"]),
        ("str", ["str"]),
        ("torch.dtype | None", ["dtype", "null"]),
        ("_size", [{"seq": ["int"]}]),
        ("list[int]", [{"seq": ["int"]}]),
        ("Sequence[int]", [{"seq": ["int"]}]),
        ("tuple[int, ...]", [{"seq": ["int"]}]),
        ("tuple[float | Tensor, float | Tensor]", [NUM2]),
        ("Tuple[float, float]", [{"tuple": [["number"], ["number"]]}]),
        ("Union[int, tuple[int, int]]", ["int", {"tuple": [["int"], ["int"]]}]),
        ("_size_2_t", ["int", {"tuple": [["int"], ["int"]]}]),
        ("Literal['zeros', 'reflect']", [{"literal": ["zeros", "reflect"]}]),
        ("Callable[[Tensor], Tensor]", ["callable"]),
        ("torch.nn.modules.module.Module | None", ["module", "null"]),
        ("'Tensor'", ["tensor"]),
        ("Any", None),
        ("SomethingUnknown | int", None),
        ("dict[str, int]", None),
        ("", None),
    ],
)
def test_from_annotation(text: str, expected: object) -> None:
    assert acc.from_annotation(text) == expected


def test_from_annotation_resolves_aliases() -> None:
    aliases = {"_my_alias": "Union[int, list[int]]"}
    assert acc.from_annotation("_my_alias", aliases.get) == ["int", {"seq": ["int"]}]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.5, ["number"]), (True, ["bool"]), (3, None), (None, None), ("mean", None)],
)
def test_from_default(value: object, expected: object) -> None:
    assert acc.from_default(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tensor or Number", ["tensor", "number"]),
        ("int, optional", ["int", "null"]),
        ("int or tuple of ints, optional", ["int", {"seq": ["int"]}, "null"]),
        (":class:`torch.dtype`, optional", ["dtype", "null"]),
        ("float", ["number"]),
        ("iterable", [{"seq": None}]),
        ("a weird thing", None),
    ],
)
def test_from_doc_type(text: str, expected: object) -> None:
    assert acc.from_doc_type(text) == expected


def test_with_null() -> None:
    assert acc.with_null(["tensor"]) == ["tensor", "null"]
    assert acc.with_null(["null"]) == ["null"]
    assert acc.with_null(None) is None


@pytest.mark.parametrize(
    ("accepts", "value", "ok"),
    [
        (["number"], 0.9, True),
        (["number"], 1, True),
        (["number"], True, False),
        (["number"], "0.9", False),
        (["int"], 2.0, False),
        (["bool"], 1, False),
        (["number", "null"], None, True),
        ([NUM2], [0.9, 0.999], True),
        ([NUM2], [0.9], False),
        ([NUM2], [0.9, "x"], False),
        ([{"seq": ["int"]}], [1, 2, 3], True),
        ([{"seq": ["int"]}], [1, 2.5], False),
        ([{"literal": ["mean", "sum"]}], "sum", True),
        ([{"literal": ["mean", "sum"]}], "max", False),
        (["tensor"], [[1, 2], [3, 4]], True),
        (["tensor"], 3, True),
        (["module"], {"_target_": "torch.nn.Linear"}, True),
        (None, object(), True),
    ],
)
def test_accepts_value(accepts: object, value: object, ok: bool) -> None:
    assert accepts_value(accepts, value) is ok  # type: ignore[arg-type]


def test_accepts_dtype_names() -> None:
    assert accepts_value(["dtype"], "float32", dtypes={"float32"})
    assert accepts_value(["dtype"], "torch.float32", dtypes={"float32"})
    assert not accepts_value(["dtype"], "float33", dtypes={"float32"})


def test_describe_accepts() -> None:
    assert describe_accepts(["number", "null"]) == "a number or null"
    assert describe_accepts(None) == "any value"
    assert describe_accepts([NUM2]) == "a list of two numbers"
    assert describe_accepts([{"seq": ["int"]}]) == "a list of integers"
    assert describe_accepts(["bool"]) == "true or false"


def test_inline_roles() -> None:
    text = "See :class:`~torch.nn.Linear`, :attr:`bias`, :func:`torch.add` and ``x``."
    assert inline(text) == "See `Linear`, `bias`, `torch.add()` and `x`."
    assert inline(":ref:`broadcasting <broadcasting-semantics>`") == "broadcasting"
    assert inline("`PyTorch <https://pytorch.org>`_") == "[PyTorch](https://pytorch.org)"


def test_latex() -> None:
    assert latex_to_text(r"\text{{out}}_i = \text{{input}}_i \times 2") == "out_i = input_i × 2"
    assert latex_to_text(r"\frac{\text{in\_channels}}{\text{groups}}") == "(in_channels)/(groups)"
    assert latex_to_text(r"\mathbf{x}^{2}") == "x^2"


DOC = """\
add(input, other, *, alpha=1, out=None) -> Tensor

Adds :attr:`other`, scaled by :attr:`alpha`, to :attr:`input`: :math:`\\text{out} = x`.

.. note:: Not in the summary.

Args:
    input (Tensor): the input tensor.
    other (Tensor or Number): the tensor or number
        to add to :attr:`input`.

        A second paragraph that is dropped.

Keyword arguments:
    alpha (Number): the multiplier for :attr:`other`.

.. function:: add(input, other, *, alpha=1, out=None, extra=3) -> Tensor
"""


def test_parse_docstring() -> None:
    doc = parse_docstring(DOC)
    assert doc.summary == "Adds `other`, scaled by `alpha`, to `input`: `out = x`."
    assert doc.args["other"] == "the tensor or number to add to `input`."
    assert doc.args["alpha"] == "the multiplier for `other`."
    assert doc.types == {"input": "Tensor", "other": "Tensor or Number", "alpha": "Number"}
    assert len(doc.signatures) == 2


def test_signature_text_and_overloads() -> None:
    a = parse_signature_text("mean(input, *, dtype=None) -> Tensor")
    b = parse_signature_text("mean(input, dim, keepdim=False, *, dtype=None, out=None) -> Tensor")
    assert a and b
    merged = merge_overloads([a, b])
    assert [p.name for p in merged] == ["input", "dim", "keepdim", "dtype", "out"]
    by_name = {p.name: p for p in merged}
    assert not by_name["input"].has_default
    assert by_name["dim"].has_default  # missing from the first overload: optional
    assert by_name["dtype"].kind == "keyword_only"
    assert format_signature(a) == "(input, *, dtype=None)"
    assert parse_signature_text("zeros(*size, *, out=None)") is None
