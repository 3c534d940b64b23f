"""Registering a feature object's bound method as a pygls handler, with a safety net."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from pygls.exceptions import JsonRpcException

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer

log = logging.getLogger(__name__)

P = TypeVar("P")  # the request's or notification's params (an lsprotocol type)
R = TypeVar("R")  # the handler's answer


class Feature(Protocol):
    """One language feature (hover, completion, ...): made for a server, it registers its
    handlers on it with `on`."""

    def register(self, server: ArcGraphServer) -> None: ...


def on(
    server: ArcGraphServer, method: str, fn: Callable[[P], R], options: object | None = None
) -> None:
    """pygls marks handlers with attributes, which bound methods cannot carry: wrap them.

    A feature that fails on some odd text logs the error and answers "nothing" (None), so one
    bad document never turns into error popups or a dead server."""

    idle = server.idle_gc

    def handler(params: P) -> R | None:
        idle.touch(server.loop)
        try:
            return fn(params)
        except JsonRpcException:
            raise  # a deliberate error answer (e.g. a refused rename)
        except Exception:
            log.exception("arcgraph: %s failed", method)
            return None

    _register(server, method, fn, handler, options)


def on_async(
    server: ArcGraphServer,
    method: str,
    fn: Callable[[P], Awaitable[R]],
    options: object | None = None,
) -> None:
    """`on` for a handler that awaits (e.g. the workspace scan): it runs as a task on the
    event loop, which serves other messages meanwhile."""

    idle = server.idle_gc

    async def handler(params: P) -> R | None:
        idle.touch(server.loop)
        try:
            return await fn(params)
        except JsonRpcException:
            raise
        except Exception:
            log.exception("arcgraph: %s failed", method)
            return None

    _register(server, method, fn, handler, options)


def _register(
    server: ArcGraphServer,
    method: str,
    fn: Callable[..., object],
    handler: Callable[..., object],
    options: object | None,
) -> None:
    handler.__name__ = getattr(fn, "__name__", method)
    handler.__doc__ = fn.__doc__
    if options is None:
        server.feature(method)(handler)
    else:
        server.feature(method, options)(handler)
