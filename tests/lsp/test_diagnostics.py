"""Diagnostics over LSP: exact codes, messages, ranges and versions; staleness; robustness."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from .conftest import RecordingClient, rng, start_client, stop_client, uri_of

pytestmark = pytest.mark.asyncio(loop_scope="module")

DOCS = "https://github.com/arc-graph/arcgraph-tools/blob/main/docs/codes.md"

GOOD_TRAINER = """\
model_ref: iris-classifier-v1
optimizer:
  type: torch.optim.Adam
  lr: 0.01
config:
  epochs: 10
  batch_size: 16
  validation_split: 0.2
  shuffle: true
"""


def summary(diags: list[types.Diagnostic]) -> list[tuple]:
    return [(d.code, d.message, d.range, d.severity) for d in diags]


async def test_structure_diagnostic_exact(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "typo.trainer.yaml")
    text = GOOD_TRAINER + "  devise: cpu\n"
    client.open(uri, text, version=1)
    diags = await client.wait_for_diagnostics(uri, 1, lambda d: len(d) > 0)
    assert summary(diags) == [
        (
            "AG111",
            "unknown key 'devise' in config; did you mean 'device'?",
            rng(9, 2, 9, 8),
            types.DiagnosticSeverity.Error,
        )
    ]
    d = diags[0]
    assert d.source == "arcgraph"
    assert d.code_description is not None and d.code_description.href == f"{DOCS}#ag111"

    # an incremental edit fixes the typo: version 2 has no diagnostics
    client.edit(uri, 2, 9, 2, 8, "device")
    assert await client.wait_for_diagnostics(uri, 2, lambda d: not d) == []
    last = client.published_for(uri)[-1]
    assert last.version == 2 and list(last.diagnostics) == []


async def test_registry_and_catalog_diagnostics(
    client: RecordingClient, workspace: Path, has_catalog: bool
):
    if not has_catalog:
        pytest.skip("torch is not installed: no catalog")
    uri = uri_of(workspace / "trainers" / "unknown.trainer.yaml")
    text = GOOD_TRAINER.replace("iris-classifier-v1", "nosuch-v1").replace("Adam", "Adamm")
    client.open(uri, text)
    diags = await client.wait_for_diagnostics(uri, 1, lambda d: len(d) == 2)
    assert [(d.code, d.range) for d in diags] == [
        ("AG201", rng(0, 11, 0, 20)),
        ("AG210", rng(2, 8, 2, 25)),
    ]
    known = [
        "arc-generative-recommender-v1",
        "arc-logistic-regression-v1",
        "arc-mlp-classifier-v1",
        "arc-transformer-classifier-v1",
        "breast-cancer-mlp-v1",
    ]  # the example workspace's first five model ids
    assert (diags[0].message, diags[0].data) == (
        f"model_ref 'nosuch-v1' names no model in the workspace; known models: {', '.join(known)}",
        {"candidates": known},
    )
    assert (diags[1].message, diags[1].data) == (
        "'torch.optim.Adamm' is not an optimizer in torch.optim; did you mean 'torch.optim.Adam'?",
        {"fix": "replace_value", "with": "torch.optim.Adam"},
    )


async def test_utf16_columns(client: RecordingClient, workspace: Path):
    """An emoji is one code point but two UTF-16 units: the range ends one unit later."""
    uri = uri_of(workspace / "trainers" / "emoji.trainer.yaml")
    text = GOOD_TRAINER.replace("iris-classifier-v1", '"\U0001f600x-v1"')
    client.open(uri, text)
    diags = await client.wait_for_diagnostics(uri, 1, lambda d: any(x.code == "AG202" for x in d))
    ag202 = next(d for d in diags if d.code == "AG202")
    # `"😀x-v1"`: 7 code points, 8 UTF-16 units, 10 UTF-8 bytes
    end = {"utf-16": 19, "utf-8": 21, "utf-32": 18}[client.position_encoding]
    assert ag202.range == rng(0, 11, 0, end)


async def test_syntax_error_and_recovery(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "broken.trainer.yaml")
    client.open(uri, "model_ref: iris-classifier-v1\noptimizer:\n  type: [\n")
    diags = await client.wait_for_diagnostics(uri, 1, lambda d: len(d) > 0)
    assert summary(diags) == [
        (
            "AG100",
            "YAML syntax error: did not find expected node content",
            rng(3, 0, 3, 0),  # at the end of the text (clamped inside it),
            types.DiagnosticSeverity.Error,
        )
    ]
    client.replace(uri, GOOD_TRAINER, 2)
    assert await client.wait_for_diagnostics(uri, 2) == []


async def test_unrelated_yaml_gets_empty_list(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "ci.yaml")
    client.open(uri, "jobs:\n  build:\n    runs-on: ubuntu-latest\n  oops: [\n")
    assert await client.wait_for_diagnostics(uri, 1) == []


async def test_stale_version_never_published_last(client: RecordingClient, workspace: Path):
    """Two quick changes: the last publication is for the newest version."""
    uri = uri_of(workspace / "trainers" / "stale.trainer.yaml")
    client.open(uri, GOOD_TRAINER + "  devise: cpu\n", version=1)
    client.replace(uri, GOOD_TRAINER + "  verbos: true\n", 2)
    client.replace(uri, GOOD_TRAINER + "  seeed: 1\n", 3)
    diags = await client.wait_for_diagnostics(uri, 3, lambda d: len(d) == 1)
    assert diags[0].message == "unknown key 'seeed' in config; did you mean 'seed'?"
    # once the server has no work left (nothing for an older version can come after), the order
    await client.wait_idle()
    sent = client.published_for(uri)
    assert sent[-1].version == 3
    versions = [p.version for p in sent]
    assert versions == sorted(versions), versions  # nothing older after anything newer
    assert [d.message for d in sent[-1].diagnostics] == [
        "unknown key 'seeed' in config; did you mean 'seed'?"
    ]


async def test_garbage_text_server_stays_up(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "models" / "garbage.model.yaml")
    garbage = "\x00\x01{[}]: :\n- - - : &a *a\n\t\tkey: [\ud800\n" + "::{" * 50 + "\n"
    client.open(uri, garbage.replace("\ud800", "?"))
    await client.wait_for_diagnostics(uri, 1)
    # features on garbage answer without error
    pos = types.Position(1, 3)
    ident = types.TextDocumentIdentifier(uri)
    await client.text_document_completion_async(types.CompletionParams(ident, pos))
    await client.text_document_hover_async(types.HoverParams(ident, pos))
    await client.text_document_definition_async(types.DefinitionParams(ident, pos))
    await client.text_document_document_symbol_async(types.DocumentSymbolParams(ident))
    # positions past the end of the document, deep nesting, huge lines
    far = types.Position(500, 500)
    await client.text_document_completion_async(types.CompletionParams(ident, far))
    await client.text_document_hover_async(types.HoverParams(ident, far))
    client.replace(uri, "graph:\n" + "  " * 400 + "x: [" * 300 + "\n", 2)
    await client.wait_for_diagnostics(uri, 2)
    client.replace(uri, "graph: " + "[" * 100_000 + "\n" + "a" + " " * 100_000 + "b\n", 3)
    await client.wait_for_diagnostics(uri, 3)
    await client.text_document_completion_async(
        types.CompletionParams(ident, types.Position(0, 50_000))
    )
    await client.text_document_document_symbol_async(types.DocumentSymbolParams(ident))
    # and the server still checks real documents
    good = uri_of(workspace / "trainers" / "after-garbage.trainer.yaml")
    client.open(good, GOOD_TRAINER)
    assert await client.wait_for_diagnostics(good, 1) == []


async def test_close_clears_diagnostics(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "closing.trainer.yaml")
    client.open(uri, GOOD_TRAINER + "  devise: cpu\n")
    await client.wait_for_diagnostics(uri, 1, lambda d: len(d) == 1)
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
    )
    await client.wait_for(lambda: list(client.published_for(uri)[-1].diagnostics) == [])
    assert client.published_for(uri)[-1].version is None


async def test_model_edit_rechecks_open_trainer(client: RecordingClient, workspace: Path):
    """Unsaved model text counts: removing the loss of the model re-checks its trainer."""
    model_path = workspace / "models" / "iris-classifier-v1.model.yaml"
    model_uri = uri_of(model_path)
    trainer_uri = uri_of(workspace / "trainers" / "recheck.trainer.yaml")
    client.open(trainer_uri, GOOD_TRAINER)
    assert await client.wait_for_diagnostics(trainer_uri, 1) == []
    model_text = model_path.read_text()
    no_loss = model_text.split("\nloss:")[0] + "\n"
    client.open(model_uri, no_loss)
    diags = await client.wait_for_diagnostics(
        trainer_uri, 1, lambda d: any(x.code == "AG203" for x in d)
    )
    assert [d.code for d in diags] == ["AG203"]
    assert diags[0].range == rng(0, 11, 0, 29)
    seen = client.count(trainer_uri)
    # closing the model: the disk (with its loss) is the truth again
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(model_uri))
    )
    await client.wait_for_diagnostics(trainer_uri, 1, lambda d: d == [], after=seen)


async def test_without_torch_one_info_per_spec(cache_dir: Path, workspace: Path):
    """A Python without torch: one AG400 info per spec, structure checks still run."""
    c = await start_client(
        cache_dir, workspace, options={"interpreter": str(workspace / "no-such-python")}
    )
    try:
        uri = uri_of(workspace / "trainers" / "notorch.trainer.yaml")
        c.open(uri, GOOD_TRAINER + "  devise: cpu\n")
        diags = await c.wait_for_diagnostics(uri, 1, lambda d: any(x.code == "AG400" for x in d))
        assert [(d.code, d.severity) for d in diags] == [
            ("AG400", types.DiagnosticSeverity.Information),
            ("AG111", types.DiagnosticSeverity.Error),
        ]
        info = diags[0]
        assert info.range == rng(0, 0, 0, 29)
        assert info.message == (
            "torch checks are off: Python interpreter "
            f"{workspace / 'no-such-python'} not found; structure checks still run"
        )
        other = uri_of(workspace / "ci.yaml")
        c.open(other, "jobs: {}\n")
        assert await c.wait_for_diagnostics(other, 1) == []
    finally:
        await stop_client(c)
