"""The trainer spec's `scheduler:` (v1.1), checked against the installed torch's catalog.

The schema covers the shape (`type` a string, `interval` epoch|step); this checks the class
(did-you-mean), its params against its constructor, what a spec cannot give (`optimizer` is the
trainer's; callables), nested `{type, params}` lists (SequentialLR, ChainedScheduler) at any
depth, and `monitor` (ReduceLROnPlateau's metric). torch's own value checks speak in the
worker's probe (see `engine.core`).
"""

from __future__ import annotations

from typing import Any

from arcgraph.engine import codes
from arcgraph.engine.checks.context import CheckContext
from arcgraph.engine.checks.params import check_params, missing_required
from arcgraph.engine.diagnostics import Severity, Span
from arcgraph.engine.schema import did_you_mean
from arcgraph.engine.source import YMap, YNode, YScalar, YSeq, to_python

SCHEDULER_PREFIX = "torch.optim.lr_scheduler."
ENTRY_KEYS = ("type", "params")


def check_scheduler(
    ctx: CheckContext,
    sched: YMap,
    produced: tuple[str, ...],
    task: str | None,
    no_validation: bool,
) -> None:
    """`produced`: the metrics the trainer writes for this model (a monitor must be one);
    `no_validation`: validation_split is 0, so none of its val_* metrics is written."""
    info = _check_entry(ctx, sched, "scheduler")
    _check_monitor(ctx, sched, info, produced, task, no_validation)


def _check_entry(ctx: CheckContext, entry: YMap, where: str) -> str | None:
    """One `{type, params}`; returns the scheduler's class name when the catalog knows it."""
    type_node = entry.get("type")
    qual = type_node.value if isinstance(type_node, YScalar) else None
    if ctx.catalog is None or not isinstance(qual, str) or type_node is None:
        return None
    info = ctx.catalog.scheduler(qual)
    traits = ctx.catalog.scheduler_traits(qual)
    if info is None or traits is None:
        _unknown(ctx, qual, type_node)
        return None
    if traits.needs_callable:
        args = ", ".join(traits.needs_callable)
        ctx.report(
            codes.SCHEDULER_NEEDS_CALLABLE,
            f"{qual} needs a Python function ({args}), which a YAML spec cannot give; use a "
            "scheduler configured by values (LinearLR, StepLR, ExponentialLR, CosineAnnealingLR,"
            " SequentialLR to combine them)",
            type_node.span,
        )
        return qual
    params = entry.get("params")
    given: list[str] = []
    if isinstance(params, YMap):
        given = [name for name, _, _ in params.items()]
        optimizer = params.key_node("optimizer")
        if optimizer is not None:
            ctx.report(
                codes.SCHEDULER_OPTIMIZER_GIVEN,
                f"'optimizer' is not given in {where}.params: the trainer passes its own "
                "optimizer (the `optimizer:` section); remove it",
                optimizer.span,
                data={"fix": "remove_key", "key": "optimizer"},
            )
        check_params(
            ctx,
            params,
            info,
            qual,
            ignore=("optimizer", *traits.nested),
            unknown_code=codes.SCHEDULER_PARAM_UNKNOWN,
            type_code=codes.SCHEDULER_PARAM_TYPE,
        )
        for name in traits.nested:
            value = params.get(name)
            if value is not None:
                _check_nested(ctx, value, f"{where}.params.{name}", qual, name)
    missing = missing_required(info, given, skip=("optimizer",))
    if missing:
        names = ", ".join(missing)
        ctx.report(
            codes.SCHEDULER_PARAM_MISSING,
            f"{qual} needs {names} in {where}.params (no default in its constructor)",
            (params if isinstance(params, YMap) and params.items() else type_node).span,
        )
    return qual


def _check_nested(ctx: CheckContext, value: YNode, where: str, owner: str, name: str) -> None:
    """SequentialLR's `schedulers`: a list of `{type, params}` mappings, each checked."""
    items = value.items if isinstance(value, YSeq) else None
    if items is None:
        ctx.report(
            codes.SCHEDULER_PARAM_TYPE,
            f"parameter '{name}' of {owner} must be a list of {{type, params}} schedulers",
            value.span,
        )
        return
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        unknown = (
            [(k, kn) for k, kn, _ in item.items() if k not in ENTRY_KEYS]
            if isinstance(item, YMap)
            else []
        )
        for key, knode in unknown:
            ctx.suggest(
                codes.SCHEDULER_PARAM_UNKNOWN,
                f"unknown key '{key}' in {at}",
                knode.span,
                did_you_mean(key, list(ENTRY_KEYS)),
                otherwise="; a nested scheduler has only 'type' and 'params'",
                fix="rename_key",
            )
        if isinstance(item, YMap) and item.get("type") is not None:
            _check_entry(ctx, item, at)
        elif not unknown:
            ctx.report(
                codes.SCHEDULER_PARAM_TYPE,
                f"{at} must be a mapping with 'type' (a torch.optim.lr_scheduler class) and "
                "optional 'params'",
                item.span,
            )


