"""Let torch itself judge a spec's optimizer, model shapes and loss, and say which key is at fault.

Runs in the worker (and in the trainer's pre-flight). Nothing real is allocated: optimizers
get one 2x2 dummy parameter (2-D because Muon refuses others) for their argument checks, then
the trainer's model built on the `meta` device when it is given; models are built on `meta`,
run, and their loss called on the output it names and a target built as the trainer builds it.
"""

from __future__ import annotations

import re
from typing import Any

import torch

from arcgraph.builder import torchnames
from arcgraph.worker import shapes

# Ordered: the first pattern found in torch's message names the params key it is about.
_PARAM_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"nesterov", re.I), "nesterov"),
    (re.compile(r"\bbetas?\b|beta parameter", re.I), "betas"),
    (re.compile(r"learning rate|\blr\b", re.I), "lr"),
    (re.compile(r"epsilon|\beps\b", re.I), "eps"),
    (re.compile(r"weight[_ ]decay", re.I), "weight_decay"),
    (re.compile(r"dampening", re.I), "dampening"),
    (re.compile(r"momentum", re.I), "momentum"),
]
_KWARG = re.compile(r"(?:keyword argument|for argument) '(\w+)'")


def _tuples(value: Any) -> Any:
    """YAML lists -> tuples, as the signatures (`betas: tuple[float, float]`) expect."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def message_param(message: str, keys: list[str]) -> str | None:
    """Best-effort: which params key torch's message is about."""
    m = _KWARG.search(message)
    if m:
        return m.group(1)
    for pattern, key in _PARAM_PATTERNS:
        if pattern.search(message):
            return key
    for key in sorted(keys, key=len, reverse=True):
        if re.search(rf"\b{re.escape(key)}\b", message):
            return key
    return None


def probe_optimizer(
    type_: str,
    lr: Any,
    params: dict[str, Any] | None,
    model: dict[str, Any] | None = None,
    scheduler: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Construct the optimizer so torch's own argument checks speak; with the trainer's model
    spec, also whether it can train that model's parameters (see `optimizer_fit`); with the
    spec's scheduler (v1.1), that scheduler on this optimizer (`scheduler_problem`)."""
    try:
        cls = torchnames.resolve_optimizer(type_)
    except torchnames.NameRejected as exc:
        return {"ok": False, "message": str(exc), "param": "type"}
    kwargs = {str(k): _tuples(v) for k, v in (params or {}).items()}
    if lr is not None:
        kwargs["lr"] = lr
    dummy = torch.nn.Parameter(torch.zeros(2, 2))
    try:
        optimizer = cls([dummy], **kwargs)
    except (TypeError, ValueError, RuntimeError, KeyError, AssertionError) as exc:
        text = str(exc)
        text = re.sub(r"^\w+\.__init__\(\) ", f"{cls.__name__}() ", text)
        return {"ok": False, "message": text, "param": message_param(text, list(kwargs))}
    problem = scheduler_problem(optimizer, scheduler) if isinstance(scheduler, dict) else None
    extra = {"scheduler_problem": problem} if problem else {}
    if isinstance(model, dict):
        from arcgraph.worker.optimizer_fit import probe_fit

        unfit = probe_fit(cls, kwargs, model)
        if unfit is not None:
            return {**unfit, **extra}
    return {"ok": True, "message": "", "param": None, **extra}


def scheduler_problem(
    optimizer: torch.optim.Optimizer, scheduler: dict[str, Any]
) -> dict[str, Any] | None:
    """The spec's scheduler built on the probe optimizer (torch's own checks: CyclicLR wants
    an optimizer with momentum); None when it builds, else where, which key, and why."""
    from arcgraph.builder.schedulers import SchedulerError, build_scheduler

    params = scheduler.get("params") or {}
    try:
        build_scheduler(
            str(scheduler.get("type", "")),
            _tuples(params) if isinstance(params, dict) else {},
            optimizer,
            total_steps=int(scheduler.get("total_steps") or 100),
        )
    except SchedulerError as err:
        return {"where": err.where, "param": err.key, "message": err.message}
    except Exception as err:  # torch raises many types; each is an answer here
        return {"where": "scheduler", "param": None, "message": f"{err}"}
    return None


_MATMUL = [
    re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)"),
    re.compile(r"must have same reduction dim, but got \[(\d+), (\d+)\] X \[(\d+), (\d+)\]"),
]


def _node_type(spec: dict[str, Any], node: str | None) -> str | None:
    if not node:
        return None
    graphs = [spec.get("graph") or []]
    for mod in (spec.get("modules") or {}).values():
        if isinstance(mod, dict):
            graphs.append(mod.get("graph") or [])
    for graph in graphs:
        for n in graph:
            if isinstance(n, dict) and n.get("name") == node:
                return n.get("type")
    return None


def readable_shape_error(message: str, node_type: str | None) -> str:
    """`mat1 and mat2 shapes cannot be multiplied (2x64 and 128x10)` on a Linear ->
    `Linear in_features 128 but input has 64 features`."""
    if node_type in {"torch.nn.Linear", "torch.nn.functional.linear", "torch.nn.LazyLinear"}:
        for pattern in _MATMUL:
            m = pattern.search(message)
            if m:
                got, want = m.group(2), m.group(3)
                return f"Linear in_features {want} but input has {got} features"
    return message


