"""`arcgraph train --nproc-per-node N ...`: the same training on N processes per node, started
by torchrun (`torch.distributed.run`, through its API so that a failed rank is known by number).

Everything that can refuse is checked here, before a process starts: the spec's world_size
against the flags, a batch_size that the processes cannot share evenly, and one that gives
each CPU process a single row of a batch for a model with BatchNorm. With
`--max-restarts K` torchrun restarts the whole group when a rank dies; each restarted rank 0
resumes the run directory the first attempt made (noted in a folder this launcher owns).
Without restarts the run ends `failed`, and the message names the rank.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any
from uuid import uuid4

from arcgraph.training.errors import ResumeError, SpecError, TrainError


def add_launch_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "distributed (torchrun)",
        "train on several processes with torch.distributed (DDP), launched by torchrun; "
        "batch_size stays the global batch (docs/distributed.md)",
    )
    group.add_argument(
        "--nproc-per-node",
        type=int,
        metavar="N",
        help="train on N processes on this node, under torchrun (default: config.world_size "
        "/ M with config.distributed: true, else one process without torchrun)",
    )
    group.add_argument(
        "--nnodes",
        type=int,
        default=1,
        metavar="M",
        help="nodes in the run, each started with the same flags and its own --node-rank "
        "(default: 1)",
    )
    group.add_argument(
        "--node-rank",
        type=int,
        default=0,
        metavar="R",
        help="this node's rank, 0 to M-1; node 0 holds rank 0, which writes the run directory "
        "(default: 0)",
    )
    group.add_argument(
        "--rdzv-endpoint",
        metavar="HOST:PORT",
        help="node 0's address, where the nodes meet (required with --nnodes > 1)",
    )
    group.add_argument(
        "--max-restarts",
        type=int,
        default=0,
        metavar="K",
        help="restart the group up to K times when a rank dies; it resumes from the last "
        "checkpoint (default: 0)",
    )


def wants_launch(args: argparse.Namespace) -> bool:
    """A launch: a process count given, or a spec with `distributed: true` and world_size, and
    this process not already one of torchrun's workers."""
    if "TORCHELASTIC_RUN_ID" in os.environ:
        return False
    if args.nproc_per_node is not None:
        return True
    cfg = _config(args)
    return bool(cfg.get("distributed")) and isinstance(cfg.get("world_size"), int)


def _config(args: argparse.Namespace) -> dict[str, Any]:
    """The trainer spec's config with the --set overrides; {} when it cannot be read (the
    trainer then says why, as for one process)."""
    spec = _trainer(args)[1]
    cfg = spec.get("config") if isinstance(spec, dict) else None
    return cfg if isinstance(cfg, dict) else {}


def _trainer(args: argparse.Namespace) -> tuple[str, Any]:
    """(text, spec) of the trainer with the --set overrides; ("", None) when it cannot be
    read."""
    import yaml

    from arcgraph.engine.files import NotRegularFile, read_regular
    from arcgraph.engine.overrides import OverrideError, apply_overrides, parse_override

    try:
        data = read_regular(Path(args.trainer))  # never opens a FIFO: the trainer says why
        if data is None:
            return "", None
        text = data.decode("utf-8")
        if args.overrides:
            text = apply_overrides(text, [parse_override(o) for o in args.overrides]).text
        return text, yaml.safe_load(text)
    except (OSError, NotRegularFile, UnicodeDecodeError, yaml.YAMLError, OverrideError):
        return "", None


def _check_batchnorm(args: argparse.Namespace, batch_size: int, world_size: int) -> None:
    """BatchNorm with one row of a batch per CPU process: refused here (each rank refuses it
    too). A model that cannot be found or built is left to the ranks to report."""
    import yaml

    from arcgraph.training.device import resolve_device
    from arcgraph.training.distributed import (
        batchnorm_in_spec,
        check_batchnorm_share,
        one_row_shares,
    )
    from arcgraph.training.preflight import config_key_place, resolve_model

    text, spec = _trainer(args)
    cfg = spec.get("config") if isinstance(spec, dict) else None
    device_name = cfg.get("device", "auto") if isinstance(cfg, dict) else "auto"
    if not isinstance(device_name, str):
        return
    try:
        device = resolve_device(device_name)
        if not one_row_shares(batch_size, world_size, device):
            return
        trainer = Path(args.trainer)
        model_path = resolve_model(trainer, spec.get("model_ref"), args.model)
        model_spec = yaml.safe_load(model_path.read_text(encoding="utf-8"))
        node = batchnorm_in_spec(model_spec) if isinstance(model_spec, dict) else None
    except Exception:  # the ranks say what is wrong, as for one process
        return
    where = config_key_place(trainer, text, "batch_size")
    check_batchnorm_share(batch_size, world_size, node, device, where)


