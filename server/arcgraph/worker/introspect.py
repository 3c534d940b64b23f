"""Build the catalog of torch's spec-usable API. Runs in the torch worker (imports torch).

Every entry is found by walking the installed torch and kept only if `torchnames` would
resolve it, so the catalog and the trainer can never disagree about what a name means.
The result is plain JSON (see `arcgraph.engine.catalog` for the format) so the checker and the
language server can load it later without torch.
"""

from __future__ import annotations

import contextlib
import inspect
import platform
import re
import sys
import typing
from typing import Any

import torch

from arcgraph.builder import schedulers, torchnames
from arcgraph.engine.catalog import accepts_value
from arcgraph.engine.namespaces import rejection_reason
from arcgraph.worker import accepts as acc
from arcgraph.worker.rst import ParsedDoc, parse_docstring
from arcgraph.worker.signatures import (
    MISSING,
    RawParam,
    format_signature,
    json_value,
    merge_overloads,
    parse_signature_text,
)

FORMAT = 1
DOC_ROOT = "https://docs.pytorch.org/docs/stable/generated/"
MAX_DOC = 600  # characters of one argument's Markdown; the first paragraph is usually shorter

_KIND = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}

# Task hints for losses. A hint, not a rule: unknown losses get "other".
CLASSIFICATION = {
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "soft_margin_loss",
    "hinge_embedding_loss",
    "ctc_loss",
    "linear_cross_entropy",
}
REGRESSION = {
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "poisson_nll_loss",
    "gaussian_nll_loss",
}
LOSS_EXTRA = {"cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"}
_MODULE_LOSS_FN = {
    "CrossEntropyLoss": "cross_entropy",
    "NLLLoss": "nll_loss",
    "BCELoss": "binary_cross_entropy",
    "BCEWithLogitsLoss": "binary_cross_entropy_with_logits",
    "KLDivLoss": "kl_div",
    "CTCLoss": "ctc_loss",
}


def loss_task(fn_name: str) -> str:
    if fn_name in CLASSIFICATION:
        return "classification"
    if fn_name in REGRESSION:
        return "regression"
    return "other"


def _module_loss_fn(cls_name: str) -> str:
    if cls_name in _MODULE_LOSS_FN:
        return _MODULE_LOSS_FN[cls_name]
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", cls_name).lower()
    return snake


def _annotation_text(ann: Any) -> str:
    if ann is inspect.Parameter.empty:
        return ""
    if isinstance(ann, str):
        return ann
    return inspect.formatannotation(ann)


def _resolver(owner: Any) -> Any:
    """Resolve alias names in stringified annotations via the defining module's globals."""
    mod = sys.modules.get(getattr(owner, "__module__", "") or "")
    namespace = vars(mod) if mod else {}

    def resolve(name: str) -> str | None:
        obj: Any = namespace.get(name.split(".")[0], MISSING)
        for part in name.split(".")[1:]:
            obj = getattr(obj, part, MISSING)
        if inspect.isclass(obj):
            if issubclass(obj, torch.nn.Module):
                return "Module"
            return "Tensor" if issubclass(obj, torch.Tensor) else None
        if obj is MISSING or inspect.ismodule(obj):
            return None
        if isinstance(obj, typing.TypeVar):
            return None
        text = inspect.formatannotation(obj)
        return text if text != name else None

    return resolve


def _param(raw: RawParam, parsed: ParsedDoc, resolve: Any) -> dict[str, Any]:
    accepts = acc.from_annotation(raw.annotation, resolve) if raw.annotation else None
    if accepts is None and not raw.annotation and raw.name in parsed.types:
        accepts = acc.from_doc_type(parsed.types[raw.name])
    if accepts is None and not raw.annotation and raw.default is not MISSING:
        accepts = acc.from_default(raw.default)
    default = json_value(raw.default)
    if raw.default is not None and default is not None and not accepts_value(accepts, default):
        # torch's own default is always a valid value: an annotation that reads as `None` at
        # run time (TorchScript's `BroadcastingList2[int]`) or a doc type narrower than the
        # code (`padding=0` documented as a list) says nothing reliable
        accepts = None
    if raw.default is None:
        accepts = acc.with_null(accepts)
    if raw.kind in {"var_positional", "var_keyword"}:
        accepts = None
    doc = parsed.args.get(raw.name, "")
    if len(doc) > MAX_DOC:
        doc = doc[: MAX_DOC - 1].rsplit(" ", 1)[0] + "…"
    return {
        "name": raw.name,
        "kind": raw.kind,
        "has_default": raw.has_default,
        "default": default,
        "default_repr": raw.default_repr if raw.has_default else "",
        "annotation": raw.annotation,
        "accepts": accepts,
        "doc": doc,
    }


