"""A snapshot of one open document, as the features read it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from lsprotocol import types

from arcgraph.lsp import convert
from arcgraph.lsp.outline import Outline, outline


@dataclass
class DocumentView:
    uri: str
    path: Path
    text: str
    version: int | None
    encoding: str  # "utf-16" (the LSP default), "utf-8" or "utf-32"

    @cached_property
    def lines(self) -> list[str]:
        return convert.split_lines(self.text)

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

    def outline_at(self, pos: types.Position) -> Outline:
        return outline(self.text, self.position(pos))

    @cached_property
    def outline(self) -> Outline:
        return outline(self.text)


def view_of(server: Any, uri: str) -> DocumentView:
    """The open document `uri` of a server (a pygls LanguageServer)."""
    doc = server.workspace.get_text_document(uri)
    path = Path(doc.path) if doc.path else Path(uri)
    return DocumentView(
        uri,
        path,
        doc.source,
        doc.version,
        convert.normalize_encoding(server.workspace.position_encoding),
    )


def view_or_none(server: Any, uri: str) -> DocumentView | None:
    """The open document `uri`, or None when the client has not opened it (or closed it):
    requests about such documents answer empty results, never errors."""
    if uri not in server.workspace.text_documents:
        return None
    return view_of(server, uri)
