"""How diagnostics reach the client: pull or push (one model per client, never both),
coalesced checks for bursts of edits, and settings through `workspace/configuration`."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import client_capabilities

from .conftest import REPO, rng, start_client, stop_client, uri_of

pytestmark = pytest.mark.asyncio(loop_scope="function")

TRAINER = """\
model_ref: iris-classifier-v1
optimizer:
  type: torch.optim.Adam
  lr: 0.01
config:
  epochs: 10
  batch_size: 16
  validation_split: 0.2
  shuffle: true
  devise: cpu
"""

TYPO = ("AG111", "unknown key 'devise' in config; did you mean 'device'?")


def big_model_spec(lines: int) -> str:
    spec = importlib.util.spec_from_file_location("make_specs", REPO / "bench" / "make_specs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.big_model_spec(lines)


async def test_pull_client_gets_pull_only(cache_dir: Path, workspace: Path):
    """VS Code (languageclient 9) offers textDocument.diagnostic with refresh: full reports,
    no pushes."""
    c = await start_client(cache_dir, workspace, "vscode-languageclient-9")
    try:
        assert c.pull
        assert c.server_caps is not None
        assert c.server_caps.diagnostic_provider == types.DiagnosticOptions(
            identifier="arcgraph", inter_file_dependencies=True, workspace_diagnostics=False
        )
        uri = uri_of(workspace / "trainers" / "pull.trainer.yaml")
        c.open(uri, TRAINER)
        report = await c.pull_report(uri)
        assert report.version == 1
        assert [(d.code, d.message, d.range) for d in report.diagnostics] == [
            (*TYPO, rng(9, 2, 9, 8))
        ]
        c.edit(uri, 2, 9, 2, 8, "device")
        report = await c.pull_report(uri)
        assert (report.version, report.diagnostics) == (2, [])
        # a closed or unknown document: an empty full report, not an error
        c.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        )
        for gone in (uri, uri_of(workspace / "never-opened.yaml")):
            report = await c.pull_report(gone)
            assert (report.version, report.diagnostics) == (None, [])
        await c.wait_idle(pull=False)  # every check and torch stage done: a push would be in
        assert c.published == [] and c.pushed_in_pull_mode == 0
    finally:
        await stop_client(c)


async def test_pull_report_has_the_torch_stage(cache_dir: Path, workspace: Path):
    """The torch stage's result (here the AG400 info) is part of the report of its version."""
    nopy = workspace / "no-such-python"
    c = await start_client(
        cache_dir, workspace, "vscode-languageclient-9", options={"interpreter": str(nopy)}
    )
    try:
        uri = uri_of(workspace / "trainers" / "pull-torch.trainer.yaml")
        c.open(uri, TRAINER)
        diags = await c.wait_for_diagnostics(uri, 1, lambda d: len(d) == 2)
        assert [(d.code, d.range) for d in diags] == [
            ("AG400", rng(0, 0, 0, 29)),
            ("AG111", rng(9, 2, 9, 8)),
        ]
        assert c.pushed_in_pull_mode == 0
    finally:
        await stop_client(c)


async def test_pull_refresh_when_results_change_without_an_edit(cache_dir: Path, workspace: Path):
    """A client with refresh support is asked to pull again when the torch stage is done."""
    caps = client_capabilities("neovim")
    assert caps.workspace is not None
    caps.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
    nopy = workspace / "no-such-python"
    c = await start_client(cache_dir, workspace, caps, options={"interpreter": str(nopy)})
    try:
        assert c.pull
        uri = uri_of(workspace / "trainers" / "refresh.trainer.yaml")
        c.open(uri, TRAINER)
        # pull after each refresh, as an editor does, until the torch stage's result is in:
        # the registry scan and the catalog may each ask for a pull before it
        codes: list[object] = []
        for _ in range(5):
            seen = c.diagnostic_refresh_count
            await c.wait_for(lambda n=seen: c.diagnostic_refresh_count > n, 30, "a refresh")
            report = await c.pull_report(uri)
            codes = [d.code for d in report.diagnostics]
            if "AG400" in codes:
                break
        assert codes == ["AG400", "AG111"]
        assert c.pushed_in_pull_mode == 0
    finally:
        await stop_client(c)


