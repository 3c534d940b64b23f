"""`arcgraph.train(...)`: the one entry point used by the CLI and the language server.

Order of work, so that nothing expensive happens before a cheap check could refuse:
specs read and checked by the engine -> trainer config, device, loss and monitor validated ->
run directory chosen (a resume is checked against its specs) -> model built from the seed ->
data read and checked -> training.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch
import yaml

from arcgraph.builder.build import GraphModule, build_model
from arcgraph.engine.overrides import (
    ENVIRONMENT_KEYS,
    Applied,
    OverrideError,
    apply_overrides,
    parse_override,
)
from arcgraph.training import checkpoint as ckpt_io
from arcgraph.training import distributed as dist_
from arcgraph.training import rundir
from arcgraph.training.callbacks import Callback, build_callbacks
from arcgraph.training.config import OptimizerSpec, TrainerConfig, parse_trainer
from arcgraph.training.cudagraph import CudaGraphStep, capture_blocker
from arcgraph.training.data import (
    Dataset,
    check_class_indices,
    check_streamable,
    fingerprint,
    load_dataset,
    rows_to_tensors,
)
from arcgraph.training.device import resolve_device
from arcgraph.training.distributed import World, world_from_env
from arcgraph.training.errors import (
    DataError,
    NonFiniteLossError,
    OutputError,
    ResumeError,
    SpecError,
    TrainError,
    TrainingInterrupted,
)
from arcgraph.training.events import EventSink, Reporter
from arcgraph.training.loop import DeviceData, Loop, RunContext
from arcgraph.training.losses import LossSpec, parse_loss
from arcgraph.training.optim import make_optimizer
from arcgraph.training.placement import align_target, class_count, loss_mismatch, place
from arcgraph.training.precision import FP32, Precision, resolve_precision
from arcgraph.training.preflight import check_specs, config_key_place, resolve_model
from arcgraph.training.runlock import RunLock
from arcgraph.training.schedule import Schedule, SchedulerSpec, make_scheduler, parse_scheduler
from arcgraph.training.signals import GracefulStop
from arcgraph.training.split import split_indices
from arcgraph.training.stream_data import (
    StreamData,
    bound_or_default,
    memory_bound_mb,
    should_stream,
    streamed_resume_problem,
)
from arcgraph.training.streaming import StreamingTable
from arcgraph.training.vocab import apply_vocabularies

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader


def _load_yaml(path: Path) -> tuple[str, Any]:
    from arcgraph.engine.files import not_regular

    kind = not_regular(path)
    if kind is not None:  # never opened: reading a FIFO waits for a writer
        raise SpecError(f"cannot read {path}: not a regular file ({kind})")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SpecError(f"cannot read {path}: {err.strerror}") from err
    try:
        return text, yaml.load(text, Loader=_Loader)  # a safe loader
    except yaml.YAMLError as err:
        raise SpecError(f"{path}: not valid YAML: {err}") from err


def _model_id(path: Path) -> str:
    from arcgraph.engine.kinds import model_id_of

    return model_id_of(path)


def choose_monitor(cfg: TrainerConfig, raw_config: dict[str, Any], loss: LossSpec) -> str:
    """The monitored metric; naming one that this run does not produce is an error."""
    produced = ["train_loss"]
    if cfg.validation_split > 0:
        produced += ["val_loss", *loss.metrics]
    explicit = raw_config.get("early_stopping_monitor") is not None
    monitor = cfg.early_stopping_monitor
    if not explicit and cfg.validation_split == 0:
        monitor = "train_loss"
    if monitor not in produced:
        why = (
            " (validation_split is 0)"
            if monitor.startswith("val_") and cfg.validation_split == 0
            else ""
        )
        raise SpecError(
            f"config.early_stopping_monitor '{monitor}' is not a metric of this run{why}; "
            f"it produces: {', '.join(produced)}"
        )
    return monitor


def _scheduler_spec(
    trainer_spec: dict[str, Any], cfg: TrainerConfig, loss: LossSpec, monitor: str
) -> SchedulerSpec | None:
    """The scheduler (v1.1); its monitor is the early-stopping one unless it names a metric
    of this run itself."""
    sched = parse_scheduler(trainer_spec.get("scheduler"))
    if sched is None or sched.monitor is None:
        return None if sched is None else replace(sched, monitor=monitor)
    named = replace(cfg, early_stopping_monitor=sched.monitor)
    try:
        choose_monitor(named, {"early_stopping_monitor": sched.monitor}, loss)
    except SpecError as err:
        words = str(err).replace("config.early_stopping_monitor", "scheduler.monitor")
        raise SpecError(words) from err
    return sched


@contextlib.contextmanager
def _isolated_rng(device: torch.device) -> Iterator[None]:
    """Training seeds and restores global RNGs; the caller's RNG state is left as it was."""
    py, npst = random.getstate(), np.random.get_state()
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(py)
            np.random.set_state(npst)


