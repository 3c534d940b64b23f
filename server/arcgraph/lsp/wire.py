"""The server's cattrs converter: pygls's own, plus answers whose JSON-ready form is kept.

pygls unstructures every answer by its declared type (`Sequence[InlayHint]`: each hint, its
position and its enum, again on every request), then JSON-encodes it. A feature that answers
the same objects many times (inlay hints over the whole file, ~900 of them for a 5,000-line
model, on every change in Neovim) returns a `Prepared` list instead: the same objects, with
their unstructured forms made once by lsprotocol's converter; its hook sends those.
The bytes on the wire are the same as without it (tests/lsp/test_inlay_wire.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from cattrs import Converter
from pygls.protocol import default_converter

T = TypeVar("T")

# the form of one object alone: lsprotocol's converter, configured as pygls's (its message
# hooks concern only whole messages)
_ALONE = default_converter()


def unstructured(obj: Any, as_type: type[Any]) -> Any:
    """`obj`'s JSON-ready form, as the server's converter makes it for a `as_type` field."""
    return _ALONE.unstructure(obj, as_type)


class Prepared(list[T], Generic[T]):
    """A result list (the objects themselves, for callers in the process) with each one's
    JSON-ready form, in the same order, for the wire."""

    __slots__ = ("forms",)

    def __init__(self, items: Iterable[T], forms: list[Any]) -> None:
        super().__init__(items)
        self.forms = forms


def converter_factory() -> Converter:
    """pygls's converter, which sends a `Prepared` result as its kept forms. pygls answers a
    request with a generic response whose `result` is typed `Any`, so cattrs picks the hook
    by the result's own class: a plain list is unstructured item by item, as before."""
    converter = default_converter()
    converter.register_unstructure_hook(Prepared, _forms)
    return converter


def _forms(prepared: Prepared[Any]) -> list[Any]:
    return prepared.forms
