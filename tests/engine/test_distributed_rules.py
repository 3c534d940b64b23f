"""Distributed-training rules (trainer spec v1.1): exact code, message and range."""

from __future__ import annotations

import pytest

from .conftest import TRAINER, rows


def _cfg(extra: str) -> str:
    return TRAINER + extra


@pytest.mark.parametrize("backend", ["gloo", "nccl"])
def test_a_distributed_config_on_cuda_is_clean(check_text, backend: str) -> None:
    text = _cfg(f"  device: cuda\n  distributed: true\n  world_size: 4\n  backend: {backend}\n")
    assert check_text(text) == []


def test_gloo_on_the_cpu_is_clean(check_text) -> None:
    text = _cfg("  device: cpu\n  distributed: true\n  world_size: 2\n  backend: gloo\n")
    assert check_text(text) == []


@pytest.mark.parametrize("device", ["cpu", "mps"])
def test_nccl_on_a_cpu_only_device(check_text, device: str) -> None:
    diags = check_text(_cfg(f"  device: {device}\n  distributed: true\n  backend: nccl\n"))
    assert rows(diags) == [
        (
            "AG270",
            f"backend 'nccl' needs CUDA devices, but device is '{device}'; use backend: gloo,"
            " or device: cuda",
            (11, 11, 11, 15),
        )
    ]
    assert diags[0].severity.name == "ERROR"


def test_nccl_on_auto_is_left_to_the_machine_that_trains(check_text) -> None:
    assert check_text(_cfg("  distributed: true\n  backend: nccl\n")) == []


def test_batch_size_not_divisible_by_world_size(check_text) -> None:
    diags = check_text(_cfg("  distributed: true\n  world_size: 3\n"))
    assert rows(diags) == [
        (
            "AG271",
            "batch_size 8 is not divisible by world_size 3: each process takes batch_size / 3"
            " rows of every batch; use a multiple of 3",
            (10, 14, 10, 15),
        )
    ]


def test_an_unknown_backend_is_the_schemas(check_text) -> None:
    diags = check_text(_cfg("  backend: mpi\n"))
    assert rows(diags) == [
        ("AG114", "'config.backend' must be one of \"gloo\", \"nccl\"; got 'mpi'", (9, 11, 9, 14))
    ]


def _with_gpus(catalog, gpus: int):
    from arcgraph.engine.catalog import Catalog

    return Catalog({**catalog.data, "cuda_devices": gpus})


def test_more_cuda_processes_than_gpus_is_an_info(check_text, catalog) -> None:
    text = _cfg("  device: cuda\n  distributed: true\n  world_size: 4\n")
    diags = check_text(text, catalog=_with_gpus(catalog, 1))
    assert rows(diags) == [
        (
            "AG272",
            "world_size 4 is more processes than the 1 CUDA device(s) of this machine (one GPU"
            " per process); fine if the spec is meant for another machine or several nodes",
            (11, 14, 11, 15),
        )
    ]
    assert diags[0].severity.name == "INFO"


def test_enough_gpus_or_cpu_processes_say_nothing(check_text, catalog) -> None:
    cuda = _cfg("  device: cuda\n  distributed: true\n  world_size: 4\n")
    assert check_text(cuda, catalog=_with_gpus(catalog, 4)) == []
    cpu = _cfg("  device: cpu\n  distributed: true\n  world_size: 4\n")
    assert check_text(cpu, catalog=_with_gpus(catalog, 0)) == []


def test_the_catalog_counts_this_machines_gpus(catalog) -> None:
    import torch

    assert catalog.cuda_devices == torch.cuda.device_count()
