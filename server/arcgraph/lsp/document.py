"""A snapshot of one open document, as the features read it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Container
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from arcgraph.engine.kinds import SpecKind
from arcgraph.lsp import convert, specpaths
from arcgraph.lsp.outline import Outline, OutlineState

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer


class OutlineCache:
    """The last outline state of each document, by URI (one per server: `server.outlines`).

    Requests on one text share one scan (completion and hover on a 5,000-line spec would
    otherwise rescan it every time); the next text is an `update` of the last one, which
    rescans only around the changed lines. Keyed by the text itself, not the version: the
    answer depends on nothing else, and a reopened document may reuse version numbers."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._states: OrderedDict[str, OutlineState] = OrderedDict()
        self._lock = threading.Lock()  # diagnostics may read documents from other threads

    def get(self, uri: str, text: str) -> OutlineState:
        with self._lock:
            state = self._states.get(uri)
            # an update returns the state itself when the text is the same
            state = OutlineState.scan(text) if state is None else state.update(text)
            self._states[uri] = state
            self._states.move_to_end(uri)
            while len(self._states) > self.size:
                self._states.popitem(last=False)
            return state

    def peek(self, uri: str, text: str) -> OutlineState | None:
        """The state of exactly this text, if kept (never scans)."""
        with self._lock:
            state = self._states.get(uri)
        return state if state is not None and (state.text is text or state.text == text) else None

    def retain(self, uris: Container[str]) -> None:
        """Forget the documents no longer open."""
        with self._lock:
            for uri in [u for u in self._states if u not in uris]:
                del self._states[uri]

    def clear(self) -> None:
        with self._lock:
            self._states.clear()


@dataclass
class DocumentView:
    uri: str
    path: Path
    text: str
    version: int | None
    encoding: str  # "utf-16" (the LSP default), "utf-8" or "utf-32"
    # the outline cache this view reads and feeds: its server's (a view made alone: its own)
    outlines: OutlineCache = field(default_factory=OutlineCache, repr=False, compare=False)

    @cached_property
    def lines(self) -> list[str]:
        kept = self.outlines.peek(self.uri, self.text)
        return kept.lines if kept is not None else convert.split_lines(self.text)

    def position(self, pos: types.Position) -> tuple[int, int]:
        """An LSP position -> (line, code-point column)."""
        return convert.from_position(self.lines, pos, self.encoding)

    def range(self, line: int, start: int, end: int, end_line: int | None = None) -> types.Range:
        return types.Range(
            convert.to_position(self.lines, line, start, self.encoding),
            convert.to_position(
                self.lines, line if end_line is None else end_line, end, self.encoding
            ),
        )

    @cached_property
    def state(self) -> OutlineState:
        """This text's outline state, shared with every request on the same text."""
        state = self.outlines.get(self.uri, self.text)
        self.__dict__["lines"] = state.lines  # the same split, kept once
        return state

    def outline_at(self, pos: types.Position) -> Outline:
        state = self.state
        return state.at(self.position(pos))

    @cached_property
    def outline(self) -> Outline:
        return self.state.outline

    @cached_property
    def kind(self) -> SpecKind:
        """The spec kind (file name, else the top-level keys), once per text and path."""
        key = ("kind", str(self.path))
        memo = self.state.memo
        if key not in memo:
            memo[key] = specpaths.kind_of(self.path, self.text)
        kind = memo[key]
        assert isinstance(kind, SpecKind)
        return kind


def view_of(server: ArcGraphServer, uri: str) -> DocumentView:
    """The open document `uri` of the server."""
    doc = server.workspace.get_text_document(uri)
    path = Path(doc.path) if doc.path else Path(uri)
    outlines: OutlineCache = server.outlines
    outlines.retain(server.workspace.text_documents)
    return DocumentView(
        uri,
        path,
        doc.source,
        doc.version,
        convert.normalize_encoding(server.workspace.position_encoding),
        outlines,
    )


def view_or_none(server: ArcGraphServer, uri: str) -> DocumentView | None:
    """The open document `uri`, or None when the client has not opened it (or closed it):
    requests about such documents answer empty results, never errors."""
    if uri not in server.workspace.text_documents:
        return None
    return view_of(server, uri)
