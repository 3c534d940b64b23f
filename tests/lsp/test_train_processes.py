"""arcgraph.train with `processes` (the Train flow's process count): the server runs
`arcgraph train --nproc-per-node N`, 2 gloo processes under torchrun; real server, real data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lsprotocol import types

from .conftest import start_client, stop_client, uri_of

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.asyncio(loop_scope="module")

TRAINER = """\
model_ref: iris-classifier-v1
optimizer:
  type: torch.optim.Adam
  lr: 0.05
config:
  epochs: 2
  batch_size: 16
  validation_split: 0.2
  shuffle: true
  seed: 3
  verbose: false
  device: cpu
"""


async def test_two_processes_train_under_torchrun(cache_dir: Path, workspace: Path):
    trainer = workspace / "trainers" / "lsp-dist.trainer.yaml"
    trainer.write_text(TRAINER)
    data = str(workspace / "data" / "iris.csv")
    client = await start_client(cache_dir, workspace)
    try:
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="arcgraph.train",
                arguments=[{"trainer": uri_of(trainer), "data": data, "processes": 2}],
            )
        )
        assert result["status"] == "completed", result
        summary = json.loads((Path(result["run_dir"]) / "summary.json").read_text())
        assert summary["world_size"] == 2
    finally:
        await stop_client(client)
