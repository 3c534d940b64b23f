"""Completion and hover of the mixed-precision keys (trainer spec v1.1) over LSP."""

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
  mixed_precision:$
  amp_backend:$
""".replace("$", " ")
)


async def test_mixed_precision_values_and_hover(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "amp.trainer.yaml")
    await _open(client, uri, TRAINER)
    values = await complete(client, uri, pos(TRAINER, 9, "mixed_precision: "))
    assert {"false", "true", "bf16", "fp16"} <= set(values)
    assert values["bf16"].kind == types.CompletionItemKind.EnumMember
    backends = await complete(client, uri, pos(TRAINER, 10, "amp_backend: "))
    assert set(backends) == {"native"}
    assert backends["native"].detail == "torch.autocast + torch.amp.GradScaler"
    keys = await complete(client, uri, types.Position(11, 2))
    assert {"mixed_precision", "amp_backend"}.isdisjoint(keys)  # already there
    doc = await hover(client, uri, types.Position(9, 4))
    assert doc is not None
    assert "**Mixed precision** *(spec v1.1)*" in doc
    assert "`fp16`: float16 autocast with `torch.amp.GradScaler`" in doc
    doc = await hover(client, uri, types.Position(10, 4))
    assert doc is not None and "NVIDIA Apex (`apex`) is not supported" in doc


async def test_the_keys_are_offered_in_config(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "amp-keys.trainer.yaml")
    text = TRAINER.replace("  mixed_precision: \n  amp_backend: \n", "  \n")
    await _open(client, uri, text)
    keys = await complete(client, uri, types.Position(9, 2))
    assert keys["mixed_precision"].text_edit.new_text == "mixed_precision: false"
    assert keys["amp_backend"].text_edit.new_text == "amp_backend: native"
