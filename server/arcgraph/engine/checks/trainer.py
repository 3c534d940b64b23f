"""Trainer spec checks: section 5 of trainer-spec.md, plus the consistency a careful user wants.

The schema already covers types, ranges and enums of section 3; this adds what needs other
files (the model registry), the installed torch (the catalog) and several keys at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from arcgraph.engine import codes
from arcgraph.engine.checks.callbacks import check_callbacks
from arcgraph.engine.checks.context import CheckContext
from arcgraph.engine.checks.distributed import check_distributed
from arcgraph.engine.checks.model_summary import ModelSummary, summarize_model
from arcgraph.engine.checks.params import check_params, named_params
from arcgraph.engine.checks.precision import check_mixed_precision
from arcgraph.engine.checks.scheduler import check_scheduler
from arcgraph.engine.diagnostics import Diagnostic, Related, Severity, Span
from arcgraph.engine.kinds import is_valid_model_id
from arcgraph.engine.schema import did_you_mean
from arcgraph.engine.source import YMap, YNode, YScalar

OPTIMIZER_PREFIX = "torch.optim."
BASE_METRICS = ("train_loss", "val_loss")
TASK_METRICS = {"classification": ("val_accuracy",), "regression": ("val_mae",)}
# Optimizers whose step re-evaluates the loss through a closure (one batch per closure).
CLOSURE_OPTIMIZERS = ("torch.optim.LBFGS",)


def unknown_key_hook(path: tuple[str, ...], name: str, knode: YNode) -> Diagnostic | None:
    """`loss` in a trainer gets its own message: it belongs in the model spec."""
    if not path and name == "loss":
        return Diagnostic(
            codes.LOSS_IN_TRAINER,
            "'loss' does not belong in a trainer spec: the loss is part of the model spec "
            "(add it under `loss:` in the model that model_ref names) and remove it here",
            knode.span,
            data={"fix": "remove_key", "key": "loss"},
        )
    return None


def _value(m: YMap | None, key: str) -> Any:
    node = m.get(key) if isinstance(m, YMap) else None
    return node.value if isinstance(node, YScalar) else None


def check_trainer(ctx: CheckContext) -> ModelSummary | None:
    """Cross-file and torch checks; returns the referenced model's summary when resolved."""
    root = ctx.root
    assert isinstance(root, YMap)
    model = _check_model_ref(ctx, root)
    opt = root.get("optimizer")
    if isinstance(opt, YMap):
        _check_optimizer(ctx, opt)
    sched = root.get("scheduler")
    if isinstance(sched, YMap):  # spec v1.1
        task = model.task if model else None
        check_scheduler(
            ctx, sched, produced_metrics(model), task, no_validation(root.get("config"))
        )
    cfg = root.get("config")
    if isinstance(cfg, YMap):
        _check_config(ctx, cfg, model)
        if isinstance(opt, YMap):
            _check_closure_optimizer(ctx, opt, cfg)
        check_mixed_precision(ctx, opt if isinstance(opt, YMap) else None, cfg)
        check_distributed(ctx, cfg)
    check_callbacks(ctx, root, model, produced_metrics(model))
    return model


def _check_model_ref(ctx: CheckContext, root: YMap) -> ModelSummary | None:
    node = root.get("model_ref")
    ref = node.value if isinstance(node, YScalar) and isinstance(node.value, str) else None
    if node is None or ref is None:
        return None
    if not is_valid_model_id(ref):
        ctx.report(
            codes.MODEL_REF_FORMAT,
            f"model_ref '{ref}' is not a model ID: IDs have the form <name>-v<version>, "
            f"e.g. '{_suggest_id(ref)}'",
            node.span,
        )
    if ctx.registry is None:
        return None
    paths = ctx.registry.paths_of(ref)
    skipped = ctx.registry.skipped_of(ref) if not paths else []
    if skipped:
        where, kind = skipped[0]
        ctx.report(
            codes.MODEL_REF_UNKNOWN,
            f"model_ref '{ref}' names {_shown(where, ctx.path)}, which is not a regular file "
            f"({kind}); it is skipped, never read: make it a YAML file",
            node.span,
        )
        return None
    if not paths:
        ids = ctx.registry.ids()
        guess = did_you_mean(ref, ids)
        if guess:
            msg = f"model_ref '{ref}' names no model in the workspace; did you mean '{guess}'?"
            data: dict[str, Any] = {"fix": "replace_value", "with": guess}
        elif ids:
            near = ", ".join(ids[:5])
            msg = f"model_ref '{ref}' names no model in the workspace; known models: {near}"
            data = {"candidates": ids[:5]}
        else:
            msg = (
                f"model_ref '{ref}' names no model in the workspace; create "
                f"'models/{ref}.model.yaml'"
            )
            data = {}
        ctx.report(codes.MODEL_REF_UNKNOWN, msg, node.span, data=data)
        return None
    summary = summarize_model(ctx.registry, paths[0], ref, ctx.catalog)
    if summary is not None and summary.loss_problem:
        ctx.report(
            codes.MODEL_NO_LOSS,
            f"model '{ref}' has no valid loss ({summary.loss_problem}); fix the `loss:` "
            "section of the model spec",
            node.span,
            related=(Related(str(paths[0]), summary.loss_span, summary.loss_problem),),
        )
    return summary