def _shapes(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, dict):
        return {str(k): _shapes(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_shapes(v) for v in value]
    return None


def probe_shapes(spec: dict[str, Any], batch: int = 2, *, summary: bool = True) -> dict[str, Any]:
    """Build the model on `meta` and run a forward pass; name the node whose call failed.
    With `summary`, each node's shapes and parameter counts too (`_summary`: a second
    forward when the inputs have `null` dims; about as long again as the first)."""
    from arcgraph.builder import build  # torch only; imported on the first probe

    try:
        model = build.build_model(spec, device="meta")
        inputs = build.example_inputs(spec, batch=batch, device="meta")
    except build.SpecBuildError as exc:
        return _failure(spec, exc.node, exc.message, module=getattr(exc, "module", None))
    first: shapes.Record = {}
    uses = shapes.module_uses(model) if summary else []
    try:
        with torch.no_grad(), shapes.ModuleRecording(uses, first):
            out = model.trace(inputs, shapes.recorder(first))
    except build.NodeRuntimeError as exc:
        failed = _failure(spec, exc.node, exc.message, path=tuple(getattr(exc, "path", ())))
        if exc.output:
            failed["output"] = exc.output
        return failed
    except Exception as exc:  # torch raises many types; report rather than crash the worker
        return {"ok": False, "node": None, "message": f"{type(exc).__name__}: {exc}"}
    facts = _summary(spec, model, inputs, out, first, batch, uses) if summary else {}
    problem = _loss_problem(spec, out, batch)
    if problem is not None:  # the shapes are shown despite a loss problem
        return {"ok": False, "node": None, "message": problem, "stage": "loss", **facts}
    return {"ok": True, "node": None, "message": "", "outputs": _shapes(out), **facts}


def _summary(
    spec: dict[str, Any],
    model: Any,
    inputs: dict[str, Any],
    out: dict[str, Any],
    first: shapes.Record,
    batch: int,
    uses: list[shapes.Use],
) -> dict[str, Any]:
    """Per-node shapes and parameter counts, and the totals (arcgraph.worker.shapes); the
    second forward, with other sizes for the `null` dimensions, only when there are some."""
    from arcgraph.builder import build

    batches = (batch, shapes.SECOND_BATCH)
    second: shapes.Record | None = None
    io2: tuple[dict[str, Any], dict[str, Any]] | None = None
    if shapes.has_null_dims(spec):
        second = {}
        inputs2 = build.example_inputs(
            spec, batch=shapes.SECOND_BATCH, device="meta", variable=shapes.SECOND_VARIABLE
        )
        try:
            with torch.no_grad(), shapes.ModuleRecording(uses, second):
                io2 = (inputs2, model.trace(inputs2, shapes.recorder(second)))
        except Exception:  # a model that takes one size only: its sizes shown as they are
            second, io2 = None, None
            batches = (batch, batch)
    return {
        "nodes": shapes.node_facts(spec, model, first, second, batches),
        **shapes.io_shapes(inputs, out, io2, batches),
        **shapes.module_facts(spec, uses, first, second, batches),
        **shapes.totals(model),
    }


def _loss_problem(spec: dict[str, Any], outputs: dict[str, Any], batch: int) -> str | None:
    """The loss called on `meta` with the output it names and the target the trainer would
    build from its column (arcgraph.builder.loss): None when it fits, or when the `loss`
    section is not complete enough to ask (the structure checks speak about that)."""
    from arcgraph.builder import loss as rules

    loss = spec.get("loss")
    if not isinstance(loss, dict):
        return None
    type_name, inputs, params = loss.get("type"), loss.get("inputs"), loss.get("params") or {}
    if (
        not isinstance(type_name, str)
        or not isinstance(inputs, dict)
        or not isinstance(params, dict)
    ):
        return None
    output, column = inputs.get("input"), inputs.get("target")
    if not isinstance(output, str) or not isinstance(column, str) or output not in outputs:
        return None
    if not _batched(spec.get("inputs")):
        return None  # an input without a batch dimension ([10]) says nothing of the rows
    try:
        fn = rules.make_loss(
            type_name, {str(k): v for k, v in params.items()}, torch.device("meta")
        )
    except (torchnames.NameRejected, TypeError, ValueError, RuntimeError):
        return None
    pred = outputs[output]
    target = (
        rules.example_target(pred, rules.loss_task(type_name), batch)
        if isinstance(pred, torch.Tensor)
        else torch.zeros(0)
    )
    return rules.mismatch(type_name, fn, pred, target, output=output, column=column, rows=batch)


def _batched(inputs: Any) -> bool:
    """Every input's shape starts with `null`, the batch (rows) dimension, as the trainer
    reads it; only then is the prediction's first dimension the rows of the target."""
    if not isinstance(inputs, dict) or not inputs:
        return False
    for decl in inputs.values():
        shape = decl.get("shape") if isinstance(decl, dict) else None
        if shape is not None and (not isinstance(shape, list) or not shape or shape[0] is not None):
            return False
    return True


def _failure(
    spec: dict[str, Any],
    node: str | None,
    message: str,
    *,
    module: str | None = None,
    path: tuple[str, ...] = (),
) -> dict[str, Any]:
    inner = path[-1] if path else node
    result: dict[str, Any] = {
        "ok": False,
        "node": node,
        "message": readable_shape_error(message, _node_type(spec, inner)),
    }
    if module:
        result["module"] = module
    if path:
        result["path"] = list(path)
    return result
