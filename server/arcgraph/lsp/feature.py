"""Registering a feature object's bound method as a pygls handler, with a safety net."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pygls.exceptions import JsonRpcException

log = logging.getLogger(__name__)


def on(server: Any, method: str, fn: Callable[[Any], Any], options: Any = None) -> None:
    """pygls marks handlers with attributes, which bound methods cannot carry: wrap them.

    A feature that fails on some odd text logs the error and answers "nothing" (None), so one
    bad document never turns into error popups or a dead server."""

    idle = getattr(server, "idle_gc", None)

    def handler(params: Any) -> Any:
        if idle is not None:
            idle.touch(server.loop)
        try:
            return fn(params)
        except JsonRpcException:
            raise  # a deliberate error answer (e.g. a refused rename)
        except Exception:
            log.exception("arcgraph: %s failed", method)
            return None

    handler.__name__ = getattr(fn, "__name__", method)
    handler.__doc__ = fn.__doc__
    if options is None:
        server.feature(method)(handler)
    else:
        server.feature(method, options)(handler)