def _raw_from_signature(sig: inspect.Signature, *, drop_first: bool = False) -> list[RawParam]:
    params = list(sig.parameters.values())
    if drop_first and params:
        params = params[1:]
    out = []
    for p in params:
        has = p.default is not inspect.Parameter.empty
        out.append(
            RawParam(
                p.name,
                _KIND[p.kind],
                p.default if has else MISSING,
                _default_repr(p.default) if has else "",
                _annotation_text(p.annotation),
            )
        )
    return out


def _default_repr(value: Any) -> str:
    if isinstance(value, torch.dtype):
        return str(value)
    if callable(value) and hasattr(value, "__qualname__"):  # no memory addresses in the catalog
        module = getattr(value, "__module__", None) or ""
        return f"{module}.{value.__qualname__}" if module else value.__qualname__
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


def _is_generic(sig: inspect.Signature) -> bool:
    kinds = {p.kind for p in sig.parameters.values()}
    return kinds <= {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}


def _doc_url(qualname: str) -> str:
    return f"{DOC_ROOT}{qualname}.html"


def _callable(
    qualname: str, kind: str, raws: list[RawParam], parsed: ParsedDoc, resolve: Any
) -> dict[str, Any]:
    return {
        "name": qualname,
        "kind": kind,
        "signature": format_signature(raws),
        "summary": parsed.summary,
        "doc_url": _doc_url(qualname),
        "params": [_param(r, parsed, resolve) for r in raws],
    }


def _class_params(cls: type, parsed: ParsedDoc) -> list[RawParam]:
    """Constructor parameters. `(*args, **kwargs)` says nothing, so: a class that inherits
    nn.Module's constructor takes nothing; one that forwards to a base (LSTM -> RNNBase)
    takes the base's documented parameters plus those only its docstring lists."""
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return []
    if not _is_generic(sig):
        return _raw_from_signature(sig)
    if issubclass(cls, torch.nn.Module) and cls.__init__ is torch.nn.Module.__init__:
        return []
    for base in cls.__mro__[1:]:
        if base in (torch.nn.Module, object) or "__init__" not in vars(base):
            continue
        try:
            base_sig = inspect.signature(base.__init__)
        except (TypeError, ValueError):
            continue
        if _is_generic(base_sig) or not parsed.args:
            break
        raws = [
            r
            for r in _raw_from_signature(base_sig, drop_first=True)
            if r.name in parsed.args or r.has_default
        ]
        known = {r.name for r in raws}
        extra = [
            RawParam(n, "keyword_only", MISSING, "<see docs>")
            for n in parsed.args
            if n not in known
        ]
        return raws + extra
    return _raw_from_signature(sig)


def describe_class(qualname: str, cls: type) -> dict[str, Any]:
    parsed = parse_docstring(cls.__doc__)
    raws = _class_params(cls, parsed)
    return _callable(qualname, "class", raws, parsed, _resolver(cls))


def describe_module(qualname: str, cls: type[torch.nn.Module]) -> dict[str, Any]:
    entry = describe_class(qualname, cls)
    forward = getattr(cls, "forward", None)
    fparams: list[dict[str, Any]] | None = None
    if forward is not None and getattr(forward, "__name__", "") != "_forward_unimplemented":
        try:
            fsig = inspect.signature(forward)
        except (TypeError, ValueError):
            fsig = None
        if fsig is not None:
            fdoc = parse_docstring(forward.__doc__)
            resolve = _resolver(forward)
            fparams = [_param(r, fdoc, resolve) for r in _raw_from_signature(fsig, drop_first=True)]
    entry["forward"] = fparams
    is_loss = issubclass(cls, torch.nn.modules.loss._Loss)
    entry["is_loss"] = is_loss
    if is_loss:
        entry["task"] = loss_task(_module_loss_fn(cls.__name__))
    return entry


