"""Shapes and sizes in the editor: inlay hints, hovers and the totals code lens, all from the
last shape probe; none while the probe is held, then `workspace/inlayHint/refresh` and the
hints at their lines. The probe is held by the gate of test_probe_idle (nothing timed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from lsprotocol import types

from .conftest import _plain, rng, start_client, stop_client, uri_of
from .shape_helpers import GatedHintClient, hint_rows, start_hint_client
from .test_probe_idle import requests


def hover_text(hover: types.Hover | None) -> str:
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    return hover.contents.value


@pytest.mark.asyncio(loop_scope="function")
@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script as interpreter")
async def test_inlay_hints_hover_and_lens_after_the_probe(
    gated_hints: GatedHintClient, workspace: Path
) -> None:
    c, refreshes = gated_hints.client, gated_hints.refreshes
    log, hold = gated_hints.log, gated_hints.hold
    assert c.server_caps is not None and c.server_caps.inlay_hint_provider is not None
    await c.wait_idle()
    hold.touch()
    model = workspace / "models" / "iris-classifier-v1.model.yaml"
    uri, text = uri_of(model), model.read_text()
    c.open(uri, text)
    whole = rng(0, 0, len(text.splitlines()), 0)
    doc = types.TextDocumentIdentifier(uri)
    await c.wait_for(lambda: requests(log, "probe_shapes"), 60, "the probe, held")
    # the probe has not answered: nothing yet, and the answer does not wait for it
    early = await c.text_document_inlay_hint_async(types.InlayHintParams(doc, whole))
    assert hint_rows(early) == []
    assert list(await c.text_document_code_lens_async(types.CodeLensParams(doc)) or []) == []
    assert refreshes == []

    hold.unlink()
    await c.wait_for(lambda: refreshes, 60, "workspace/inlayHint/refresh")
    hints = await c.text_document_inlay_hint_async(types.InlayHintParams(doc, whole))
    assert hint_rows(hints) == [
        (10, 20, "→ [B, 4] · 8 params"),
        (14, 16, "→ [B, 16] · 80 params"),
        (18, 20, "→ [B, 16] · 0 params"),
        (21, 20, "→ [B, 3] · 51 params"),
        (25, 23, "→ [B, 3] · 0 params"),
        (31, 27, "→ [B, 3]"),
        (32, 37, "→ [B, 3]"),
    ]
    part = await c.text_document_inlay_hint_async(types.InlayHintParams(doc, rng(14, 0, 18, 0)))
    assert hint_rows(part) == [(14, 16, "→ [B, 16] · 80 params")]

    hover = await c.text_document_hover_async(
        types.HoverParams(doc, types.Position(14, 12))  # `hidden`
    )
    assert hover_text(hover).endswith(
        "\n\nInput: `[B, 4]`\n\nOutput: `[B, 16]`\n\nParams: 80 (80 trainable)"
    )
    ref = await c.text_document_hover_async(  # `hidden.output` in classifier's inputs
        types.HoverParams(doc, types.Position(20, 22))
    )
    assert hover_text(ref).endswith("Params: 80 (80 trainable)")

    lenses = await c.text_document_code_lens_async(types.CodeLensParams(doc))
    assert [
        (lens.range.start.line, lens.command and lens.command.title) for lens in lenses or []
    ] == [(9, "139 params (139 trainable) · 0.00 MB fp32")]

    trainer = workspace / "trainers" / "iris.trainer.yaml"
    turi = uri_of(trainer)
    c.open(turi, trainer.read_text())
    line = trainer.read_text().splitlines().index("model_ref: iris-classifier-v1")
    hover = await c.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(turi), types.Position(line, 14))
    )
    assert hover_text(hover).endswith(
        "\n\nShapes: `features` `[B, 4]` → `logits` `[B, 3]`, `probabilities` `[B, 3]`"
        "\n\nSize: 139 params (139 trainable) · 0.00 MB fp32"
    )


MODULES_MODEL = """\
modules:
  Block:
    inputs: [x]
    graph:
      - name: lin
        type: torch.nn.Linear
        params: { in_features: 4, out_features: 4 }
        inputs: { input: x }
      - { name: act, type: torch.nn.ReLU, inputs: { input: lin.output } }
    outputs:
      output: act.output  # one output
  Pair:
    inputs: [a]
    graph:
      - name: inner
        type: module.Block
        inputs: { x: a }
      - { name: split, type: torch.reshape, params: { shape: [-1, 2, 2] }, inputs: { input: inner.output } }
    outputs:
      flat: inner.output
      pairs: split.output
  Unused:
    inputs: [x]
    graph:
      - { name: id, type: torch.nn.Identity, inputs: { input: x } }
    outputs:
      output: id.output

inputs:
  features: { dtype: float32, shape: [null, 4], columns: [a, b, c, d] }

graph:
  - name: pair
    type: module.Pair
    inputs: { a: features }
  - name: stack
    type: arc.stack
    params: { module: Block, count: 3 }
    inputs: { x: pair.output.0 }
  - name: head
    type: torch.nn.Linear
    params: { in_features: 4, out_features: 1 }
    inputs: { input: stack.output }

