"""Distributed-training checks (trainer spec v1.1): `config.backend` and `config.world_size`
judged against the rest of the config, as the trainer would refuse them before starting:
nccl needs CUDA devices, and W processes share the global batch_size evenly.
"""

from __future__ import annotations

from arcgraph.engine import codes
from arcgraph.engine.checks.context import CheckContext
from arcgraph.engine.diagnostics import Related, Severity
from arcgraph.engine.source import YMap, YScalar


def _scalar(m: YMap, key: str) -> YScalar | None:
    node = m.get(key)
    return node if isinstance(node, YScalar) else None


def _int(node: YScalar | None) -> int | None:
    value = None if node is None else node.value
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def check_distributed(ctx: CheckContext, cfg: YMap) -> None:
    """AG270 (nccl on a CPU-only device), AG271 (batch_size not divisible by world_size),
    AG272 (info: more CUDA processes than this machine's GPUs, from the torch catalog)."""
    backend, device = _scalar(cfg, "backend"), _scalar(cfg, "device")
    cpu_only = device is not None and device.value in ("cpu", "mps")
    if backend is not None and backend.value == "nccl" and device is not None and cpu_only:
        ctx.report(
            codes.NCCL_WITHOUT_CUDA,
            f"backend 'nccl' needs CUDA devices, but device is '{device.value}'; use"
            " backend: gloo, or device: cuda",
            backend.span,
            related=(Related(str(ctx.path), device.span, f"the device is '{device.value}'"),),
            data={"fix": "replace_value", "with": "gloo"},
        )
    size_node, batch_node = _scalar(cfg, "world_size"), _scalar(cfg, "batch_size")
    gpus = ctx.catalog.cuda_devices if ctx.catalog is not None else None
    on_cuda = (device is not None and device.value == "cuda") or (
        backend is not None and backend.value == "nccl"
    )
    world = _int(size_node)
    if (
        size_node is not None
        and world is not None
        and gpus is not None
        and on_cuda
        and world > gpus
    ):
        ctx.report(
            codes.WORLD_EXCEEDS_GPUS,
            f"world_size {world} is more processes than the {gpus} CUDA device(s) of this"
            " machine (one GPU per process); fine if the spec is meant for another machine or"
            " several nodes",
            size_node.span,
            Severity.INFO,
        )
    batch = _int(batch_node)
    if size_node is not None and world is not None and batch is not None and batch % world:
        ctx.report(
            codes.BATCH_NOT_DIVISIBLE,
            f"batch_size {batch} is not divisible by world_size {world}: each process takes"
            f" batch_size / {world} rows of every batch; use a multiple of {world}",
            size_node.span,
            related=(Related(str(ctx.path), batch_node.span, f"the batch_size is {batch}"),)
            if batch_node is not None
            else (),
        )
