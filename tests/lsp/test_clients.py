"""Every client converges with no edit: the recorded capability sets of Neovim 0.7, 0.10, 0.11,
VS Code 1.65.2 and VS Code as the extension runs it (languageclient 9: pull with refresh).

Each test reads diagnostics the way that editor does: pushed ones as they come, pulled ones
once per open or change and again only when the server sends `workspace/diagnostic/refresh`
(`pull_on_events`), so results that change without an edit must be delivered by the server.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types

from .conftest import EDITORS, capabilities_of, rng, start_client, stop_client, uri_of

pytestmark = pytest.mark.asyncio(loop_scope="function")

TRAINER = """\
model_ref: {model}
optimizer:
  type: torch.optim.SGD
  lr: 0.01
  params:
    {param}: 0.9
config:
  epochs: 10
  batch_size: 16
  validation_split: 0.2
  shuffle: true
"""

MOMENTUN = (
    "AG211",
    "unknown parameter 'momentun' for torch.optim.SGD; did you mean 'momentum'?",
    rng(5, 4, 5, 12),
)


def _slug(editor: str) -> str:
    return editor.replace("@", "-").replace(".", "-")


def _found(diags: list[types.Diagnostic]) -> list[tuple]:
    return [(d.code, d.message, d.range) for d in diags]


@pytest.mark.parametrize("editor", EDITORS)
async def test_trainer_opened_at_start_gets_the_catalog_diagnostic(
    cache_dir: Path, workspace: Path, has_catalog: bool, editor: str
):
    """Opened before the server has its settings (hence its catalog and registry): the first
    answer lacks AG211, and the client sees it later with no edit."""
    if not has_catalog:
        pytest.skip("torch is not installed")
    gate = asyncio.Event()
    c = await start_client(cache_dir, workspace, editor, configuration={}, configuration_gate=gate)
    c.pull_on_events = True
    try:
        uri = uri_of(workspace / "trainers" / f"start-{_slug(editor)}.trainer.yaml")
        c.open(uri, TRAINER.format(model="iris-classifier-v1", param="momentun"))
        await c.wait_for(lambda: c.count(uri) > 0, 30, "the first diagnostics")
        first = c.published_for(uri)[0]
        # the first answer comes before the catalog is there (0.7 asks for no configuration:
        # its server has the catalog before the document opens)
        assert (first.version, MOMENTUN in _found(first.diagnostics)) == (
            1,
            editor == "neovim@v0.7.0",
        )
        gate.set()
        diags = await c.wait_for_diagnostics(uri, 1, lambda d: _found(d) == [MOMENTUN])
        assert _found(diags) == [MOMENTUN]
    finally:
        await stop_client(c)


@pytest.mark.parametrize("editor", EDITORS)
async def test_model_file_created_on_disk_clears_model_not_found(
    cache_dir: Path, workspace: Path, editor: str
):
    """The model file appears outside the editor: VS Code's watcher tells the server; for
    Neovim (no watcher registration) the server watches the workspace itself."""
    c = await start_client(cache_dir, workspace, editor)
    c.pull_on_events = True
    try:
        model_id = f"later-{_slug(editor)}-v1"
        uri = uri_of(workspace / "trainers" / f"later-{_slug(editor)}.trainer.yaml")
        c.open(uri, TRAINER.format(model=model_id, param="momentum"))
        diags = await c.wait_for_diagnostics(uri, 1, lambda d: len(d) > 0)
        assert [(d.code, d.range) for d in diags] == [("AG201", rng(0, 11, 0, 11 + len(model_id)))]
        assert diags[0].message.startswith(
            f"model_ref '{model_id}' names no model in the workspace"
        )

        watcher = [
            r for r in c.registrations if r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
        ]
        caps = capabilities_of(editor).workspace
        dynamic = caps.did_change_watched_files if caps is not None else None
        assert len(watcher) == (1 if dynamic and dynamic.dynamic_registration else 0)

        seen = c.count(uri)
        model = workspace / "models" / f"{model_id}.model.yaml"
        model.write_text((workspace / "models" / "iris-classifier-v1.model.yaml").read_text())
        if watcher:  # what VS Code does for a registered watcher
            c.workspace_did_change_watched_files(
                types.DidChangeWatchedFilesParams(
                    [types.FileEvent(uri_of(model), types.FileChangeType.Created)]
                )
            )
        assert await c.wait_for_diagnostics(uri, 1, lambda d: d == [], after=seen) == []

        # and gone again: model not found once more
        seen = c.count(uri)
        model.unlink()
        if watcher:
            c.workspace_did_change_watched_files(
                types.DidChangeWatchedFilesParams(
                    [types.FileEvent(uri_of(model), types.FileChangeType.Deleted)]
                )
            )
        diags = await c.wait_for_diagnostics(uri, 1, lambda d: len(d) > 0, after=seen)
        assert [d.code for d in diags] == ["AG201"]
    finally:
        await stop_client(c)


@pytest.mark.parametrize("editor", EDITORS)
async def test_code_lens_refresh_only_when_advertised(
    cache_dir: Path, workspace: Path, tmp_path: Path, editor: str
):
    """A Train run ends (here: bad data, at once): the lenses are refreshed only for clients
    that advertised `workspace.codeLens.refreshSupport`."""
    pytest.importorskip("torch")
    bad = tmp_path / "bad.csv"
    bad.write_text("sepal_length,sepal_width,petal_length,petal_width,species\n1,2,x,4,setosa\n")
    trainer = workspace / "trainers" / f"lens-{_slug(editor)}.trainer.yaml"
    trainer.write_text(TRAINER.format(model="iris-classifier-v1", param="momentum"))
    c = await start_client(cache_dir, workspace, editor)
    try:
        result = await c.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="arcgraph.train",
                arguments=[{"trainer": uri_of(trainer), "data": str(bad)}],
            )
        )
        assert result["status"] == "error"
        # one more round trip: whatever the server sent before its answer has arrived
        await c.workspace_execute_command_async(
            types.ExecuteCommandParams(command="arcgraph.train", arguments=[{}])
        )
        caps = capabilities_of(editor).workspace
        lens = caps.code_lens if caps is not None else None
        assert c.code_lens_refresh_count == (1 if lens and lens.refresh_support else 0)
    finally:
        await stop_client(c)
