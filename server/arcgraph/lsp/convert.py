"""Engine values <-> LSP values: code-point columns <-> the client's position encoding.

The engine counts columns in code points (Python string indices); LSP clients count in
UTF-16 code units unless they negotiated UTF-8 or UTF-32. Every conversion goes through the
line's text, so a line with an emoji or a CJK character still underlines the right word.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pygls import uris
from pygls.workspace import PositionCodec

from arcgraph.engine import codes
from arcgraph.engine.diagnostics import Diagnostic, Span

SOURCE = "arcgraph"
UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"


def normalize_encoding(encoding: object) -> str:
    """A PositionEncodingKind (or None: the LSP default) -> "utf-8" | "utf-16" | "utf-32"."""
    value = str(getattr(encoding, "value", encoding) or UTF16).lower()
    return value if value in (UTF8, UTF16, UTF32) else UTF16


# pygls's codecs (its workspace uses the same) count the units; keyed by normalize_encoding.
_CODECS = {e: PositionCodec(e) for e in (UTF8, UTF16, UTF32)}


def to_position(lines: list[str], line: int, col: int, encoding: str = UTF16) -> types.Position:
    """A code-point (line, column) -> an LSP position (past the line's end: its end, as LSP
    clients read any character beyond a line)."""
    return _CODECS[encoding].position_to_client_units(lines, types.Position(line, col))


def to_range(lines: list[str], span: Span, encoding: str = UTF16) -> types.Range:
    return types.Range(
        to_position(lines, span.start_line, span.start_col, encoding),
        to_position(lines, span.end_line, span.end_col, encoding),
    )


def from_position(lines: list[str], pos: types.Position, encoding: str = UTF16) -> tuple[int, int]:
    """An LSP position -> (line, code-point column); inside a surrogate pair: the character
    after; past the line's end: its end; a line past the text: as given."""
    if not 0 <= pos.line < len(lines):
        return pos.line, pos.character
    codec = _CODECS[encoding]
    # clamped here: pygls maps a character past the end to one before the end, and it
    # writes the clamp into the position it is given (the request's own)
    units = min(pos.character, codec.client_num_units(lines[pos.line]))
    server = codec.position_from_client_units(lines, types.Position(pos.line, units))
    return server.line, server.character


def split_lines(text: str) -> list[str]:
    """Lines as the engine counts them (\\n; a \\r before it is part of no column)."""
    return [ln.removesuffix("\r") for ln in text.split("\n")]


def path_to_uri(path: str | Path) -> str:
    return uris.from_fs_path(str(path)) or Path(path).as_uri()


def uri_to_path(uri: str) -> Path | None:
    fs = uris.to_fs_path(uri)
    return Path(fs) if fs else None


def to_lsp_diagnostic(
    d: Diagnostic,
    lines: list[str],
    encoding: str = UTF16,
    related_lines: dict[str, list[str]] | None = None,
) -> types.Diagnostic:
    """An engine diagnostic -> an LSP one: code, doc link, source, related places, fix data.

    `related_lines` gives the text of other files (by path) so their spans convert exactly;
    a place in the diagnostic's own file uses `lines` (the open document, maybe unsaved or
    edited since); another file not given is read from the disk, or counted as code points
    if unreadable."""
    related = None
    if d.related:
        related = []
        for r in d.related:
            other = lines if r.path == d.path else (related_lines or {}).get(r.path)
            if other is None:
                other = _read_lines(r.path)
            related.append(
                types.DiagnosticRelatedInformation(
                    types.Location(path_to_uri(r.path), to_range(other, r.span, encoding)),
                    r.message,
                )
            )
    return types.Diagnostic(
        range=to_range(lines, d.span, encoding),
        message=d.message,
        severity=types.DiagnosticSeverity(int(d.severity)),
        code=d.code,
        code_description=types.CodeDescription(href=codes.doc_link(d.code)),
        source=SOURCE,
        related_information=related,
        data=d.data,
    )


def _read_lines(path: str) -> list[str]:
    try:
        return split_lines(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return []


def workspace_edit(
    capabilities: types.ClientCapabilities,
    uri: str,
    version: int | None,
    edits: list[types.TextEdit],
) -> types.WorkspaceEdit:
    """Edits of one open document: as a versioned `documentChanges` entry where the client
    supports it (it then refuses to apply them to a newer version of the document), else as
    plain `changes`."""
    ws = capabilities.workspace
    versioned = bool(ws and ws.workspace_edit and ws.workspace_edit.document_changes)
    if not versioned:
        return types.WorkspaceEdit(changes={uri: edits})
    ident = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
    return types.WorkspaceEdit(
        document_changes=[types.TextDocumentEdit(text_document=ident, edits=list(edits))]
    )
