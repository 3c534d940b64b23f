"""The distributed keys (trainer spec v1.1) through the real language server: `backend: nccl`
with a CPU-only device is an error (AG270), a CUDA world_size above this machine's GPUs an info
(AG272; the count comes from the torch worker's catalog, so the server never imports torch)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from .conftest import IRIS_TRAINER, RecordingClient, rng, uri_of

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.asyncio(loop_scope="module")

HEAD = IRIS_TRAINER.replace("batch_size: 8", "batch_size: 64")  # 64: divisible by world_size


async def diagnostics(client: RecordingClient, uri: str, text: str) -> list[types.Diagnostic]:
    client.open(uri, text)
    return await client.wait_for_diagnostics(uri, 1)


async def test_nccl_on_a_cpu_device_is_an_error(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "nccl-cpu.trainer.yaml")
    text = HEAD + "  device: cpu\n  distributed: true\n  backend: nccl\n"
    (diag,) = await diagnostics(client, uri, text)
    assert (diag.code, diag.severity, diag.range) == (
        "AG270",
        types.DiagnosticSeverity.Error,
        rng(11, 11, 11, 15),
    )
    assert diag.message == (
        "backend 'nccl' needs CUDA devices, but device is 'cpu'; use backend: gloo, or device: cuda"
    )
    (related,) = diag.related_information or []
    assert (related.location.range, related.message) == (rng(9, 10, 9, 13), "the device is 'cpu'")


async def test_world_size_above_this_machines_gpus_is_an_info(
    client: RecordingClient, workspace: Path, has_catalog: bool
):
    if not has_catalog:
        pytest.skip("no torch catalog: the GPU count is unknown, so nothing is said")
    gpus = torch.cuda.device_count()
    uri = uri_of(workspace / "trainers" / "many-gpus.trainer.yaml")
    text = HEAD + "  device: cuda\n  distributed: true\n  world_size: 64\n"
    (diag,) = await diagnostics(client, uri, text)
    assert (diag.code, diag.severity, diag.range) == (
        "AG272",
        types.DiagnosticSeverity.Information,
        rng(11, 14, 11, 16),
    )
    assert diag.message == (
        f"world_size 64 is more processes than the {gpus} CUDA device(s) of this machine (one"
        " GPU per process); fine if the spec is meant for another machine or several nodes"
    )
    # as many processes as GPUs (or a CPU run) says nothing
    uri = uri_of(workspace / "trainers" / "cpu-procs.trainer.yaml")
    cpu = HEAD + "  device: cpu\n  distributed: true\n  world_size: 64\n"
    assert await diagnostics(client, uri, cpu) == []
