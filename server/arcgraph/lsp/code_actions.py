"""Quick fixes: the engine's `fixes_for` on a diagnostic's `data`, as LSP code actions.

The diagnostic comes back from the client with its range in the client's units and the
`data` the engine attached; it is turned back into an engine diagnostic on the current text,
and each fix's edits into LSP text edits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from arcgraph.diagnostics import Diagnostic, Span
from arcgraph.fixes import fixes_for
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
        for lsp_diag in params.context.diagnostics:
            if lsp_diag.source != convert.SOURCE or not isinstance(lsp_diag.data, dict):
                continue
            d = self._engine_diagnostic(doc, lsp_diag)
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

    @staticmethod
    def _engine_diagnostic(doc: DocumentView, d: types.Diagnostic) -> Diagnostic:
        l1, c1 = doc.position(d.range.start)
        l2, c2 = doc.position(d.range.end)
        return Diagnostic(
            str(d.code), d.message, Span(l1, c1, l2, c2), path=str(doc.path), data=dict(d.data)
        )