def train(
    trainer: str | Path,
    data: str | Path,
    *,
    model: str | Path | None = None,
    target: str | None = None,
    out: str | Path = "runs",
    resume: str | Path | None = None,
    force: bool = False,
    events: EventSink | None = None,
    run_name: str | None = None,
    verbose: bool | None = None,
    overrides: list[str] | None = None,
    data_memory_mb: float | None = None,
) -> dict[str, Any]:
    """Train and return the run's summary (also written to `<run_dir>/summary.json`).

    Raises a TrainError subclass for anything the user must fix (SpecError, DataError,
    ResumeError, NonFiniteLossError) and TrainingInterrupted after a first Ctrl-C/SIGTERM.
    `verbose` overrides the trainer's `config.verbose` (the API's default is the spec's).
    `overrides` are `KEY=VALUE` texts (`--set`) applied to the trainer spec for this run.
    `data_memory_mb` bounds the memory of streamed Parquet data (`--data-memory-mb`; None:
    ARCGRAPH_DATA_MEMORY_MB, else the default).
    """
    world = world_from_env()  # torchrun's environment: this is one rank of W
    if not world.main:  # rank 0 reports and writes; the others train silently
        events, verbose = None, False
    reporter = Reporter(events, verbose=True if verbose is None else verbose)
    try:
        # The stack holds the run directory's lock until the run has ended, summary and all.
        with contextlib.ExitStack() as stack:
            return _train(
                Path(trainer),
                Path(data),
                model=model,
                target=target,
                out=Path(out),
                resume=None if resume is None else Path(resume),
                force=force,
                run_name=run_name,
                reporter=reporter,
                verbose=verbose,
                overrides=overrides or [],
                stack=stack,
                world=world,
                data_memory_mb=data_memory_mb,
            )
    except TrainingInterrupted as err:
        reporter.error(err, checkpoint=err.checkpoint)
        raise
    except NonFiniteLossError as err:
        reporter.error(err, epoch=err.epoch, batch=err.batch)
        raise
    except TrainError as err:
        reporter.error(err)
        raise
    except KeyboardInterrupt as err:
        reporter.error(err)
        raise


@dataclass
class _Specs:
    """The run's specs, read and checked: everything decided before a file is written."""

    trainer_path: Path
    trainer_text: str
    model_path: Path
    model_text: str
    model_spec: dict[str, Any]
    opt_spec: OptimizerSpec
    cfg: TrainerConfig
    device: torch.device
    loss: LossSpec
    target: str
    monitor: str
    model_id: str
    hashes: dict[str, str]
    callbacks: list[Callback] = field(default_factory=list)  # spec v1.1: arc.callbacks
    scheduler: SchedulerSpec | None = None  # spec v1.1
    precision: Precision = FP32  # spec v1.1: config.mixed_precision on this device
    applied: Applied | None = None  # the --set overrides and the effective trainer text


@dataclass
class _Resumed:
    """The checkpoint a resume continues from. `state` is taken (and dropped) by `_restore`:
    kept, it would hold a second copy of the weights and optimizer state through training."""

    path: Path
    state: dict[str, Any] | None


@dataclass
class _Start:
    """Where the run goes: an existing run directory (resume) or None (made once the data
    passed its checks), the seed, and the checkpoint to continue from."""

    run_dir: Path | None
    seed: int
    resumed: _Resumed | None = None
    finished: dict[str, Any] | None = None  # the summary of a run that has nothing left to do


