"""Training on W processes with torch.distributed (launched by torchrun): who this process is,
the process group, and the few collectives the trainer needs.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK in each worker's environment; that environment,
not a flag, says a run is distributed, so `torchrun -m arcgraph train ...` by hand and
`arcgraph train --nproc-per-node N` (which runs torchrun) behave the same. Rank 0 decides what
only one process may decide (the run directory, a random seed, the checkpoint to resume from)
and broadcasts it; every rank trains; only rank 0 writes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch.distributed.distributed_c10d import PrefixStore, Store
from torch.distributed.rendezvous import rendezvous

from arcgraph.training import errors

T = TypeVar("T")

# Where rank 0 notes the run directory, so that a group restarted by torchrun resumes it.
STATE_ENV = "ARCGRAPH_DIST_STATE"
RUN_DIR_FILE = "run_dir"


@dataclass(frozen=True)
class World:
    """This process's place in the group; World() is a single process."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    restart: int = 0  # torchrun's restart count (TORCHELASTIC_RESTART_COUNT)
    launched: bool = False  # started by torchrun (even as a single process)

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def shard(self, lo: int, hi: int) -> tuple[int, int]:
        """This rank's contiguous share of rows [lo, hi): the shares of all ranks tile it."""
        n = hi - lo
        return lo + self.rank * n // self.world_size, lo + (self.rank + 1) * n // self.world_size


SINGLE = World()


def world_from_env() -> World:
    """The World torchrun's environment describes; SINGLE outside torchrun."""
    env = os.environ
    if "RANK" not in env or "WORLD_SIZE" not in env:
        return SINGLE
    return World(
        rank=int(env["RANK"]),
        world_size=int(env["WORLD_SIZE"]),
        local_rank=int(env.get("LOCAL_RANK", "0")),
        restart=int(env.get("TORCHELASTIC_RESTART_COUNT", "0")),
        launched="TORCHELASTIC_RUN_ID" in env,
    )


def default_backend(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def check_backend(backend: str | None, device: torch.device) -> str:
    """The backend the group uses: the spec's, else nccl on CUDA and gloo elsewhere; nccl off
    CUDA is refused (the launcher says it before any process starts)."""
    chosen = backend or default_backend(device)
    if chosen == "nccl" and device.type != "cuda":
        raise errors.SpecError(
            f"config.backend 'nccl' needs CUDA devices but the run is on {device};"
            " use backend: gloo, or config.device: cuda"
        )
    return chosen


def check_world(batch_size: int, world_size: int, spec_world_size: int | None) -> None:
    """Refusals before any process starts: the spec's world_size against the flags', and a
    global batch that W processes cannot share evenly."""
    if spec_world_size is not None and spec_world_size != world_size:
        raise errors.SpecError(
            f"config.world_size is {spec_world_size} but this run has {world_size} processes;"
            f" make --nproc-per-node x --nnodes equal config.world_size, or remove it"
        )
    if batch_size % world_size:
        raise errors.SpecError(
            f"config.batch_size {batch_size} is not divisible by the {world_size} processes;"
            f" each process takes batch_size / {world_size} rows of a batch: use a multiple"
            f" of {world_size}"
        )


def unsynced_batchnorm(net: torch.nn.Module) -> str | None:
    """The name of `net`'s first BatchNorm layer that is not a SyncBatchNorm (None when it
    has none): on W processes it normalizes over each process's own rows of a batch."""
    for name, module in net.named_modules():
        batchnorm = isinstance(module, torch.nn.modules.batchnorm._BatchNorm)
        if batchnorm and not isinstance(module, torch.nn.SyncBatchNorm):
            return name
    return None


def batchnorm_in_spec(model_spec: dict[str, Any]) -> str | None:
    """The node name of the model's first BatchNorm layer (in modules and stacks too), from
    the spec built on the meta device (no storage); None when it has none."""
    from arcgraph.builder.build import build_model

    return unsynced_batchnorm(build_model(model_spec, device="meta"))


def one_row_shares(batch_size: int, world_size: int, device: torch.device) -> bool:
    """W processes off CUDA, each with a single row of a batch: a BatchNorm layer, which each
    then runs over its own rows (torch has SyncBatchNorm only on CUDA), cannot train."""
    return device.type != "cuda" and world_size > 1 and batch_size == world_size


def check_batchnorm_share(
    batch_size: int, world_size: int, node: str | None, device: torch.device, where: str
) -> None:
    """Refused before any process starts: `one_row_shares` with BatchNorm node `node` (see
    `batchnorm_in_spec`). `where` locates config.batch_size."""
    if node is None or not one_row_shares(batch_size, world_size, device):
        return
    raise errors.SpecError(
        f"{where}: config.batch_size {batch_size} gives each of the {world_size} processes 1"
        f" row of a batch, and BatchNorm node '{node}' cannot train on 1 row: on {device.type}"
        f" each process normalizes over its own rows (SyncBatchNorm needs CUDA); use a"
        f" batch_size of at least {2 * world_size} (2 x {world_size} processes)"
    )


def sync_batchnorm(net: torch.nn.Module, device: torch.device) -> torch.nn.Module | None:
    """`net` for DDP: on CUDA its BatchNorm layers become SyncBatchNorm (statistics over the
    whole global batch, as one process computes them); None when it has BatchNorm on a device
    without SyncBatchNorm (the CPU: each process then normalizes over its share)."""
    has_bn = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.modules())
    if not has_bn:
        return net
    if device.type != "cuda":
        return None
    return torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)


