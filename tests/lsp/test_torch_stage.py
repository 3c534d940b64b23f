"""The torch stage over LSP: probes, stale work dropped, the catalog built in the background,
and model files changed outside the editor."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from .conftest import start_client, stop_client, uri_of

pytestmark = pytest.mark.asyncio(loop_scope="function")

NESTEROV = """\
model_ref: iris-classifier-v1
optimizer:
  type: torch.optim.SGD
  lr: 0.01
  params:
    nesterov: true
config:
  epochs: 10
  batch_size: 16
  validation_split: 0.2
  shuffle: true
"""


@pytest.fixture
def torch_needed(has_catalog: bool) -> None:
    if not has_catalog:
        pytest.skip("torch is not installed")


async def test_probe_diagnostic_and_stale_versions(
    cache_dir: Path, workspace: Path, torch_needed: None
):
    c = await start_client(cache_dir, workspace, options={"probes": True})
    try:
        uri = uri_of(workspace / "trainers" / "probe.trainer.yaml")
        c.open(uri, NESTEROV)
        # stage 1 at once: no structure problem; stage 2: torch's own words
        diags = await c.wait_for_diagnostics(uri, 1, lambda d: len(d) > 0, timeout=60)
        assert [(d.code, d.message, d.range) for d in diags] == [
            (
                "AG213",
                "torch.optim.SGD rejects these values: "
                "Nesterov momentum requires a momentum and zero dampening",
                types.Range(types.Position(5, 4), types.Position(5, 12)),
            )
        ]
        first = c.published_for(uri)[0]
        assert first.version == 1 and list(first.diagnostics) == []

        # two quick edits while probes are pending: nothing older is published after v3
        fixed = NESTEROV.replace("nesterov: true", "nesterov: true\n    momentum: 0.9")
        c.replace(uri, NESTEROV.replace("lr: 0.01", "lr: 0.02"), 2)
        c.replace(uri, fixed, 3)
        await c.wait_idle()  # every probe done: nothing older can come after v3 any more
        sent = c.published_for(uri)
        after = sent[next(i for i, p in enumerate(sent) if p.version == 3) :]
        assert {p.version for p in after} == {3}
        assert list(sent[-1].diagnostics) == []
        versions = [p.version for p in sent]
        assert versions == sorted(versions)
    finally:
        await stop_client(c)


async def test_catalog_built_in_background(tmp_path: Path, workspace: Path, torch_needed: None):
    """No cached catalog: structure first, then the catalog's checks once it is built."""
    empty_cache = tmp_path / "cache"
    empty_cache.mkdir()
    c = await start_client(empty_cache, workspace)
    try:
        uri = uri_of(workspace / "trainers" / "adamm.trainer.yaml")
        c.open(uri, NESTEROV.replace("SGD", "Adamm").replace("nesterov", "amsgrad"))
        diags = await c.wait_for_diagnostics(
            uri, 1, lambda d: any(x.code == "AG210" for x in d), timeout=120
        )
        assert [d.code for d in diags] == ["AG210"]
        assert list(empty_cache.glob("catalog-*.json"))  # and it is cached for next time
    finally:
        await stop_client(c)


async def test_watched_model_file_created(cache_dir: Path, workspace: Path):
    c = await start_client(cache_dir, workspace)
    try:
        await c.wait_for(lambda: c.registrations, what="the file watcher registration")
        assert [r.method for r in c.registrations] == [types.WORKSPACE_DID_CHANGE_WATCHED_FILES]
        uri = uri_of(workspace / "trainers" / "watch.trainer.yaml")
        text = NESTEROV.replace("iris-classifier-v1", "fresh-model-v1").replace(
            "    nesterov: true\n", "    momentum: 0.9\n"
        )
        c.open(uri, text)
        await c.wait_for_diagnostics(uri, 1, lambda d: [x.code for x in d] == ["AG201"])
        seen = c.count(uri)
        model = workspace / "models" / "fresh-model-v1.model.yaml"
        src = workspace / "models" / "iris-classifier-v1.model.yaml"
        model.write_text(src.read_text())
        try:
            c.workspace_did_change_watched_files(
                types.DidChangeWatchedFilesParams(
                    [types.FileEvent(uri_of(model), types.FileChangeType.Created)]
                )
            )
            await c.wait_for_diagnostics(uri, 1, lambda d: d == [], after=seen)
        finally:
            model.unlink()
        seen = c.count(uri)
        c.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                [types.FileEvent(uri_of(model), types.FileChangeType.Deleted)]
            )
        )
        await c.wait_for_diagnostics(uri, 1, lambda d: [x.code for x in d] == ["AG201"], after=seen)
    finally:
        await stop_client(c)