@dataclass
class _Data:
    dataset: Dataset
    train_idx: torch.Tensor
    val_idx: torch.Tensor
    placed: DeviceData
    notes: list[str]
    vocabularies: dict[str, Any] = field(default_factory=dict)  # categorical inputs'


def _train(
    trainer_path: Path,
    data_path: Path,
    *,
    model: str | Path | None,
    target: str | None,
    out: Path,
    resume: Path | None,
    force: bool,
    run_name: str | None,
    reporter: Reporter,
    verbose: bool | None,
    overrides: list[str],
    stack: contextlib.ExitStack,
    world: World = dist_.SINGLE,
    data_memory_mb: float | None = None,
) -> dict[str, Any]:
    specs = _read_specs(trainer_path, model, target, reporter, verbose, overrides)
    if world.distributed:
        specs = _join_group(specs, world, stack)
    if resume is None and world.restart:  # torchrun restarted the group: continue its run
        resume = dist_.decided_on_main(world, dist_.noted_run_dir)
        if resume is not None:
            reporter.info(f"restart {world.restart} of the group: resuming {resume}")
    start = dist_.decided_on_main(
        world,
        lambda: _prepare_run_dir(specs, data_path, out, resume, force, run_name, reporter, stack),
    )
    if start.finished is not None:
        reporter.end(start.finished)
        return start.finished
    with _isolated_rng(specs.device):
        net, optimizer = _build(specs, start.seed)
        data = _load_data(
            specs,
            data_path,
            net,
            start.seed,
            _saved_vocabularies(start.resumed),
            world=world,
            memory_mb=data_memory_mb,
        )
        if data.placed.own_order and start.resumed is not None and start.resumed.state:
            problem = streamed_resume_problem(
                start.resumed.path, start.resumed.state, world.world_size, _windows(data.placed)
            )
            if problem is not None:  # every rank has the state: each refuses alike
                raise ResumeError(problem)
        run_dir = dist_.decided_on_main(
            world,
            lambda: _write_run_dir(specs, start, data, out, run_name, resume is not None, stack),
        )
        if world.launched and world.main:
            dist_.note_run_dir(run_dir)
        ddp = _wrap(net, specs, world, reporter)
        if specs.precision.name is not None:
            scaler = ", loss scaled by torch.amp.GradScaler" if specs.precision.scaled else ""
            reporter.info(
                f"mixed precision: {specs.precision.name} autocast on {specs.device}{scaler}"
            )
        graph_step = _graph_step(
            net, specs.loss, optimizer, specs.cfg, specs.device, reporter, specs.precision
        )
        if graph_step is not None and world.distributed:
            reporter.info("CUDA graph not used, training eagerly: the run is distributed")
            graph_step = None
        if graph_step is not None and specs.scheduler is not None:
            reporter.info(
                "CUDA graph not used, training eagerly: the scheduler changes the learning "
                "rate between steps, which a captured step would not see"
            )
            graph_step = None
        with GracefulStop() as stop:
            loop = _make_loop(
                specs,
                net,
                optimizer,
                data,
                run_dir,
                start.seed,
                reporter,
                stop,
                graph_step,
                world=world,
                ddp=ddp,
            )
            resumed_from = _restore(loop, start.resumed)
            summary = _fit(specs, loop, data, run_dir, start.seed, resumed_from, reporter)
    if world.main:
        _finish(run_dir, loop, summary, specs.model_id, reporter)
    else:
        reporter.end(summary)
    return summary


def _join_group(specs: _Specs, world: World, stack: contextlib.ExitStack) -> _Specs:
    """The checks W processes need, then the process group; -> the specs on this rank's
    device (cuda:LOCAL_RANK on CUDA)."""
    cfg = specs.cfg
    dist_.check_world(cfg.batch_size, world.world_size, cfg.world_size)
    text = specs.trainer_text if specs.applied is None else specs.applied.text
    where = config_key_place(specs.trainer_path, text, "batch_size")
    if dist_.one_row_shares(cfg.batch_size, world.world_size, specs.device):
        node = dist_.batchnorm_in_spec(specs.model_spec)
        dist_.check_batchnorm_share(cfg.batch_size, world.world_size, node, specs.device, where)
    backend = dist_.check_backend(cfg.backend, specs.device)
    device = dist_.init(world, backend, specs.device)
    stack.callback(dist_.shutdown)
    return replace(specs, device=device)