def init(world: World, backend: str, device: torch.device) -> torch.device:
    """The process group, once; -> this rank's device (cuda:LOCAL_RANK on CUDA)."""
    if device.type == "cuda":
        gpus = torch.cuda.device_count()
        if world.local_rank >= gpus:
            raise errors.SpecError(
                f"process {world.local_rank} of this node has no GPU: the node has {gpus} CUDA"
                f" device(s); use --nproc-per-node {gpus} or fewer, or config.device: cpu"
            )
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(
            backend, rank=world.rank, world_size=world.world_size, store=_attempt_store(world)
        )
    return device


def _attempt_store(world: World) -> Store | None:
    """torchrun's store with this attempt's own key prefix (None: torch's env:// default).

    A group restarted by torchrun (c10d rendezvous) meets in the same agent store as the
    attempt before it; without a prefix the new ranks read the dead ranks' gloo addresses and
    wait on them until the timeout ("Connection refused")."""
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True":
        return None
    store, _rank, _size = next(
        rendezvous("env://", world.rank, world.world_size, timeout=timedelta(minutes=30))
    )
    return PrefixStore(f"arcgraph/attempt-{world.restart}", store)


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def broadcast(world: World, value: Any) -> Any:
    """Rank 0's value on every rank (pickled)."""
    if not world.distributed:
        return value
    box = [value if world.main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_gather(world: World, value: Any) -> list[Any]:
    if not world.distributed:
        return [value]
    out: list[Any] = [None] * world.world_size
    dist.all_gather_object(out, value)
    return out


def sum_(world: World, tensor: torch.Tensor) -> torch.Tensor:
    """The sum over the ranks (in place; the tensor itself when single)."""
    if world.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def decided_on_main(world: World, decide: Callable[[], T]) -> T:
    """`decide()` on rank 0, its value (or its TrainError, with the same words) on every rank:
    the other ranks never wait for a value rank 0 will not send."""
    if not world.distributed:
        return decide()
    failure: errors.TrainError | None = None
    value: Any = None
    if world.main:
        try:
            value = decide()
        except errors.TrainError as err:
            failure = err
    payload = broadcast(world, (value, None if failure is None else (type(failure), str(failure))))
    if failure is not None:
        raise failure
    value, failed = payload
    if failed is not None:
        kind, words = failed
        plain = (errors.SpecError, errors.ResumeError, errors.DataError, errors.RunDirError)
        raise kind(words) if kind in plain else errors.TrainError(words)
    return value


def state_dir() -> Path:
    """Where rank 0 notes the run directory for a restarted group: the launcher's folder, or
    (torchrun by hand) one per torchrun run id."""
    given = os.environ.get(STATE_ENV)
    if given:
        return Path(given)
    run_id = os.environ.get("TORCHELASTIC_RUN_ID", "none")
    return Path(tempfile.gettempdir()) / f"arcgraph-dist-{os.getuid()}-{run_id}"


def note_run_dir(run_dir: Path) -> None:
    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RUN_DIR_FILE).write_text(str(run_dir.resolve()), encoding="utf-8")


def noted_run_dir() -> Path | None:
    """The run directory an earlier attempt of this group made (a torchrun restart)."""
    path = state_dir() / RUN_DIR_FILE
    return Path(path.read_text(encoding="utf-8")) if path.is_file() else None
