"""Registering a feature object's bound method as a pygls handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def on(server: Any, method: str, fn: Callable[[Any], Any], options: Any = None) -> None:
    """pygls marks handlers with attributes, which bound methods cannot carry: wrap them."""

    def handler(params: Any) -> Any:
        return fn(params)

    handler.__name__ = getattr(fn, "__name__", method)
    handler.__doc__ = fn.__doc__
    if options is None:
        server.feature(method)(handler)
    else:
        server.feature(method, options)(handler)
