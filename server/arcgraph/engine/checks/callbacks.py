"""The trainer spec's `callbacks:` list (v1.1), checked against the arc.callbacks catalog.

The schema has said whether each entry is a mapping with a string `type` and a `params`
mapping; this says whether the type is in the registry, whether its params are its own and of
their types, whether ModelCheckpoint's monitor is a metric of the run, and whether two entries
would write the same files. The trainer refuses the same cases before training.
"""

from __future__ import annotations

from typing import Any

from arcgraph.engine import codes
from arcgraph.engine.callbacks_catalog import CALLBACKS, PREFIX, CallbackInfo
from arcgraph.engine.checks.context import CheckContext
from arcgraph.engine.checks.model_summary import ModelSummary
from arcgraph.engine.schema import did_you_mean, show
from arcgraph.engine.source import YMap, YNode, YScalar, YSeq, to_python

LR_MONITOR = "arc.callbacks.LearningRateMonitor"


def check_callbacks(
    ctx: CheckContext, root: YMap, model: ModelSummary | None, produced: tuple[str, ...]
) -> None:
    """`produced`: the metrics the trainer writes for this model (without `lr`)."""
    seq = root.get("callbacks")
    if not isinstance(seq, YSeq):
        return
    entries: list[tuple[CallbackInfo, YMap]] = []
    for item in seq.items:
        if not isinstance(item, YMap):
            continue
        type_node = item.get("type")
        qual = type_node.value if isinstance(type_node, YScalar) else None
        if not isinstance(qual, str) or type_node is None:
            continue
        info = CALLBACKS.get(qual)
        if info is None:
            _unknown_callback(ctx, qual, type_node)
            continue
        params = item.get("params")
        if isinstance(params, YMap):
            _check_params(ctx, info, params)
        entries.append((info, item))
    metrics = list(produced)
    if root.get("scheduler") is not None or any(i.name == LR_MONITOR for i, _ in entries):
        metrics.append("lr")
    for info, item in entries:
        if info.monitor:
            _check_monitor(ctx, info, item, metrics, model, root)
    _check_duplicates(ctx, entries)


def _unknown_callback(ctx: CheckContext, qual: str, node: YNode) -> None:
    # The last part finds TensorBoardLogger under torch's or Lightning's module path too.
    message = f"'{qual}' is not a callback in arc.callbacks"
    ctx.unknown_name(codes.CALLBACK_UNKNOWN, message, node, qual, list(CALLBACKS), PREFIX)


def _check_params(ctx: CheckContext, info: CallbackInfo, params: YMap) -> None:
    names = [p.name for p in info.params]
    for name, knode, vnode in params.items():
        p = info.param(name)
        if p is None:
            guess = did_you_mean(name, names)
            if guess:
                msg = f"unknown parameter '{name}' for {info.name}; did you mean '{guess}'?"
                data: dict[str, Any] = {"fix": "rename_key", "with": guess}
            else:
                takes = ", ".join(names) if names else "no parameters"
                msg = f"unknown parameter '{name}' for {info.name}; it takes {takes}"
                data = {"fix": "remove_key", "key": name}
            ctx.report(codes.CALLBACK_PARAM_UNKNOWN, msg, knode.span, data=data)
            continue
        value = to_python(vnode)
        if not p.accepts(value):
            guess = (
                did_you_mean(value, list(p.choices))
                if p.choices and isinstance(value, str)
                else None
            )
            ctx.suggest(
                codes.CALLBACK_PARAM_TYPE,
                f"parameter '{name}' of {info.name} must be {p.expected()}; got {show(vnode)}",
                vnode.span,
                guess,
            )


def _check_monitor(
    ctx: CheckContext,
    info: CallbackInfo,
    item: YMap,
    metrics: list[str],
    model: ModelSummary | None,
    root: YMap,
) -> None:
    params = item.get("params")
    node = params.get("monitor") if isinstance(params, YMap) else None
    monitor = node.value if isinstance(node, YScalar) else _default(info, "monitor")
    where = node if node is not None else item.get("type")
    if not isinstance(monitor, str) or where is None:
        return
    cfg = root.get("config")
    split_node = cfg.get("validation_split") if isinstance(cfg, YMap) else None
    split = split_node.value if isinstance(split_node, YScalar) else None
    no_val = isinstance(split, int | float) and not isinstance(split, bool) and split == 0
    if no_val and monitor.startswith("val_") and monitor in metrics:
        ctx.report(
            codes.CALLBACK_MONITOR_UNKNOWN,
            f"{info.short} monitor '{monitor}' is computed on the validation split, but "
            "validation_split is 0; set validation_split to e.g. 0.2 or monitor train_loss",
            where.span,
        )  # errors, as AG224 and AG247: the trainer refuses the run before training
        return
    if monitor in metrics:
        return
    given = "" if node is not None else " (the default)"
    task = f" for a {model.task} model" if model is not None and model.task else ""
    ctx.suggest(
        codes.CALLBACK_MONITOR_UNKNOWN,
        f"{info.short} monitor '{monitor}'{given} is not a metric the trainer produces{task} "
        f"({', '.join(metrics)})",
        where.span,
        did_you_mean(monitor, metrics) if node is not None else None,
    )


def _default(info: CallbackInfo, name: str) -> Any:
    p = info.param(name)
    return None if p is None else p.default


def _identity(info: CallbackInfo, item: YMap) -> tuple[str, Any]:
    """What two entries must not share: the files they write (or, without files, the type)."""
    params = item.get("params")
    key = {"arc.callbacks.TensorBoardLogger": "log_dir", "arc.callbacks.ModelCheckpoint": "monitor"}
    name = key.get(info.name)
    if name is None:
        return (info.name, None)
    node = params.get(name) if isinstance(params, YMap) else None
    value = node.value if isinstance(node, YScalar) else _default(info, name)
    return (info.name, value)


def _check_duplicates(ctx: CheckContext, entries: list[tuple[CallbackInfo, YMap]]) -> None:
    seen: set[tuple[str, Any]] = set()
    for info, item in entries:
        ident = _identity(info, item)
        if ident not in seen:
            seen.add(ident)
            continue
        what = {
            "arc.callbacks.TensorBoardLogger": f"log_dir '{ident[1]}'",
            "arc.callbacks.ModelCheckpoint": f"monitor '{ident[1]}'",
        }.get(info.name)
        why = (
            f"another {info.short} with {what} writes the same files"
            if what
            else (f"{info.short} is already in the list")
        )
        node = item.get("type") or item
        ctx.report(
            codes.CALLBACK_DUPLICATE,
            f"{why}; remove this entry" + (" or change it" if what else ""),
            node.span,
        )