@pytest.mark.parametrize(
    "profile, options",
    [
        ("visual-studio-code", {"probes": False}),
        ("neovim", {"probes": False}),
        ("vscode-languageclient-9", {"pullDiagnostics": False}),
    ],
)
async def test_push_clients(cache_dir: Path, workspace: Path, profile: str, options: dict):
    """No textDocument.diagnostic, pull without `workspace/diagnostic/refresh` (Neovim 0.10+:
    it would never hear of later results), or pull refused: pushed, versioned, no provider."""
    c = await start_client(cache_dir, workspace, profile, options=options)
    try:
        assert not c.pull
        uri = uri_of(workspace / "trainers" / f"push-{profile}.trainer.yaml")
        c.open(uri, TRAINER)
        diags = await c.wait_for_diagnostics(uri, 1, lambda d: len(d) == 1)
        assert [(d.code, d.message) for d in diags] == [TYPO]
    finally:
        await stop_client(c)


async def test_burst_of_edits_is_coalesced(cache_dir: Path, workspace: Path):
    """10 changes back to back on a 5000-line model: each version is checked at most once and
    published in order, the last one last. How many are skipped depends on the machine's speed
    (test_scheduling holds the check lane to show a burst checked once)."""
    c = await start_client(cache_dir, workspace)
    try:
        await c.wait_idle()  # the scan is in: no recheck publishes a version again
        uri = uri_of(workspace / "models" / "big-v1.model.yaml")
        text = big_model_spec(5000)
        assert text.startswith("# generated benchmark model\n")
        c.open(uri, text)
        assert await c.wait_for_diagnostics(uri, 1) == []
        seen = c.count(uri)
        for v in range(2, 12):
            c.edit(uri, v, 0, 1, 1, f" v{v}")  # a comment: the spec stays valid
        assert await c.wait_for_diagnostics(uri, 11, after=seen) == []
        await c.wait_idle()
        after = c.published_for(uri)[seen:]
        versions = [p.version for p in after]
        assert versions == sorted(set(versions)) and versions[-1] == 11, versions
        assert all(list(p.diagnostics) == [] for p in after)
    finally:
        await stop_client(c)


async def test_settings_through_workspace_configuration(cache_dir: Path, workspace: Path):
    """Section `arcgraph` at `initialized`, again on didChangeConfiguration (settings null),
    merged over the initialization options; applied without a restart."""
    config = {"arcgraph": {"registry": {"folders": ["nowhere"]}, "interpreter": "/no/such/python"}}
    c = await start_client(cache_dir, workspace, configuration=config)
    try:
        uri = uri_of(workspace / "trainers" / "configured.trainer.yaml")
        c.open(uri, TRAINER.replace("  devise: cpu\n", ""))

        def codes(want: list[str]):
            return lambda d: [x.code for x in d] == want

        # no models in `nowhere`; the configured interpreter does not exist
        diags = await c.wait_for_diagnostics(uri, 1, codes(["AG400", "AG201"]))
        assert diags[0].message == (
            "torch checks are off: Python interpreter /no/such/python not found; "
            "structure checks still run"
        )
        # the user edits the settings: the registry folders go, another interpreter
        c.set_configuration({"arcgraph": {"interpreter": "/other/python"}})
        c.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        diags = await c.wait_for_diagnostics(
            uri, 1, lambda d: codes(["AG400"])(d) and "/other/" in d[0].message
        )
        assert diags[0].message == (
            "torch checks are off: Python interpreter /other/python not found; "
            "structure checks still run"
        )
        # nothing configured: the initialization options (probes off, own interpreter) hold
        c.set_configuration({})
        c.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        assert await c.wait_for_diagnostics(uri, 1, codes([])) == []
    finally:
        await stop_client(c)