def _wrap(
    net: GraphModule, specs: _Specs, world: World, reporter: Reporter
) -> torch.nn.Module | None:
    """DistributedDataParallel around the model (None for one process). BatchNorm becomes
    SyncBatchNorm on CUDA (batch statistics over the whole global batch); on CPU torch has no
    SyncBatchNorm, so each process normalizes over its share of the batch (said once)."""
    if not world.distributed:
        return None
    from torch.nn.parallel import DistributedDataParallel

    module = dist_.sync_batchnorm(net, specs.device)
    if module is None:
        module = net
        reporter.info(
            "BatchNorm on CPU processes: each normalizes over its share of the batch "
            "(SyncBatchNorm needs CUDA), so results differ from one process slightly"
        )
    ids = [specs.device.index] if specs.device.type == "cuda" else None
    reporter.info(
        f"distributed: {world.world_size} processes",
        world_size=world.world_size,
        rank_pids=dist_.all_gather(world, os.getpid()),
        restart=world.restart,
    )
    return DistributedDataParallel(module, device_ids=ids)


def _read_specs(
    trainer_path: Path,
    model: str | Path | None,
    target: str | None,
    reporter: Reporter,
    verbose: bool | None,
    overrides: list[str],
) -> _Specs:
    """Specs read, checked by the engine, typed; no data has been touched yet."""
    trainer_text, trainer_spec = _load_yaml(trainer_path)
    applied, hashed = _apply_overrides(trainer_path, trainer_text, overrides)
    if applied is not None:
        trainer_spec = yaml.load(applied.text, Loader=_Loader)  # a safe loader
    model_ref = trainer_spec.get("model_ref") if isinstance(trainer_spec, dict) else None
    model_path = resolve_model(trainer_path, model_ref, model)
    check_specs(trainer_path, model_path, model_overridden=model is not None, applied=applied)
    model_text, model_spec = _load_yaml(model_path)
    if not isinstance(model_spec, dict):
        raise SpecError(f"{model_path}: a model spec must be a YAML mapping")
    _ref, opt_spec, cfg = parse_trainer(trainer_spec)
    reporter.verbose = cfg.verbose if verbose is None else verbose
    device = resolve_device(cfg.device)
    loss = parse_loss(model_spec, device)
    monitor = choose_monitor(cfg, trainer_spec.get("config") or {}, loss)
    return _Specs(
        precision=resolve_precision(cfg.mixed_precision, device),
        trainer_path=trainer_path,
        trainer_text=trainer_text,
        model_path=model_path,
        model_text=model_text,
        model_spec=model_spec,
        opt_spec=opt_spec,
        cfg=cfg,
        device=device,
        loss=loss,
        target=target or loss.target,
        monitor=monitor,
        model_id=_model_id(model_path),
        hashes={
            "model": rundir.sha256_text(model_text),
            "trainer": rundir.sha256_text(hashed),
        },
        applied=applied,
        scheduler=_scheduler_spec(trainer_spec, cfg, loss, monitor),
        callbacks=_callbacks(trainer_spec, cfg, loss),
    )


def _apply_overrides(
    trainer_path: Path, text: str, overrides: list[str]
) -> tuple[Applied | None, str]:
    """(the overrides applied, the text the spec's hash is of). The hash leaves out the
    overrides of ENVIRONMENT_KEYS (where the run happens), so a resume may change those and
    is refused, as for an edited file, when any other override differs."""
    if not overrides:
        return None, text
    try:
        parsed = [parse_override(o) for o in overrides]
        applied = apply_overrides(text, parsed)
        kept = [o for o in parsed if o.path not in ENVIRONMENT_KEYS]
        hashed = apply_overrides(text, kept).text if kept else text
    except OverrideError as err:
        raise SpecError(f"{trainer_path}: {err}") from None
    return applied, hashed