def describe_function(qualname: str, fn: Any, override: Any) -> dict[str, Any]:
    parsed = parse_docstring(getattr(fn, "__doc__", None))
    raws: list[RawParam] | None = None
    try:
        sig = inspect.signature(fn)
        if not _is_generic(sig):
            raws = _raw_from_signature(sig)
    except (TypeError, ValueError):
        pass
    overloads: list[str] = []
    if raws is None:
        candidates = [parse_signature_text(s) for s in parsed.signatures]
        found = [c for c in candidates if c is not None]
        overloads = [format_signature(c) for c in found]
        if override is not None:
            with contextlib.suppress(TypeError, ValueError):
                found.append(_raw_from_signature(inspect.signature(override)))
        raws = merge_overloads(found) if found else []
    entry = _callable(qualname, "function", raws, parsed, _resolver(fn))
    if len(overloads) > 1:
        entry["overloads"] = overloads
    return entry


def describe_scheduler(qualname: str, cls: type) -> dict[str, Any]:
    """A scheduler class: its constructor without `optimizer` (the trainer's), and what its
    signature says a spec can and cannot give (see `arcgraph.builder.schedulers`)."""
    entry = describe_class(qualname, cls)
    entry["params"] = [p for p in entry["params"] if p["name"] != "optimizer"]
    entry["scheduler"] = {
        "needs_callable": schedulers.callable_params(cls),
        "nested": schedulers.nested_params(cls),
        "by_metric": schedulers.steps_by_metric(cls),
        "total_steps": schedulers.takes_total_steps(cls),
    }
    return entry


def _public(namespace: Any) -> list[str]:
    return sorted(n for n in dir(namespace) if not n.startswith("_"))


def build_catalog() -> dict[str, Any]:
    """Walk torch.optim, torch.optim.lr_scheduler, torch.nn, torch.nn.functional and torch; see `arcgraph.engine.catalog`."""
    optimizers: dict[str, Any] = {}
    lr_schedulers: dict[str, Any] = {}
    modules: dict[str, Any] = {}
    functions: dict[str, Any] = {}
    losses: dict[str, Any] = {}
    rejected: dict[str, str] = {}

    for name in torchnames.REJECTED:
        rejected[name] = rejection_reason(name) or "may not be used in a spec"

    for attr in _public(torch.optim):
        qual = torchnames.OPTIM_PREFIX + attr
        try:
            optimizers[qual] = describe_class(qual, torchnames.resolve_optimizer(qual))
        except torchnames.NameRejected as exc:
            if inspect.isclass(getattr(torch.optim, attr, None)):
                rejected[qual] = str(exc)

    for attr in _public(torch.optim.lr_scheduler):
        qual = torchnames.SCHEDULER_PREFIX + attr
        try:
            lr_schedulers[qual] = describe_scheduler(qual, torchnames.resolve_scheduler(qual))
        except torchnames.NameRejected:
            continue  # the module's imports and base classes, not schedulers

    for attr in _public(torch.nn):
        qual = torchnames.NN_PREFIX + attr
        try:
            modules[qual] = describe_module(qual, torchnames.resolve_module_class(qual))
            if modules[qual]["is_loss"]:  # a torch.nn.*Loss class: built with params, then called
                losses[qual] = {"task": modules[qual]["task"]}
        except torchnames.NameRejected as exc:
            if callable(getattr(torch.nn, attr, None)):
                rejected[qual] = str(exc)

    overrides = torch.overrides.get_testing_overrides()
    for prefix, namespace in (
        (torchnames.FUNCTIONAL_PREFIX, torch.nn.functional),
        (torchnames.TORCH_PREFIX, torch),
    ):
        for attr in _public(namespace):
            qual = prefix + attr
            if qual in rejected:
                continue
            try:
                fn = torchnames.resolve_function(qual)
            except torchnames.NameRejected as exc:
                obj = getattr(namespace, attr, None)
                if callable(obj) or inspect.ismodule(obj):
                    rejected[qual] = str(exc)
                continue
            functions[qual] = describe_function(qual, fn, overrides.get(fn))
            if prefix == torchnames.FUNCTIONAL_PREFIX and (
                attr.endswith("_loss") or attr in LOSS_EXTRA
            ):
                losses[qual] = {"task": loss_task(attr)}

    dtypes = sorted(n for n in dir(torch) if isinstance(getattr(torch, n, None), torch.dtype))
    return {
        "format": FORMAT,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        # the GPUs of the machine the catalog was made on (world_size's info, AG272)
        "cuda_devices": torch.cuda.device_count(),
        "optimizers": optimizers,
        "schedulers": lr_schedulers,
        "modules": modules,
        "functions": functions,
        "losses": losses,
        "dtypes": dtypes,
        "rejected": rejected,
    }