def _shown(path: Path, near: Path) -> str:
    """A path as the user would write it: relative to the trainer's folder."""
    try:
        return Path(os.path.relpath(Path(path).resolve(), Path(near).resolve().parent)).as_posix()
    except ValueError:  # another drive
        return str(path)


def _suggest_id(ref: str) -> str:
    base = "".join(c if c.isalnum() or c in "-_." else "-" for c in ref).strip("-") or "model"
    return f"{base}-v1"


def _check_optimizer(ctx: CheckContext, opt: YMap) -> None:
    type_node = opt.get("type")
    qual = type_node.value if isinstance(type_node, YScalar) else None
    params = opt.get("params")
    if isinstance(params, YMap):
        lr_key = params.key_node("lr")
        if lr_key is not None:  # the trainer refuses it: an error, and the only one about it
            move = opt.key_node("lr") is None
            if move:
                msg = "'lr' belongs in optimizer.lr, not optimizer.params; move it up one level"
                ctx.settled.add(("optimizer", "lr"))  # said here, not as a missing key
            else:
                msg = "'lr' is given twice: the learning rate is optimizer.lr; remove this one"
            data = {"fix": "move_lr", "move": True} if move else {"fix": "move_lr"}
            ctx.report(codes.LR_IN_PARAMS, msg, lr_key.span, data=data)
    if ctx.catalog is None or not isinstance(qual, str) or type_node is None:
        return
    info = ctx.catalog.optimizer(qual)
    if info is None:
        _unknown_optimizer(ctx, qual, type_node)
        return
    if isinstance(params, YMap):
        check_params(
            ctx,
            params,
            info,
            qual,
            skip=("lr",),
            ignore=("lr",),
            unknown_code=codes.OPTIMIZER_PARAM_UNKNOWN,
            type_code=codes.OPTIMIZER_PARAM_TYPE,
        )


def _unknown_optimizer(ctx: CheckContext, qual: str, node: YNode) -> None:
    names = ctx.catalog.optimizer_names() if ctx.catalog else []
    message = f"'{qual}' is not an optimizer in torch.optim"
    ctx.unknown_name(codes.OPTIMIZER_UNKNOWN, message, node, qual, names, OPTIMIZER_PREFIX)


def _check_closure_optimizer(ctx: CheckContext, opt: YMap, cfg: YMap) -> None:
    """The bundled trainer steps LBFGS with a closure over one batch (train and check agree)."""
    qual, acc = _value(opt, "type"), _value(cfg, "accumulate_grad_batches")
    key = cfg.key_node("accumulate_grad_batches")
    if qual not in CLOSURE_OPTIMIZERS or not _is_int(acc) or acc <= 1 or key is None:
        return
    batch = _value(cfg, "batch_size")
    instead = f" (batch_size: {batch * acc} gives the same rows per step)" if _is_int(batch) else ""
    type_node = opt.get("type")
    ctx.report(
        codes.CLOSURE_WITH_ACCUMULATION,
        f"{qual} re-evaluates one batch's loss several times during its step, so it cannot "
        f"accumulate gradients over {acc} batches; remove accumulate_grad_batches{instead} "
        "or use another optimizer",
        key.span,
        related=(Related(str(ctx.path), type_node.span, f"the optimizer is {qual}"),)
        if type_node is not None
        else (),
        data={"fix": "remove_key", "key": "accumulate_grad_batches"},
    )


def produced_metrics(model: ModelSummary | None) -> tuple[str, ...]:
    """The metrics the bundled trainer writes for this model."""
    if model is None or model.task is None:
        return (*BASE_METRICS, *TASK_METRICS["classification"], *TASK_METRICS["regression"])
    return (*BASE_METRICS, *TASK_METRICS.get(model.task, ()))


def no_validation(cfg: YNode | None) -> bool:
    """config.validation_split is 0: the run produces no val_* metric."""
    split = _value(cfg if isinstance(cfg, YMap) else None, "validation_split")
    return isinstance(split, int | float) and not isinstance(split, bool) and split == 0