def _callbacks(trainer_spec: dict[str, Any], cfg: TrainerConfig, loss: LossSpec) -> list[Callback]:
    """The spec's callbacks (v1.1), refused before training when they cannot run (a monitor
    this run never produces, tensorboard not installed)."""
    produced = ["train_loss"]
    if cfg.validation_split > 0:
        produced += ["val_loss", *loss.metrics]
    if trainer_spec.get("scheduler") is not None:
        produced.append("lr")
    return build_callbacks(trainer_spec.get("callbacks"), produced)


def _prepare_run_dir(
    specs: _Specs,
    data_path: Path,
    out: Path,
    resume: Path | None,
    force: bool,
    run_name: str | None,
    reporter: Reporter,
    stack: contextlib.ExitStack,
) -> _Start:
    """A new run's name is checked (its directory is made later, once the data passed); a
    resumed run is locked, checked against its specs, and its latest checkpoint loaded."""
    if resume is None:
        rundir.check_new_name(out, specs.model_id, run_name)
        cfg = specs.cfg
        seed = cfg.seed if cfg.seed is not None else int.from_bytes(os.urandom(4), "little") >> 1
        return _Start(run_dir=None, seed=seed)
    run_dir = resume
    if not (run_dir / rundir.RUN_FILE).is_file():
        raise ResumeError(f"{run_dir} is not a run directory (no {rundir.RUN_FILE})")
    # Locked before anything is read from it, so what is read is not being rewritten.
    stack.enter_context(RunLock(run_dir))
    removed = ckpt_io.remove_temp_files(run_dir)
    if removed:
        names = ", ".join(str(p.relative_to(run_dir)) for p in removed)
        reporter.info(f"removed {len(removed)} temp file(s) of an interrupted write: {names}")
    run_info = _check_resume(run_dir, specs.hashes, data_path, force)
    start = _Start(run_dir=run_dir, seed=int(run_info["seed"]))
    found = ckpt_io.latest_checkpoint(run_dir)
    if found is None:
        reporter.info(f"no complete checkpoint in {run_dir}: starting it from the beginning")
        return start
    start.resumed = _Resumed(*found)
    del found
    summary_path = run_dir / rundir.SUMMARY_FILE
    if summary_path.is_file():
        previous = rundir.read_json(summary_path)
        if previous.get("status") in ("completed", "early_stopped") and not force:
            reporter.info(f"{run_dir} already finished ({previous['status']}); nothing to resume")
            start.resumed, start.finished = None, previous
    return start


def _build(specs: _Specs, seed: int) -> tuple[GraphModule, torch.optim.Optimizer]:
    """Model and optimizer from the seed (the same initial weights on every device)."""
    torch.manual_seed(seed)
    net = build_model(specs.model_spec, device=specs.device)
    if specs.loss.input not in net.output_names:
        raise SpecError(f"loss.inputs.input '{specs.loss.input}' is not a model output")
    optimizer = make_optimizer(
        specs.opt_spec, net.parameters(), capturable=specs.device.type == "cuda"
    )
    return net, optimizer


def _saved_vocabularies(resumed: _Resumed | None) -> dict[str, Any] | None:
    """A resumed run's vocabularies come from its checkpoint, never rebuilt from the data."""
    state = resumed.state if resumed is not None else None
    return state.get("vocabularies") if state is not None else None


def _load_data(
    specs: _Specs,
    data_path: Path,
    net: GraphModule,
    seed: int,
    saved_vocabularies: dict[str, Any] | None = None,
    *,
    world: World = dist_.SINGLE,
    memory_mb: float | None = None,
) -> _Data:
    """Data read, checked, split by the seed, categorical inputs indexed by the vocabulary of
    the training rows (or the checkpoint's), placed on the device; streamed Parquet data is
    bounded by `memory_mb` (`--data-memory-mb`), else ARCGRAPH_DATA_MEMORY_MB."""
    loss = specs.loss
    bound = memory_bound_mb(memory_mb)
    if should_stream(data_path, bound):
        return _stream_data(specs, data_path, net, seed, bound, world)
    dataset = load_dataset(data_path, specs.model_spec, specs.target, loss)
    train_idx, val_idx = split_indices(dataset.n_rows, specs.cfg.validation_split, seed)
    vocabularies = apply_vocabularies(dataset, specs.model_spec, train_idx, saved_vocabularies)
    placed, notes = place(dataset, train_idx, val_idx, specs.device, specs.cfg)
    align_target(net, placed, loss.input, loss.target_dtype.is_floating_point)
    if loss.task == "multiclass":
        n_classes = class_count(net, placed, loss.input)
        if n_classes is not None:
            check_class_indices(dataset, n_classes, specs.target, loss.input, data_path)
    problem = loss_mismatch(net, placed, loss, specs.target)  # the shape check's words
    if problem is not None:
        raise SpecError(problem)
    return _Data(dataset, train_idx, val_idx, placed, notes, vocabularies)


