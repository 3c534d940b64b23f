"""arcgraph.train with `overrides` (the client's "train on the CPU instead"): real server, real
trainer subprocess, real data."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from .conftest import start_client, stop_client, uri_of

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.asyncio(loop_scope="module")

CUDA_TRAINER = """\
model_ref: iris-classifier-v1
optimizer:
  type: torch.optim.Adam
  lr: 0.05
config:
  epochs: 1
  batch_size: 16
  validation_split: 0.2
  shuffle: true
  seed: 3
  verbose: false
  device: cuda
"""


async def test_a_cuda_spec_is_refused_without_cuda_and_trains_with_the_cpu_override(
    cache_dir: Path, workspace: Path
):
    trainer = workspace / "trainers" / "lsp-cuda.trainer.yaml"
    trainer.write_text(CUDA_TRAINER)
    data = str(workspace / "data" / "iris.csv")
    client = await start_client(cache_dir, workspace)
    try:
        if not torch.cuda.is_available():
            refused = await client.workspace_execute_command_async(
                types.ExecuteCommandParams(
                    command="arcgraph.train", arguments=[{"trainer": uri_of(trainer), "data": data}]
                )
            )
            assert refused["status"] == "error" and refused["run_dir"] is None
            # the words the client recognises to offer the CPU (client/src/logic/train.ts)
            assert refused["error"] == (
                "config.device is 'cuda' but no CUDA device is available to torch"
            )
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="arcgraph.train",
                arguments=[
                    {"trainer": uri_of(trainer), "data": data, "overrides": ["config.device=cpu"]}
                ],
            )
        )
        assert result["status"] == "completed"
        run_dir = Path(result["run_dir"])
        assert "device: cpu" in (run_dir / "trainer.effective.yaml").read_text()
        assert (run_dir / "trainer.yaml").read_text() == CUDA_TRAINER
    finally:
        await stop_client(client)
