"""The server's JSON-RPC protocol: every request gets an answer, refusals stay quiet.

pygls structures a message's params inside `json.loads`; when that fails (a position with
line -1 or 2**31 is no LSP `uinteger`, a missing field) it logs a traceback, shows the client
an "Error in server" popup and never answers: the client waits forever. Here such a request
is answered with InvalidParams (-32602) naming the bad field, a bad notification is dropped,
and both only logged at info level. Requests before `initialize` get ServerNotInitialized
(-32002) and notifications before it are dropped (except `exit`), as LSP asks.

A feature that refuses a request on purpose raises a `JsonRpcException` (a rename of
something that is not a node): that is an answer, not a server error, so it is sent without
pygls' traceback on stderr (which clients log as errors).

`$/cancelRequest` cancels only a request's future in pygls; a long-running command (Train)
registers `on_cancel(msg_id, fn)` to stop its own work when its request is cancelled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcRequestCancelled,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCRequestMessage, MsgId
from pygls.protocol.language_server import lsp_method

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unreadable:
    """A message whose params could not be structured: answered (request) or dropped."""

    id: MsgId | None
    method: str
    reason: str


def _reasons(exc: BaseException) -> list[str]:
    """The leaf messages of a cattrs validation error (`Position.line should be in ...`)."""
    subs = getattr(exc, "exceptions", None)  # an exception group (cattrs' on Python 3.10)
    if isinstance(subs, tuple | list) and subs:
        return [r for sub in subs for r in _reasons(sub)]
    if exc.__cause__ is not None and not str(exc):
        return _reasons(exc.__cause__)
    return [str(exc) or type(exc).__name__]


class ArcGraphProtocol(LanguageServerProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initialize_seen = False
        self._cancel_hooks: dict[MsgId, list[Callable[[], None]]] = {}
        # `capabilities.experimental` of the initialize result (pygls' builder sets none)
        self.experimental: dict[str, Any] | None = None

    # -- reading -------------------------------------------------------------------------
    def structure_message(self, data: dict[str, Any]) -> Any:
        if not isinstance(data, dict) or "jsonrpc" not in data or "method" not in data:
            return super().structure_message(data)  # nested objects, responses
        method = data["method"]
        is_request = "id" in data
        fallback = JsonRPCRequestMessage if is_request else JsonRPCNotification
        try:
            return self._converter.structure(data, self.get_message_type(method) or fallback)
        except Exception as exc:
            reason = "; ".join(_reasons(exc))
            log.info(
                "unreadable %s %r: %s", "request" if is_request else "notification", method, reason
            )
            return Unreadable(data["id"] if is_request else None, str(method), reason)

    def handle_message(self, message: Any) -> None:
        method = getattr(message, "method", None)
        msg_id: MsgId | None = getattr(message, "id", None)
        if not self.initialize_seen:
            if method == types.INITIALIZE and not isinstance(message, Unreadable):
                self.initialize_seen = True
            elif msg_id is not None and method is not None:  # a request
                error = JsonRpcServerNotInitialized(
                    f"arcgraph: {method} before initialize; send initialize first"
                )
                self._send_response(msg_id, None, error.to_response_error())
                return
            elif method is not None and method != types.EXIT:
                return  # notifications before initialize are dropped
        if isinstance(message, Unreadable):
            if message.id is not None:
                error = JsonRpcInvalidParams(
                    f"arcgraph: invalid {message.method} params: {message.reason}"
                )
                self._send_response(message.id, None, error.to_response_error())
            return
        super().handle_message(message)

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(
        self, params: types.InitializeParams
    ) -> Generator[Any, Any, types.InitializeResult]:
        """pygls' initialize (the server's handler, then the capabilities), plus what the
        server tells its clients in `experimental`."""
        result = yield from super().lsp_initialize(params)
        result.capabilities.experimental = self.experimental
        return result

    # -- answering -----------------------------------------------------------------------
    def _send_handler_result(self, future: Future[Any], *, msg_id: MsgId) -> None:
        """A deliberate error answer (the feature raised a JsonRpcException) is sent as is,
        without the traceback pygls would log for it."""
        self._cancel_hooks.pop(msg_id, None)
        if future.done() and not future.cancelled():
            exc = future.exception()
            if isinstance(exc, JsonRpcException) and not isinstance(exc, JsonRpcRequestCancelled):
                self._request_futures.pop(msg_id, None)
                log.info("request %s refused: %s", msg_id, exc.message)
                self._send_response(msg_id, error=exc.to_response_error())
                return
        super()._send_handler_result(future, msg_id=msg_id)

    # -- cancelling ----------------------------------------------------------------------
    def on_cancel(self, msg_id: MsgId | None, fn: Callable[[], None]) -> None:
        """Call `fn` when the client cancels request `msg_id` (`$/cancelRequest`)."""
        if msg_id is not None:
            self._cancel_hooks.setdefault(msg_id, []).append(fn)

    def _handle_cancel_notification(self, msg_id: MsgId) -> None:
        hooks = self._cancel_hooks.pop(msg_id, [])  # before the answer drops them
        super()._handle_cancel_notification(msg_id)
        for fn in hooks:
            try:
                fn()
            except Exception:
                log.exception("stopping cancelled request %s failed", msg_id)