def check_flags(args: argparse.Namespace) -> int:
    """-> processes per node; SpecError for a contradiction, before anything starts."""
    from arcgraph.training.distributed import check_backend, check_world

    cfg = _config(args)
    spec_w = cfg.get("world_size") if isinstance(cfg.get("world_size"), int) else None
    if args.nnodes < 1 or (args.nproc_per_node is not None and args.nproc_per_node < 1):
        raise SpecError("--nproc-per-node and --nnodes must be at least 1")
    if args.nnodes > 1 and not args.rdzv_endpoint:
        raise SpecError("--nnodes > 1 needs --rdzv-endpoint HOST:PORT (node 0's address)")
    if not 0 <= args.node_rank < args.nnodes:
        raise SpecError(
            f"--node-rank {args.node_rank} is not a node of --nnodes {args.nnodes}; give each"
            f" node its rank, 0 to {args.nnodes - 1}"
        )
    nproc = args.nproc_per_node
    if nproc is None:
        nproc = max(1, (spec_w or 1) // args.nnodes)
    batch = cfg.get("batch_size")
    check_world(batch if isinstance(batch, int) else 0, nproc * args.nnodes, spec_w)
    if isinstance(batch, int):
        _check_batchnorm(args, batch, nproc * args.nnodes)
    backend, device = cfg.get("backend"), cfg.get("device", "auto")
    if backend == "nccl" and isinstance(device, str):  # this node's device, as each rank's
        from arcgraph.training.device import resolve_device

        check_backend(backend, resolve_device(device))
    return nproc


def check_resume(args: argparse.Namespace, world_size: int) -> None:
    """A streamed run's mid-epoch checkpoint on another process count: refused here, before a
    process starts (each rank would refuse it too, see stream_data.streamed_resume_problem)."""
    if args.resume is None:
        return
    from arcgraph.training import checkpoint as ckpt_io
    from arcgraph.training.errors import DataError
    from arcgraph.training.stream_data import (
        memory_bound_mb,
        should_stream,
        streamed_resume_problem,
    )

    run_dir = Path(args.resume)
    latest = ckpt_io.list_checkpoints(run_dir)
    progress = ckpt_io.progress_of(latest[0].name) if latest else None
    if progress is None or not progress[1]:  # none, or at an epoch's end: any count resumes
        return
    try:
        streamed = should_stream(Path(args.data), memory_bound_mb(args.data_memory_mb))
        found = ckpt_io.latest_checkpoint(run_dir) if streamed else None
    except (DataError, ResumeError):  # the ranks say what is wrong, as for one process
        return
    if found is not None:
        problem = streamed_resume_problem(found[0], found[1], world_size)
        if problem is not None:
            raise ResumeError(problem)


def _child_args(args: argparse.Namespace) -> list[str]:
    """`arcgraph train` arguments for each rank: the same run, without the launch flags."""
    out = ["--trainer", args.trainer, "--data", args.data, "--out", args.out]
    for flag, value in (
        ("--model", args.model),
        ("--target", args.target),
        ("--name", args.name),
        ("--resume", args.resume),
        ("--events", args.events),
    ):
        if value is not None:
            out += [flag, value]
    for override in args.overrides:
        out += ["--set", override]
    out += ["--force"] if args.force else []
    out += ["--quiet"] if args.quiet else []
    if args.data_memory_mb is not None:
        out += ["--data-memory-mb", repr(args.data_memory_mb)]
    return out


def _torchrun_argv(args: argparse.Namespace, nproc: int) -> list[str]:
    argv = [f"--nproc-per-node={nproc}", f"--nnodes={args.nnodes}"]
    argv.append(f"--max-restarts={args.max_restarts}")
    if args.rdzv_endpoint:
        argv += [f"--node-rank={args.node_rank}", f"--rdzv-endpoint={args.rdzv_endpoint}"]
    else:  # one node: torchrun's --standalone (a local rendezvous on a free port)
        argv += ["--rdzv-backend=c10d", "--rdzv-endpoint=localhost:0", f"--rdzv-id={uuid4()}"]
    return [*argv, "-m", "arcgraph", "train", *_child_args(args)]


def launch(args: argparse.Namespace) -> int:
    """Runs the group; -> the exit status `arcgraph train` returns."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import elastic_launch
    from torch.distributed.run import config_from_args, get_args_parser

    from arcgraph.training.distributed import RUN_DIR_FILE, STATE_ENV

    try:
        nproc = check_flags(args)
        check_resume(args, nproc * args.nnodes)
    except TrainError as err:
        print(f"arcgraph train: error: {err}", file=sys.stderr)
        return 1
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # torchrun's default for W processes, unsaid
    state = Path(tempfile.mkdtemp(prefix="arcgraph-dist-"))
    os.environ[STATE_ENV] = str(state)
    try:
        config, cmd, cmd_args = config_from_args(
            get_args_parser().parse_args(_torchrun_argv(args, nproc))
        )
        elastic_launch(config, cmd)(*cmd_args)
        return 0
    except SignalException as err:  # Ctrl-C/SIGTERM: torchrun passed it on to the ranks
        print(f"arcgraph train: stopped by {signal.Signals(err.sigval).name}", file=sys.stderr)
        return 128 + int(err.sigval)
    except ChildFailedError as err:
        message = failure_message(err.failures, args.max_restarts)
        noted = state / RUN_DIR_FILE
        run_dir = Path(noted.read_text(encoding="utf-8")) if noted.is_file() else None
        if run_dir is not None:
            _write_failed(run_dir, message, nproc * args.nnodes)
        _event(args.events, message)
        print(f"arcgraph train: error: {message}", file=sys.stderr)
        return 1
    finally:
        os.environ.pop(STATE_ENV, None)
        shutil.rmtree(state, ignore_errors=True)


def failure_message(failures: dict[int, Any], max_restarts: int) -> str:
    """Names the rank that failed first: one killed by a signal (not torchrun's SIGTERM to the
    others) before one that exited after losing its peers, before one torchrun stopped."""

    def order(item: tuple[int, Any]) -> tuple[int, int]:
        code = item[1].exitcode
        stopped = code == -signal.SIGTERM
        return (2 if stopped else 0 if code < 0 else 1), item[1].timestamp

    ranked = sorted(failures.items(), key=order)
    rank, failure = ranked[0]
    if failure.exitcode < 0:
        how = f"was killed by {failure.signal_name()}"
    else:
        how = f"exited with status {failure.exitcode}"
    tries = f" after {max_restarts} restart(s)" if max_restarts else ""
    hint = "" if max_restarts else " (--max-restarts K restarts the group from its checkpoint)"
    return f"rank {rank} (pid {failure.pid}) {how}; the run stopped{tries}{hint}"


def _write_failed(run_dir: Path, message: str, world_size: int) -> None:
    """summary.json says `failed` unless rank 0 wrote its own failed or interrupted summary
    (richer: a Ctrl-C/SIGTERM reaches every rank, and rank 0 checkpointed)."""
    from arcgraph.training import checkpoint as ckpt_io
    from arcgraph.training import rundir

    path = run_dir / rundir.SUMMARY_FILE
    with contextlib.suppress(OSError, ValueError):
        if path.is_file() and json.loads(path.read_text())["status"] in ("failed", "interrupted"):
            return
    latest = ckpt_io.list_checkpoints(run_dir)
    summary = {
        "status": "failed",
        "error": message,
        "run_dir": str(run_dir),
        "world_size": world_size,
        "checkpoint": str(latest[0]) if latest else None,
    }
    with contextlib.suppress(OSError):
        rundir.write_json(path, summary)


def _event(target: str | None, message: str) -> None:
    if target is None:
        return
    from arcgraph.training.events import JsonLines

    with contextlib.suppress(Exception):
        sink = JsonLines(target)
        sink({"event": "error", "kind": "RankFailed", "message": message})
        sink.close()