def _windows(placed: DeviceData) -> dict[str, float] | None:
    """Streamed data's shuffle windows (None: in memory, or not shuffled)."""
    return placed.windows() if isinstance(placed, StreamData) else None


def _stream_data(
    specs: _Specs,
    data_path: Path,
    net: GraphModule,
    seed: int,
    bound: float | None,
    world: World,
) -> _Data:
    """Parquet data read in bounded memory (arcgraph.training.streaming): the split is the
    reader's rule (a hash of the seed and the row number), the epoch order its shuffle of row
    groups and windows; this rank of the `world` reads its own share (see stream_data)."""
    loss, cfg = specs.loss, specs.cfg
    inputs = specs.model_spec.get("inputs") or {}
    columns = [str(c) for decl in inputs.values() for c in decl.get("columns") or []]
    table = StreamingTable(
        data_path,
        list(dict.fromkeys([*columns, specs.target])),
        seed=seed,
        validation_split=cfg.validation_split,
        shuffle=cfg.shuffle,
        memory_mb=bound_or_default(bound),
        rank=world.rank,
        world_size=world.world_size,
    )
    check_streamable(table.schema, specs.model_spec, specs.target, data_path)
    if table.n_train == 0 or (cfg.validation_split > 0 and table.n_val == 0):
        which = "training" if table.n_train == 0 else "validation"
        raise DataError(
            f"too few rows for validation_split {cfg.validation_split}: {table.n_rows} row(s) "
            f"give no {which} row"
        )

    def convert(
        rows: pa.Table, numbers: np.ndarray
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        return rows_to_tensors(rows, numbers, specs.model_spec, specs.target, loss, data_path)

    placed = StreamData(table, convert, specs.device)
    align_target(net, placed, loss.input, loss.target_dtype.is_floating_point)
    problem = loss_mismatch(net, placed, loss, specs.target)
    if problem is not None:
        raise SpecError(problem)
    dataset = Dataset(
        inputs={},
        target=torch.zeros(0),
        n_rows=table.n_rows,
        labels=None,
        fingerprint=fingerprint(data_path),
    )
    none = torch.zeros(0, dtype=torch.long)  # no index lists: the split is the reader's rule
    note = (
        f"streaming {data_path.name}: {table.n_rows} rows in {len(table.blocks)} row groups, "
        f"shuffled in windows of {table.window_rows} rows (data memory bound "
        f"{bound_or_default(bound):g} MB)"
    )
    return _Data(dataset, none, none, placed, [note])


def _write_run_dir(
    specs: _Specs,
    start: _Start,
    data: _Data,
    out: Path,
    run_name: str | None,
    resume: bool,
    stack: contextlib.ExitStack,
) -> Path:
    """The run directory (made and locked now for a new run) and its run files."""
    run_dir = start.run_dir
    if run_dir is None:
        run_dir = rundir.new_run_dir(out, specs.model_id, run_name)
        stack.enter_context(RunLock(run_dir))
    rundir.make_checkpoint_dir(run_dir)
    dataset, placed = data.dataset, data.placed
    applied = specs.applied
    extra: dict[str, Any] = {}
    if applied is not None:
        ckpt_io.atomic_write_text(run_dir / rundir.EFFECTIVE_TRAINER_FILE, applied.text)
        extra["overrides"] = [o.text for o in applied.overrides]
    _write_run_files(
        run_dir,
        resume=resume,
        model_text=specs.model_text,
        trainer_text=specs.trainer_text,
        hashes=specs.hashes,
        info={
            "model_id": specs.model_id,
            "model_path": str(specs.model_path.resolve()),
            "trainer_path": str(specs.trainer_path.resolve()),
            "target": specs.target,
            "loss": specs.loss.type,
            "task": specs.loss.task,
            "labels": dataset.labels,
            "seed": start.seed,
            "seed_from_spec": specs.cfg.seed is not None,
            "device": str(specs.device),
            "monitor": specs.monitor,
            "data": dataset.fingerprint,
            "rows": {
                "total": dataset.n_rows,
                "train": placed.n_train,
                "validation": placed.n_val,
            },
            "versions": rundir.versions(),
            **extra,
        },
        split={"train": data.train_idx.tolist(), "validation": data.val_idx.tolist()},
    )
    if data.vocabularies:
        rundir.write_json(run_dir / rundir.VOCAB_FILE, data.vocabularies)
    return run_dir


def _make_loop(
    specs: _Specs,
    net: GraphModule,
    optimizer: torch.optim.Optimizer,
    data: _Data,
    run_dir: Path,
    seed: int,
    reporter: Reporter,
    stop: GracefulStop,
    graph_step: CudaGraphStep | None,
    *,
    world: World = dist_.SINGLE,
    ddp: torch.nn.Module | None = None,
) -> Loop:
    context = RunContext(
        run_dir=run_dir,
        model_id=specs.model_id,
        spec_hashes=specs.hashes,
        data_sha256=data.dataset.fingerprint["sha256"],
        seed=seed,
        split={"train": data.train_idx, "validation": data.val_idx},
        vocabularies=data.vocabularies,
        stream_windows=_windows(data.placed),
    )
    loop = Loop(
        model=net,
        loss=specs.loss,
        optimizer=optimizer,
        cfg=specs.cfg,
        data=data.placed,
        reporter=reporter,
        stop=stop,
        run=context,
        monitor=specs.monitor,
        graph_step=graph_step,
        precision=specs.precision,
        lr_column=any("lr" in callback.columns for callback in specs.callbacks),
        callbacks=specs.callbacks if world.main else [],  # they write: rank 0's alone
        world=world,
        ddp=ddp,
    )
    sched = specs.scheduler
    if sched is not None:
        per_epoch = sum(1 for *_, step in loop.plan(data.placed.n_train) if step)
        total = specs.cfg.epochs * (per_epoch if sched.interval == "step" else 1)
        scheduler = make_scheduler(sched.type, sched.params, optimizer, total_steps=total)
        loop.attach_schedule(Schedule(scheduler, sched.interval, sched.monitor or specs.monitor))
    return loop


def _restore(loop: Loop, resumed: _Resumed | None) -> Path | None:
    """The loop continues from the checkpoint; the loaded state is dropped here, so training
    does not hold the checkpoint's tensors next to the model's and optimizer's own."""
    if resumed is None:
        return None
    state, resumed.state = resumed.state, None
    if state is not None:
        loop.load_state_dict(state)
    return resumed.path


def _fit(
    specs: _Specs,
    loop: Loop,
    data: _Data,
    run_dir: Path,
    seed: int,
    resumed_from: Path | None,
    reporter: Reporter,
) -> dict[str, Any]:
    placed = data.placed
    reporter.start(
        {
            "run_dir": str(run_dir),
            "model_id": specs.model_id,
            "device": str(specs.device),
            "world_size": loop.world.world_size,
            "epochs": specs.cfg.epochs,
            "seed": seed,
            "train_rows": placed.n_train,
            "val_rows": placed.n_val,
            "steps_per_epoch": len(loop.plan(placed.n_train)),
            "monitor": specs.monitor,
            "resumed_from": None if resumed_from is None else str(resumed_from),
        }
    )
    for note in data.notes:
        reporter.info(note)
    try:
        return loop.fit()
    except (NonFiniteLossError, OutputError) as err:
        if loop.world.main:
            _write_failed_summary(run_dir, loop, err)
        raise


def _finish(
    run_dir: Path, loop: Loop, summary: dict[str, Any], model_id: str, reporter: Reporter
) -> None:
    """summary.json and the loss plot, after the loop (and its signal handlers) ended."""
    rundir.write_json(run_dir / rundir.SUMMARY_FILE, summary)
    if loop.progress.history:
        try:
            rundir.plot_losses(run_dir / rundir.PLOT_FILE, loop.progress.history, model_id)
        except OutputError as err:  # the run itself is complete and saved
            reporter.info(f"no loss plot: {err}")
    reporter.end(summary)


def _write_failed_summary(run_dir: Path, loop: Loop, err: TrainError) -> None:
    """status `failed` with the error and the last good checkpoint, when the disk takes it."""
    with contextlib.suppress(OutputError):
        loop.writer.flush()  # the last good checkpoint may still be on its way
    failed = loop.summary("failed", restored=False)
    failed["error"] = str(err)
    best = run_dir / rundir.BEST_FILE
    failed["weights"] = str(best) if best.is_file() else None  # last.pt: not written
    latest = ckpt_io.list_checkpoints(run_dir)
    failed["checkpoint"] = str(latest[0]) if latest else None
    with contextlib.suppress(OutputError):  # a full disk may not even take this
        rundir.write_json(run_dir / rundir.SUMMARY_FILE, failed)


def _graph_step(
    net: torch.nn.Module,
    loss: LossSpec,
    optimizer: torch.optim.Optimizer,
    cfg: TrainerConfig,
    device: torch.device,
    reporter: Reporter,
    precision: Precision = FP32,
) -> CudaGraphStep | None:
    if device.type != "cuda":
        return None
    reason = capture_blocker(optimizer, device, precision)
    if os.environ.get("ARCGRAPH_CUDA_GRAPHS", "1") == "0":
        reason = "disabled by ARCGRAPH_CUDA_GRAPHS=0"
    if reason is not None:
        reporter.info(f"CUDA graph not used, training eagerly: {reason}")
        return None
    return CudaGraphStep(
        net,
        loss.fn,
        loss.input,
        optimizer,
        cfg.gradient_clip_val,
        cfg.gradient_clip_norm,
        cfg.accumulate_grad_batches,
        precision,
    )


def _check_resume(
    run_dir: Path, hashes: dict[str, str], data_path: Path, force: bool
) -> dict[str, Any]:
    info_path = run_dir / rundir.RUN_FILE
    if not info_path.is_file():
        raise ResumeError(f"{run_dir} is not a run directory (no {rundir.RUN_FILE})")
    info = rundir.read_json(info_path)
    changed = [name for name in ("model", "trainer") if info["spec_hashes"][name] != hashes[name]]
    data_sha = fingerprint(data_path)["sha256"]
    if info["data"]["sha256"] != data_sha:
        changed.append("data")
    if changed and not force:
        what = " and ".join(changed)
        raise ResumeError(
            f"the {what} changed since {run_dir} was started; resuming would mix two "
            "different trainings (use --force to resume anyway)"
        )
    return info


def _write_run_files(
    run_dir: Path,
    *,
    resume: bool,
    model_text: str,
    trainer_text: str,
    hashes: dict[str, str],
    info: dict[str, Any],
    split: dict[str, list[int]],
) -> None:
    run_file = run_dir / rundir.RUN_FILE
    if resume and run_file.is_file():
        previous = rundir.read_json(run_file)
        if (
            previous["spec_hashes"] == hashes
            and previous["data"]["sha256"] == info["data"]["sha256"]
        ):
            resumes = previous.get("resumes", [])
            resumes.append({"versions": info["versions"]})
            if "overrides" in info:
                resumes[-1]["overrides"] = info["overrides"]
            previous["resumes"] = resumes
            rundir.write_json(run_file, previous)
            return
        info["forced_from"] = {"spec_hashes": previous["spec_hashes"], "data": previous["data"]}
    ckpt_io.atomic_write_text(run_dir / rundir.MODEL_FILE, model_text)
    ckpt_io.atomic_write_text(run_dir / rundir.TRAINER_FILE, trainer_text)
    rundir.write_json(run_file, {"spec_hashes": hashes, **info})
    rundir.write_json(run_dir / rundir.SPLIT_FILE, split)