def _unknown(ctx: CheckContext, qual: str, node: YNode) -> None:
    names = ctx.catalog.scheduler_names() if ctx.catalog else []
    message = f"'{qual}' is not a scheduler in torch.optim.lr_scheduler"
    ctx.unknown_name(codes.SCHEDULER_UNKNOWN, message, node, qual, names, SCHEDULER_PREFIX)


def _check_monitor(
    ctx: CheckContext,
    sched: YMap,
    qual: str | None,
    produced: tuple[str, ...],
    task: str | None,
    no_validation: bool,
) -> None:
    traits = ctx.catalog.scheduler_traits(qual) if ctx.catalog and qual else None
    interval = sched.get("interval")
    if traits is not None and traits.by_metric and _value(interval) == "step" and interval:
        ctx.report(
            codes.SCHEDULER_METRIC_PER_STEP,
            f"{qual} steps on a metric, which the trainer computes once per epoch; use "
            "interval: epoch",
            interval.span,
            data={"fix": "replace_value", "with": "epoch"},
        )
    monitor = sched.get("monitor")
    key = sched.key_node("monitor")
    if monitor is None or key is None:
        return
    if traits is not None and not traits.by_metric:
        ctx.report(
            codes.SCHEDULER_MONITOR_UNUSED,
            f"monitor is only read by a scheduler that steps on a metric (ReduceLROnPlateau); "
            f"{qual} ignores it: remove it",
            key.span,
            Severity.WARNING,
            data={"fix": "remove_key", "key": "monitor"},
        )
        return
    name = _value(monitor)
    if no_validation and isinstance(name, str) and name.startswith("val_") and name in produced:
        ctx.report(
            codes.SCHEDULER_MONITOR_UNKNOWN,
            f"scheduler.monitor '{name}' is computed on the validation split, but "
            "validation_split is 0; set validation_split to e.g. 0.2 or monitor train_loss",
            monitor.span,
        )  # an error, as AG220's monitor and AG258: the trainer refuses the run
        return
    if isinstance(name, str) and name not in produced:
        msg = f"scheduler.monitor '{name}' is not a metric the trainer produces"
        msg += f" for a {task} model" if task else ""
        msg += f" ({', '.join(produced)})"
        ctx.suggest(
            codes.SCHEDULER_MONITOR_UNKNOWN,
            msg,
            monitor.span,
            did_you_mean(name, list(produced)),
        )  # an error, like early_stopping_monitor's AG224: the trainer refuses both


def scheduler_probe_request(root: YMap) -> dict[str, Any] | None:
    """What the worker builds on the probe optimizer: the scheduler's `{type, params}`."""
    sched = root.get("scheduler")
    if not isinstance(sched, YMap) or not isinstance(_value(sched.get("type")), str):
        return None
    params = sched.get("params")
    if params is not None and not isinstance(params, YMap):
        return None
    return {"type": _value(sched.get("type")), "params": to_python(params) if params else {}}


def span_for_scheduler_problem(root: YMap, where: str, param: str | None) -> Span:
    """`where` is a dotted path (`scheduler.params.schedulers[1]`): the key torch's message is
    about in that entry's params, else that entry's type, else the scheduler's."""
    node: YNode | None = root
    for part in where.replace("[", ".").replace("]", "").split("."):
        if isinstance(node, YMap):
            node = node.get(part)
        elif isinstance(node, YSeq) and part.isdigit() and int(part) < len(node.items):
            node = node.items[int(part)]
        else:
            node = None
    entry = node if isinstance(node, YMap) else root.get("scheduler")
    assert isinstance(entry, YMap)
    params = entry.get("params")
    key = params.key_node(param) if param and isinstance(params, YMap) else None
    return (key or entry.get("type") or entry).span


def _value(node: YNode | None) -> Any:
    return node.value if isinstance(node, YScalar) else None
