"""Completion and hover of the scheduler section (trainer spec v1.1) over LSP."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from .conftest import IRIS_TRAINER, RecordingClient, uri_of
from .test_features import _open, complete, hover, pos

pytestmark = pytest.mark.asyncio(loop_scope="module")

P = "torch.optim.lr_scheduler."
TRAINER = (
    IRIS_TRAINER
    + f"""\
scheduler:
  type: {P}OneCycleLR
  params:
    max_lr: 0.1
    total_steps: 30
    $
  interval:$
""".replace("$", " ")
)

NESTED = (
    IRIS_TRAINER
    + f"""\
scheduler:
  type: {P}SequentialLR
  params:
    schedulers:
      - type: {P}LinearLR
        params:
          $
      - type:$
    milestones: [1]
""".replace("$", " ")
)


async def test_scheduler_types_params_and_interval(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "sched.trainer.yaml")
    await _open(client, uri, TRAINER)
    params = await complete(client, uri, types.Position(14, 4))
    assert {"pct_start", "anneal_strategy", "div_factor"} <= set(params)
    assert {"optimizer", "max_lr", "total_steps"}.isdisjoint(params)  # ours; already there
    assert params["pct_start"].text_edit.new_text == "pct_start: 0.3"
    assert params["anneal_strategy"].text_edit.new_text == "anneal_strategy: cos"
    assert params["three_phase"].text_edit.new_text == "three_phase: false"
    intervals = await complete(client, uri, pos(TRAINER, 15, "interval: "))
    assert set(intervals) == {"epoch", "step"}
    doc = await hover(client, uri, types.Position(10, 30))
    assert doc is not None
    assert "1cycle learning rate policy" in doc  # torch's own docstring
    assert "**Supplied by the trainer**" in doc
    doc = await hover(client, uri, types.Position(13, 6))
    assert doc is not None
    assert doc.startswith("**total_steps**: `int | None` = `None`")
    assert "`total_steps` = epochs x optimizer steps per epoch" in doc


async def test_nested_schedulers_complete_like_the_top_one(
    client: RecordingClient, workspace: Path
):
    uri = uri_of(workspace / "trainers" / "nested.trainer.yaml")
    await _open(client, uri, NESTED)
    params = await complete(client, uri, types.Position(15, 10))
    assert set(params) >= {"start_factor", "end_factor", "total_iters"}
    assert params["total_iters"].text_edit.new_text == "total_iters: 5"
    names = await complete(client, uri, pos(NESTED, 16, "type: "))
    assert {f"{P}CosineAnnealingLR", f"{P}OneCycleLR", f"{P}ReduceLROnPlateau"} <= set(names)
    assert {f"{P}LambdaLR", f"{P}MultiplicativeLR"}.isdisjoint(names)  # need Python callables
    assert names[f"{P}StepLR"].kind == types.CompletionItemKind.Class