def _check_config(ctx: CheckContext, cfg: YMap, model: ModelSummary | None) -> None:
    no_val = no_validation(cfg)
    monitor_node = cfg.get("early_stopping_monitor")
    monitor = _value(cfg, "early_stopping_monitor")
    patience = _value(cfg, "early_stopping_patience")
    if no_val and isinstance(monitor, str) and monitor.startswith("val_") and monitor_node:
        ctx.report(
            codes.NO_VALIDATION,
            f"early_stopping_monitor '{monitor}' is computed on the validation split, but "
            "validation_split is 0; set validation_split to e.g. 0.2 or monitor train_loss",
            monitor_node.span,
        )  # an error, as AG224, AG247 and AG258: the trainer refuses the run before training
    elif no_val and monitor is None:  # the trainer watches train_loss then: it runs
        reasons: list[tuple[str, str]] = []
        if isinstance(patience, int) and not isinstance(patience, bool):
            reasons.append(
                ("early_stopping_patience", "early stopping watches a validation metric")
            )
        if _value(cfg, "save_best_only") is True:
            reasons.append(("save_best_only", "'best' is judged on a validation metric"))
        for key, why in reasons:
            ctx.report(
                codes.NO_VALIDATION,
                f"{key} needs a validation split, but validation_split is 0 ({why}); "
                "set validation_split to e.g. 0.2",
                _span_or(cfg.key_node(key), cfg),
                Severity.WARNING,
            )
    clip_v, clip_n = cfg.key_node("gradient_clip_val"), cfg.key_node("gradient_clip_norm")
    if clip_v is not None and clip_n is not None:
        later = clip_n if clip_n.span > clip_v.span else clip_v
        ctx.report(
            codes.BOTH_CLIPS,
            "both gradient_clip_val and gradient_clip_norm are set: gradients are clipped by "
            "value first, then by norm; keep only one unless you mean both",
            later.span,
            Severity.WARNING,
        )
    every, epochs = _value(cfg, "checkpoint_every"), _value(cfg, "epochs")
    if _is_int(every) and _is_int(epochs) and every > epochs:
        ctx.report(
            codes.CHECKPOINT_AFTER_END,
            f"checkpoint_every is {every} but training runs {epochs} epochs, so no periodic "
            f"checkpoint is ever written; use a value <= {epochs}",
            _span_or(cfg.get("checkpoint_every"), cfg),
            Severity.WARNING,
        )
    if _value(cfg, "pin_memory") is True and _value(cfg, "device") in ("cpu", "mps"):
        ctx.report(
            codes.PIN_MEMORY_WITHOUT_CUDA,
            f"pin_memory only speeds up copies to a CUDA device, and device is "
            f"'{_value(cfg, 'device')}'; remove pin_memory or use device: cuda",
            _span_or(cfg.key_node("pin_memory"), cfg),
            Severity.WARNING,
        )
    if isinstance(monitor, str) and monitor_node is not None:
        metrics = produced_metrics(model)
        if monitor not in metrics:
            guess = did_you_mean(monitor, list(metrics))
            msg = f"early_stopping_monitor '{monitor}' is not a metric the trainer produces"
            if model is not None and model.task:
                msg += f" for a {model.task} model ({', '.join(metrics)})"
            else:
                msg += f" ({', '.join(metrics)})"
            ctx.suggest(codes.UNKNOWN_METRIC, msg, monitor_node.span, guess)


def _span_or(node: YNode | None, whole: YMap) -> Span:
    """`node`'s span (callers read its value, so it is there), else the whole mapping's."""
    return node.span if node is not None else whole.span


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def optimizer_probe_request(root: YMap) -> dict[str, Any] | None:
    """What to ask the torch worker to construct, when the optimizer section is complete."""
    opt = root.get("optimizer")
    if not isinstance(opt, YMap):
        return None
    qual, lr = _value(opt, "type"), _value(opt, "lr")
    params = opt.get("params")
    from arcgraph.engine.source import to_python

    p = to_python(params) if isinstance(params, YMap) else {}
    if not isinstance(qual, str) or not isinstance(lr, int | float) or isinstance(lr, bool):
        return None
    return {"type": qual, "lr": lr, "params": p}


def span_for_probe_param(root: YMap, param: str | None) -> Span:
    """The key a torch constructor error is about: params.<param>, lr, or the type."""
    opt = root.get("optimizer")
    assert isinstance(opt, YMap)
    lr = opt.get("lr")
    if param == "lr" and lr is not None:
        return lr.span
    params = opt.get("params")
    key = params.key_node(param) if param and isinstance(params, YMap) else None
    if key is not None:
        return key.span
    node = opt.get("type") or opt
    return node.span


__all__ = [
    "check_trainer",
    "named_params",
    "optimizer_probe_request",
    "produced_metrics",
    "span_for_probe_param",
    "unknown_key_hook",
]
