"""BatchNorm on W processes: on CUDA the model DDP wraps has SyncBatchNorm layers (statistics
over the whole global batch); on the CPU, where torch has none, the layers stay (the run says
so). The DDP test needs a GPU: scripts/gpu-check runs it; here it is skipped."""

from __future__ import annotations

import tempfile

import pytest
import torch
import yaml

from arcgraph.builder.build import build_model
from arcgraph.training.distributed import sync_batchnorm

from .conftest import FIXTURES


def model(name: str) -> torch.nn.Module:
    return build_model(yaml.safe_load((FIXTURES / "models" / f"{name}.model.yaml").read_text()))


def kinds(net: torch.nn.Module) -> list[str]:
    return [type(m).__name__ for m in net.modules() if "BatchNorm" in type(m).__name__]


def test_batchnorm_becomes_sync_batchnorm_on_cuda() -> None:
    net = model("iris-mlp-v1")
    keys = list(net.state_dict())
    assert kinds(net) == ["BatchNorm1d"]
    synced = sync_batchnorm(net, torch.device("cuda", 0))  # converting allocates nothing on CUDA
    assert synced is net and kinds(net) == ["SyncBatchNorm"]
    assert list(net.state_dict()) == keys  # checkpoints keep the one-process keys


def test_on_the_cpu_batchnorm_stays_and_a_model_without_it_is_as_it_was() -> None:
    net = model("iris-mlp-v1")
    assert sync_batchnorm(net, torch.device("cpu")) is None and kinds(net) == ["BatchNorm1d"]
    plain = model("iris-linear-v1")
    assert sync_batchnorm(plain, torch.device("cuda", 0)) is plain and kinds(plain) == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="DDP's SyncBatchNorm needs a GPU")
def test_the_ddp_model_on_cuda_has_sync_batchnorm() -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    store = dist.FileStore(tempfile.mktemp(), 1)
    dist.init_process_group("nccl", store=store, rank=0, world_size=1)
    try:
        device = torch.device("cuda", 0)
        net = model("iris-mlp-v1").to(device)
        ddp = DistributedDataParallel(sync_batchnorm(net, device), device_ids=[0])
        assert kinds(ddp.module) == ["SyncBatchNorm"]
        ddp(features=torch.randn(8, 4, device=device))  # trains: statistics over the group
    finally:
        dist.destroy_process_group()