async def test_workspace_folder_added(cache_dir: Path, workspace: Path, tmp_path: Path):
    """A folder added later is scanned, and open trainers are checked again against it."""
    ws = tmp_path / "ws"
    (ws / "trainers").mkdir(parents=True)
    (ws / ".git").mkdir()  # the workspace root: no models/ folder yet
    models = tmp_path / "more-models"
    models.mkdir()
    src = workspace / "models" / "iris-classifier-v1.model.yaml"
    (models / "iris-classifier-v1.model.yaml").write_text(src.read_text())
    c = await start_client(cache_dir, ws)
    try:
        uri = uri_of(ws / "trainers" / "t.trainer.yaml")
        c.open(uri, NESTEROV.replace("    nesterov: true\n", "    momentum: 0.9\n"))
        await c.wait_for_diagnostics(uri, 1, lambda d: [x.code for x in d] == ["AG201"])
        seen = c.count(uri)
        c.workspace_did_change_workspace_folders(
            types.DidChangeWorkspaceFoldersParams(
                types.WorkspaceFoldersChangeEvent(
                    added=[types.WorkspaceFolder(uri_of(models), "models")], removed=[]
                )
            )
        )
        await c.wait_for_diagnostics(uri, 1, lambda d: d == [], after=seen)
    finally:
        await stop_client(c)


async def test_configuration_change_switches_interpreter(
    cache_dir: Path, workspace: Path, torch_needed: None
):
    """From a Python without torch to this one: the AG400 info goes, catalog checks come."""
    import sys

    c = await start_client(cache_dir, workspace, options={"interpreter": str(workspace / "nopy")})
    try:
        uri = uri_of(workspace / "trainers" / "config.trainer.yaml")
        text = NESTEROV.replace("SGD", "Adamm").replace("nesterov", "amsgrad")
        c.open(uri, text)
        await c.wait_for_diagnostics(uri, 1, lambda d: [x.code for x in d] == ["AG400"])
        seen = c.count(uri)
        c.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(
                settings={"arcgraph": {"interpreter": sys.executable, "probes": False}}
            )
        )
        diags = await c.wait_for_diagnostics(
            uri, 1, lambda d: [x.code for x in d] == ["AG210"], after=seen
        )
        assert diags[0].range == types.Range(types.Position(2, 8), types.Position(2, 25))
    finally:
        await stop_client(c)


async def test_registry_settings_at_start_and_on_change(cache_dir: Path, workspace: Path):
    """registry.include from initializationOptions, then widened by didChangeConfiguration."""
    plain = workspace / "models" / "plain-model-v1.yaml"
    plain.write_text((workspace / "models" / "iris-classifier-v1.model.yaml").read_text())
    options = {"arcgraph": {"probes": False, "registry": {"include": ["**/*.model.yaml"]}}}
    c = await start_client(cache_dir, workspace, options=options)
    try:
        uri = uri_of(workspace / "trainers" / "plain.trainer.yaml")
        text = NESTEROV.replace("iris-classifier-v1", "plain-model-v1").replace(
            "    nesterov: true\n", "    momentum: 0.9\n"
        )
        c.open(uri, text)
        await c.wait_for_diagnostics(uri, 1, lambda d: [x.code for x in d] == ["AG201"])
        seen = c.count(uri)
        c.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(
                settings={"arcgraph": {"interpreter": "", "registry": {"include": ["*.yaml"]}}}
            )
        )
        await c.wait_for_diagnostics(uri, 1, lambda d: d == [], after=seen)
    finally:
        await stop_client(c)
        plain.unlink()


MUON = NESTEROV.replace("torch.optim.SGD", "torch.optim.Muon").replace(
    "  params:\n    nesterov: true\n", ""
)


async def test_a_torch_stage_diagnostic_offers_its_quick_fix(
    cache_dir: Path, workspace: Path, torch_needed: None
):
    """AG216 (from the worker's optimizer probe) carries a fix: the code action is built from
    the torch stage's own result for this text, as for structure diagnostics."""
    from .conftest import text_edits
    from .test_features import apply

    c = await start_client(cache_dir, workspace, options={"probes": True})
    try:
        uri = uri_of(workspace / "trainers" / "muon.trainer.yaml")
        c.open(uri, MUON)
        diags = await c.wait_for_diagnostics(
            uri, 1, lambda d: any(x.code == "AG216" for x in d), timeout=60
        )
        ag216 = [d for d in diags if d.code == "AG216"]
        actions = await c.text_document_code_action_async(
            types.CodeActionParams(
                types.TextDocumentIdentifier(uri),
                ag216[0].range,
                types.CodeActionContext(diagnostics=ag216),
            )
        )
        fixes = [a for a in actions if isinstance(a, types.CodeAction) and a.edit is not None]
        assert [a.title for a in fixes] == ["Change to 'torch.optim.AdamW'"]
        fixed = apply(MUON, text_edits(c, fixes[0].edit, uri, 1))
        assert fixed == MUON.replace("torch.optim.Muon", "torch.optim.AdamW")
    finally:
        await stop_client(c)
