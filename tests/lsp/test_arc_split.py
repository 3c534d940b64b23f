"""The split of an Arc unified file as a code action over stdio (issue 11): a WorkspaceEdit
that edits the file and creates the trainer spec where the client creates files, a disabled
action saying why where it cannot; hover and completion still work in such a file."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from .conftest import RecordingClient, capabilities_of, start_client, stop_client, uri_of
from .test_features import apply

pytestmark = pytest.mark.asyncio(loop_scope="module")

UNIFIED = (
    "inputs:\n"
    "  features: {dtype: float32, shape: [null, 3], columns: [a, b, c]}\n"
    "graph:\n"
    "  - {name: fc, type: torch.nn.Linear, params: {in_features: 3, out_features: 1},"
    " inputs: {input: features}}\n"
    "outputs:\n"
    "  prediction: fc.output\n"
    "# Arc trains it so\n"
    "training:\n"
    "  loss:  # regression\n"
    "    type: torch.nn.functional.mse_loss\n"
    "    inputs: {input: prediction, target: y}\n"
    "  optimizer: {type: torch.optim.Adam, lr: 0.01}\n"
    "  epochs: 2\n"
    "  batch_size: 4\n"
)
MODEL_AFTER = UNIFIED[: UNIFIED.index("# Arc trains it so\n")] + (
    "loss:  # regression\n"
    "  type: torch.nn.functional.mse_loss\n"
    "  inputs: {input: prediction, target: y}\n"
)
TRAINER_AFTER = (
    "# Trainer spec split from split-v1.yaml (Arc unified spec) by arcgraph.\n"
    "model_ref: split-v1\n"
    "# Arc trains it so\n"
    "optimizer: {type: torch.optim.Adam, lr: 0.01}\n"
    "config:\n"
    "  epochs: 2\n"
    "  batch_size: 4\n"
    "  shuffle: true  # added by the split: the trainer spec requires it\n"
    "  validation_split: 0.2  # added by the split: the trainer spec requires it\n"
)


async def _split_action(
    client: RecordingClient, uri: str
) -> tuple[types.Diagnostic, list[types.CodeAction]]:
    client.open(uri, UNIFIED)
    diags = await client.wait_for_diagnostics(uri, 1, lambda d: any(x.code == "AG119" for x in d))
    (unified,) = [d for d in diags if d.code == "AG119"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri),
            unified.range,
            types.CodeActionContext(diagnostics=[unified], only=[types.CodeActionKind.QuickFix]),
        )
    )
    assert actions is not None
    return unified, [a for a in actions if isinstance(a, types.CodeAction)]


async def test_split_creates_the_trainer_spec_in_vs_code(cache_dir: Path, tmp_path: Path):
    client = await start_client(cache_dir, tmp_path, "visual-studio-code@v1.65.2")
    try:
        path = tmp_path / "split-v1.yaml"
        path.write_text(UNIFIED)
        uri = uri_of(path)
        unified, actions = await _split_action(client, uri)
        assert unified.range == types.Range(types.Position(7, 0), types.Position(7, 8))
        assert unified.severity == types.DiagnosticSeverity.Information
        (split,) = actions
        assert split.title == "Split into a model spec and a trainer spec (split-v1.trainer.yaml)"
        assert split.kind == types.CodeActionKind.QuickFix and split.disabled is None
        assert split.edit is not None and split.edit.changes is None
        own, create, fill = split.edit.document_changes or []
        assert isinstance(own, types.TextDocumentEdit)
        assert (own.text_document.uri, own.text_document.version) == (uri, 1)
        assert apply(UNIFIED, list(own.edits)) == MODEL_AFTER
        trainer_uri = uri_of(tmp_path / "split-v1.trainer.yaml")
        assert isinstance(create, types.CreateFile) and create.uri == trainer_uri
        assert create.options == types.CreateFileOptions(overwrite=False, ignore_if_exists=False)
        assert isinstance(fill, types.TextDocumentEdit)
        assert (fill.text_document.uri, fill.text_document.version) == (trainer_uri, None)
        assert apply("", list(fill.edits)) == TRAINER_AFTER

        # hover and completion still answer in a unified file
        hover = await client.text_document_hover_async(
            types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(2, 2))
        )
        assert hover is not None and "graph" in str(hover.contents).lower()
        assert (
            await client.text_document_hover_async(
                types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(7, 2))
            )
            is None
        )  # `training`: no spec key, nothing to say
        done = await client.text_document_completion_async(
            types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(14, 0))
        )
        labels = [
            i.label for i in (done.items if isinstance(done, types.CompletionList) else done or [])
        ]
        assert "modules" in labels
    finally:
        await stop_client(client)


async def test_split_is_disabled_where_the_client_cannot_create_files(
    cache_dir: Path, tmp_path: Path
):
    caps = capabilities_of("visual-studio-code@v1.65.2")
    assert caps.workspace is not None and caps.workspace.workspace_edit is not None
    caps.workspace.workspace_edit.resource_operations = []
    client = await start_client(cache_dir, tmp_path, caps)
    try:
        path = tmp_path / "split-v1.yaml"
        path.write_text(UNIFIED)
        _, actions = await _split_action(client, uri_of(path))
        (split,) = actions
        assert split.edit is None
        assert split.disabled == types.CodeActionDisabled(
            reason="this editor does not let a quick fix create files"
            " (workspace.workspaceEdit.resourceOperations lacks 'create'); split by hand"
        )
    finally:
        await stop_client(client)
