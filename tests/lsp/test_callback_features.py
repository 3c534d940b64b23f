"""Completion and hover of `callbacks:` (trainer spec v1.1) over LSP: the arc.callbacks
registry's types, their params with defaults, and the project's docs."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from .conftest import IRIS_TRAINER, RecordingClient, uri_of
from .test_features import _open, complete, hover, pos

pytestmark = pytest.mark.asyncio(loop_scope="module")

TRAINER = (
    IRIS_TRAINER
    + """\
callbacks:
  - type:$
  - type: arc.callbacks.ModelCheckpoint
    params:
      monitor: val_loss
     $
""".replace("$", " ")
)


async def test_callback_types_params_and_hover(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "cb.trainer.yaml")
    await _open(client, uri, TRAINER)
    kinds = await complete(client, uri, pos(TRAINER, 10, "type: "))
    assert {
        "arc.callbacks.TensorBoardLogger",
        "arc.callbacks.ModelCheckpoint",
        "arc.callbacks.LearningRateMonitor",
    } <= set(kinds)
    tb = kinds["arc.callbacks.TensorBoardLogger"]
    assert tb.kind == types.CompletionItemKind.Class
    assert tb.detail == "Writes every metric of metrics.csv to TensorBoard event files."
    params = await complete(client, uri, types.Position(14, 6))
    assert {"mode", "save_top_k"} <= set(params)
    assert "monitor" not in params  # already there
    assert params["save_top_k"].text_edit.new_text == "save_top_k: 1"
    assert params["mode"].detail == "string = min"
    doc = await hover(client, uri, types.Position(11, 20))
    assert doc is not None and doc.startswith("**arc.callbacks.ModelCheckpoint**")
    assert "Keeps the best `save_top_k` checkpoints by a monitored metric." in doc
    doc = await hover(client, uri, types.Position(13, 8))
    assert doc == (
        "**monitor**: string = `val_loss` (arc.callbacks.ModelCheckpoint)\n\n"
        "The metric of metrics.csv to rank by."
    )
    doc = await hover(client, uri, types.Position(9, 3))
    assert doc is not None and "**Callbacks** *(spec v1.1)*" in doc


async def test_the_callbacks_section_is_offered_as_a_list(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "cb-top.trainer.yaml")
    text = TRAINER.split("callbacks:")[0] + "\n"
    await _open(client, uri, text)
    keys = await complete(client, uri, types.Position(9, 0))
    assert keys["callbacks"].text_edit.new_text == "callbacks:\n  - "
    assert keys["callbacks"].documentation.value.startswith("**Callbacks** *(spec v1.1)*")
