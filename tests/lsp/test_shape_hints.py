"""Shapes and sizes in the editor: inlay hints, hovers and the totals code lens, all from the
last shape probe; none while the probe is held, then `workspace/inlayHint/refresh` and the
hints at their lines. The probe is held by the gate of test_probe_idle (nothing timed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from lsprotocol import types

from arcgraph.worker.client import TorchWorker

from .conftest import capabilities_of, rng, start_client, stop_client, uri_of
from .test_probe_idle import gated_interpreter, requests


def vscode_with_inlay_hints() -> types.ClientCapabilities:
    """VS Code as it runs the extension: inlay hints with refresh (1.65.2 predates them)."""
    caps = capabilities_of("vscode-languageclient-9")
    assert caps.text_document is not None and caps.workspace is not None
    caps.text_document.inlay_hint = types.InlayHintClientCapabilities()
    caps.workspace.inlay_hint = types.InlayHintWorkspaceClientCapabilities(refresh_support=True)
    return caps


def hint_rows(hints: list[types.InlayHint] | None) -> list[tuple[int, int, str]]:
    return [(h.position.line, h.position.character, str(h.label)) for h in hints or []]


def hover_text(hover: types.Hover | None) -> str:
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    return hover.contents.value


@pytest.mark.asyncio(loop_scope="function")
@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script as interpreter")
async def test_inlay_hints_hover_and_lens_after_the_probe(
    cache_dir: Path, workspace: Path, tmp_path: Path, has_catalog: bool
) -> None:
    if not has_catalog:
        pytest.skip("torch is not installed")
    log, hold = tmp_path / "requests.jsonl", tmp_path / "hold"
    python = gated_interpreter(tmp_path, log, hold)
    with TorchWorker(interpreter=str(python), cache_dir=cache_dir) as worker:
        assert worker.catalog() is not None  # cached for this interpreter: no build below
    c = await start_client(
        cache_dir,
        workspace,
        vscode_with_inlay_hints(),
        options={"probes": True, "interpreter": str(python)},
    )
    refreshes: list[None] = []
    c.feature(types.WORKSPACE_INLAY_HINT_REFRESH)(lambda params: refreshes.append(None))
    try:
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
    finally:
        hold.unlink(missing_ok=True)
        await stop_client(c)