outputs:
  y: head.output
"""


@pytest.mark.asyncio(loop_scope="function")
async def test_module_nodes_hints_hover_and_graph(
    cache_dir: Path, workspace: Path, has_catalog: bool
) -> None:
    """The lines of a `modules` entry show its first use's shapes and one copy's params (the
    entry's key: its output), its nodes and outputs; hover names the uses; the graph view's
    inner nodes carry their own use's shapes. An unused module shows nothing."""
    if not has_catalog:
        pytest.skip("torch is not installed")
    started = await start_hint_client(cache_dir, workspace)
    c, refreshes = started.client, started.refreshes
    try:
        uri = uri_of(workspace / "models" / "modules-v1.model.yaml")
        c.open(uri, MODULES_MODEL)
        doc = types.TextDocumentIdentifier(uri)
        await c.wait_for(lambda: refreshes, 60, "workspace/inlayHint/refresh")
        whole = rng(0, 0, len(MODULES_MODEL.splitlines()), 0)
        hints = await c.text_document_inlay_hint_async(types.InlayHintParams(doc, whole))
        assert hint_rows(hints) == [
            (1, 8, "→ [B, 4] · 20 params"),  # Block: as `pair/inner` (its first use) ran it
            (4, 17, "→ [B, 4] · 20 params"),
            (8, 73, "→ [B, 4] · 0 params"),  # a flow mapping: at the end of its line
            (10, 24, "→ [B, 4]"),  # before the comment
            (11, 7, "→ ([B, 4], [B, 2, 2]) · 20 params"),  # Pair: its two outputs
            (14, 19, "→ [B, 4] · 20 params"),
            (17, 108, "→ [B, 2, 2] · 0 params"),
            (19, 24, "→ [B, 4]"),
            (20, 25, "→ [B, 2, 2]"),
            # Unused (lines 21-26): nothing runs it, nothing shown
            (32, 14, "→ ([B, 4], [B, 2, 2]) · 20 params"),
            (35, 15, "→ [B, 4] · 60 params"),
            (39, 14, "→ [B, 1] · 5 params"),
            (45, 16, "→ [B, 1]"),
        ]

        hover = await c.text_document_hover_async(  # `lin`
            types.HoverParams(doc, types.Position(4, 15))
        )
        assert hover_text(hover).endswith(
            "\n\nInput: `[B, 4]`\n\nOutput: `[B, 4]`\n\nParams: 20 (20 trainable)"
            "\n\nShapes as used by `pair/inner`; also used by `stack` (arc.stack of 3)"
        )
        ref = await c.text_document_hover_async(  # `lin.output` in act's inputs
            types.HoverParams(doc, types.Position(8, 60))
        )
        assert hover_text(ref).endswith(
            "Params: 20 (20 trainable)"
            "\n\nShapes as used by `pair/inner`; also used by `stack` (arc.stack of 3)"
        )

        got = _plain(
            await c.protocol.send_request_async(
                "arcgraph/modelGraph", {"textDocument": {"uri": uri}}
            )
        )
        assert [(n["id"], n["outputShape"], n["params"]) for n in got["nodes"]] == [
            ("node:pair", [["B", 4], ["B", 2, 2]], 20),
            ("node:pair/inner", ["B", 4], 20),
            ("node:pair/inner/lin", ["B", 4], 20),
            ("node:pair/inner/act", ["B", 4], 0),
            ("node:pair/split", ["B", 2, 2], 0),
            ("node:stack", ["B", 4], 60),
            ("node:stack/lin", ["B", 4], 20),
            ("node:stack/act", ["B", 4], 0),
            ("node:head", ["B", 1], 5),
        ]
    finally:
        await stop_client(c)


@pytest.mark.asyncio(loop_scope="function")
async def test_no_inlay_hint_refresh_for_a_client_without_it(
    cache_dir: Path, workspace: Path, has_catalog: bool
) -> None:
    """A client that did not advertise `workspace.inlayHint.refreshSupport` (VS Code 1.65) is
    not sent `workspace/inlayHint/refresh` when the probe answers; its hints are there when
    it asks."""
    if not has_catalog:
        pytest.skip("torch is not installed")
    c = await start_client(cache_dir, workspace, "visual-studio-code", options={"probes": True})
    refreshes: list[None] = []
    changed: list[object] = []
    c.feature(types.WORKSPACE_INLAY_HINT_REFRESH)(lambda params: refreshes.append(None))
    c.feature("arcgraph/modelGraphChanged")(lambda params: changed.append(params))
    try:
        model = workspace / "models" / "iris-classifier-v1.model.yaml"
        uri, text = uri_of(model), model.read_text()
        c.open(uri, text)
        await c.wait_for(lambda: changed, 60, "arcgraph/modelGraphChanged (the probe answered)")
        await c.wait_idle()
        doc = types.TextDocumentIdentifier(uri)
        whole = rng(0, 0, len(text.splitlines()), 0)
        hints = await c.text_document_inlay_hint_async(types.InlayHintParams(doc, whole))
        assert hint_rows(hints)[1] == (14, 16, "→ [B, 16] · 80 params")
        assert refreshes == []
    finally:
        await stop_client(c)
