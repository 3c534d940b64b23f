"""Quick fixes: the engine's `fixes_for` on a diagnostic's `data`, as LSP code actions.

The diagnostic comes back from the client with the `data` the engine attached, but its range
cannot be trusted (Neovim 0.7 echoes byte columns; a client may echo a diagnostic of an older
version): it is matched to the server's own diagnostic of the current text (same code, data
and line) and the fix is built from that one's span; `fixes_for` then checks the text under
it. No match, no fix.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from arcgraph.engine.diagnostics import Diagnostic
from arcgraph.engine.fixes import Fix, fixes_for
from arcgraph.lsp import convert
from arcgraph.lsp.document import DocumentView, view_or_none
from arcgraph.lsp.feature import on
from arcgraph.lsp.train import TrainFeature

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer


class CodeActionsFeature:
    def __init__(self, server: ArcGraphServer) -> None:
        self.server = server

    def register(self, server: ArcGraphServer) -> None:
        on(
            server,
            types.TEXT_DOCUMENT_CODE_ACTION,
            self.actions,
            types.CodeActionOptions(
                code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.Source]
            ),
        )

    def actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        only = [str(k) for k in params.context.only or []]
        doc = view_or_none(self.server, params.text_document.uri)
        if doc is None:  # not open (or closed meanwhile): nothing, not an error
            return []
        out: list[types.CodeAction] = []
        train = None
        if not only or any(k.startswith(types.CodeActionKind.Source) for k in only):
            train = TrainFeature.code_action(doc.uri, doc.text)
        if only and not any(k.startswith(types.CodeActionKind.QuickFix) for k in only):
            return [train] if train is not None else []
        caps = self.server.client_capabilities
        echoed = [
            d
            for d in params.context.diagnostics
            if d.source == convert.SOURCE and isinstance(d.data, dict) and d.data.get("fix")
        ]
        own = self._fixable(doc) if echoed else []
        for lsp_diag in echoed:
            d = _match(doc, lsp_diag, own)
            if d is None:
                continue  # not (or no longer) a diagnostic of this text
            for fix in fixes_for(doc.text, d):
                edits = [
                    types.TextEdit(
                        doc.range(
                            e.span.start_line, e.span.start_col, e.span.end_col, e.span.end_line
                        ),
                        e.new_text,
                    )
                    for e in fix.edits
                ]
                if fix.creates:
                    action = _creating_action(caps, doc, fix, edits, lsp_diag)
                    if action is not None:
                        out.append(action)
                    continue
                out.append(
                    types.CodeAction(
                        title=fix.title,
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[lsp_diag],
                        is_preferred=fix.preferred,
                        edit=convert.workspace_edit(caps, doc.uri, doc.version, edits),
                    )
                )
        if train is not None:  # after the fixes: the lightbulb's first entry stays a fix
            out.append(train)
        return out

    def _fixable(self, doc: DocumentView) -> list[Diagnostic]:
        """The diagnostics of the current text that carry a fix: the structure check's, and
        the torch stage's last result when it is for this text (AG216 offers an optimizer)."""
        engine = self.server.index.engine
        a = engine.analyze(doc.path, doc.text)
        structure = engine.check_structure(a)
        found = structure + self.server.diagnostics.torch_diagnostics(doc, a, structure)
        return [d for d in found if isinstance(d.data, dict) and d.data.get("fix")]


def _can_create_files(caps: types.ClientCapabilities) -> bool:
    """The client applies CreateFile operations. They exist only in `documentChanges`, so a
    client that names `create` in resourceOperations takes those (Neovim does, though it
    does not say `documentChanges: true`)."""
    ws = caps.workspace.workspace_edit if caps.workspace else None
    return ws is not None and types.ResourceOperationKind.Create in (ws.resource_operations or [])


def _creating_action(
    caps: types.ClientCapabilities,
    doc: DocumentView,
    fix: Fix,
    edits: list[types.TextEdit],
    lsp_diag: types.Diagnostic,
) -> types.CodeAction | None:
    """A fix that creates files: this document's edits, then each new file created and
    filled (CreateFile + an edit of it). A client that cannot create files is told so where
    it shows disabled actions; else the action is left out."""
    if not _can_create_files(caps):
        ca = caps.text_document.code_action if caps.text_document else None
        if ca is None or not ca.disabled_support:
            return None
        return types.CodeAction(
            title=fix.title,
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[lsp_diag],
            disabled=types.CodeActionDisabled(
                reason="this editor does not let a quick fix create files"
                " (workspace.workspaceEdit.resourceOperations lacks 'create'); split by hand"
            ),
        )
    own = types.OptionalVersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version)
    changes: list[Any] = [types.TextDocumentEdit(text_document=own, edits=list(edits))]
    for new in fix.creates:
        uri = convert.path_to_uri(new.path)
        start = types.Position(line=0, character=0)
        changes += [
            types.CreateFile(
                uri=uri, options=types.CreateFileOptions(overwrite=False, ignore_if_exists=False)
            ),
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                edits=[
                    types.TextEdit(range=types.Range(start=start, end=start), new_text=new.text)
                ],
            ),
        ]
    return types.CodeAction(
        title=fix.title,
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[lsp_diag],
        edit=types.WorkspaceEdit(document_changes=changes),
    )


def _plain(data: Any) -> Any:
    """`data` as JSON gives it back (tuples are lists), to compare the client's echo."""
    return json.loads(json.dumps(data, sort_keys=True, default=str))


def _match(doc: DocumentView, echoed: types.Diagnostic, own: list[Diagnostic]) -> Diagnostic | None:
    """The server's diagnostic the client echoed: same code, data and first line; where a
    line has several, the one whose range (in the negotiated units) is the echoed one."""
    data = _plain(echoed.data)
    line = echoed.range.start.line
    found = [
        d
        for d in own
        if d.code == str(echoed.code) and d.span.start_line == line and _plain(d.data) == data
    ]
    if len(found) > 1:
        found = [
            d
            for d in found
            if doc.range(d.span.start_line, d.span.start_col, d.span.end_col, d.span.end_line)
            == echoed.range
        ]
    return found[0] if len(found) == 1 else None