async def test_shape_check_switched_by_configuration(
    cache_dir: Path, workspace: Path, has_catalog: bool
):
    """`checks.shape` from workspace/configuration, flipped on and off without a restart."""
    if not has_catalog:
        pytest.skip("torch is not installed")
    off = {"arcgraph": {"probes": True, "checks": {"shape": False}}}
    c = await start_client(cache_dir, workspace, configuration=off)
    try:
        uri = uri_of(workspace / "models" / "shapes-v1.model.yaml")
        model = (workspace / "models" / "iris-classifier-v1.model.yaml").read_text()
        c.open(
            uri,
            model.replace("in_features: 16, out_features: 3", "in_features: 15, out_features: 3"),
        )
        assert await c.wait_for_diagnostics(uri, 1) == []
        c.set_configuration({"arcgraph": {"probes": True, "checks": {"shape": True}}})
        c.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        diags = await c.wait_for_diagnostics(uri, 1, lambda d: len(d) > 0, timeout=90)
        assert [(d.code, d.message, d.range) for d in diags] == [
            (
                "AG314",
                "shape check failed at node 'classifier': "
                "Linear in_features 15 but input has 16 features",
                rng(21, 10, 21, 20),
            )
        ]
        seen = c.count(uri)
        c.set_configuration(off)
        c.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        assert await c.wait_for_diagnostics(uri, 1, after=seen) == []
        await c.wait_idle()  # no probe of the shape check still on its way
        assert list(c.published_for(uri)[-1].diagnostics) == []
    finally:
        await stop_client(c)


async def test_recheck_reuses_the_torch_answer(cache_dir: Path, workspace: Path, has_catalog: bool):
    """A re-check of unchanged text (here: settings that change nothing) publishes the probe's
    last answer with the structure at once, without asking torch again."""
    if not has_catalog:
        pytest.skip("torch is not installed")
    c = await start_client(cache_dir, workspace, options={"probes": True})
    try:
        uri = uri_of(workspace / "trainers" / "reuse.trainer.yaml")
        text = TRAINER.replace("torch.optim.Adam", "torch.optim.SGD").replace(
            "  lr: 0.01\n", "  lr: 0.01\n  params:\n    nesterov: true\n"
        )
        c.open(uri, text.replace("  devise: cpu\n", ""))
        diags = await c.wait_for_diagnostics(uri, 1, lambda d: len(d) > 0, timeout=60)
        assert [d.code for d in diags] == ["AG213"]
        seen = c.count(uri)
        c.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"arcgraph": {}})
        )
        await c.wait_for(lambda: c.count(uri) > seen, 10, "the re-check")
        assert [d.code for d in c.published_for(uri)[seen].diagnostics] == ["AG213"]
    finally:
        await stop_client(c)


async def test_registry_path_globs_from_configuration(cache_dir: Path, workspace: Path):
    """`registry.include` path globs reach the registry as written."""
    config = {"arcgraph": {"registry": {"include": ["models/iris-*.model.yaml"]}}}
    c = await start_client(cache_dir, workspace, configuration=config)
    try:
        good = TRAINER.replace("  devise: cpu\n", "")
        other = uri_of(workspace / "trainers" / "glob-other.trainer.yaml")
        c.open(other, good.replace("iris-classifier-v1", "diabetes-regressor-v1"))
        diags = await c.wait_for_diagnostics(other, 1, lambda d: len(d) > 0)
        assert [(d.code, d.range) for d in diags] == [("AG201", rng(0, 11, 0, 32))]
        iris = uri_of(workspace / "trainers" / "glob-iris.trainer.yaml")
        c.open(iris, good)
        assert await c.wait_for_diagnostics(iris, 1) == []
    finally:
        await stop_client(c)
