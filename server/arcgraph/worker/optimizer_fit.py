"""Can this optimizer train this model? Asked of torch itself, before any data is read.

The trainer gives the optimizer every parameter of the model and dense gradients (except a
`torch.nn.Embedding`/`EmbeddingBag` built with `sparse: true`, whose gradient is sparse). So:

1. the optimizer is constructed with the model's real parameters, built on the `meta` device
   (no storage): torch's own constructor checks speak (Muon takes 2-D parameters only);
2. one step is taken with tiny CPU stand-ins of those parameters (each dimension at most 2,
   the parameter's dtype) carrying the gradient the trainer would give them (dense, or sparse
   for the sparse embeddings above), through a closure as the trainer steps LBFGS: the step's
   own checks speak (SparseAdam refuses dense gradients). The meta device cannot step
   (several optimizers read a value with `.item()`), hence the stand-ins.

When one of these fails, each parameter is tried alone to name the node it belongs to.
Nothing here touches torch's random number generators (the trainer seeds after this).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import torch

from arcgraph.builder import torchnames

Kwargs = dict[str, Any]
_CONSIDER = re.compile(r"consider (?:using )?(?:torch\.optim\.)?(\w+) instead", re.I)
DEFAULT_FIX = "torch.optim.AdamW"


def sparse_gradient_params(model: torch.nn.Module) -> set[str]:
    """Parameter names whose gradient is sparse: the modules built with `sparse=True`
    (torch.nn.Embedding, torch.nn.EmbeddingBag)."""
    out: set[str] = set()
    for prefix, module in model.named_modules():
        if getattr(module, "sparse", False) is True:
            for name, _ in module.named_parameters(recurse=False):
                out.add(f"{prefix}.{name}" if prefix else name)
    return out


def _stand_in(p: torch.Tensor) -> torch.nn.Parameter:
    shape = [min(int(d), 2) for d in p.shape]
    return torch.nn.Parameter(torch.full(shape, 0.5, dtype=p.dtype, device="cpu"))


def _step(
    cls: type[torch.optim.Optimizer],
    kwargs: Kwargs,
    params: list[tuple[str, Any]],
    sparse: set[str],
) -> None:
    """One step on stand-ins of `params` with the gradients the trainer would give them."""
    stand = [(name, _stand_in(p)) for name, p in params]
    opt = cls([s for _, s in stand], **kwargs)

    def closure() -> torch.Tensor:
        loss = torch.zeros((), dtype=torch.float32)
        for name, s in stand:
            grad = (2 * s).detach()
            s.grad = grad.to_sparse() if name in sparse else grad
            loss = loss + (s.detach().float() ** 2).sum()
        return loss

    closure()
    # torch annotates the closure as returning float; its optimizers take the loss tensor
    opt.step(closure)  # pyright: ignore[reportArgumentType, reportCallIssue]


def _construct(
    cls: type[torch.optim.Optimizer],
    kwargs: Kwargs,
    params: list[tuple[str, Any]],
    _sparse: set[str],
) -> None:
    cls([p for _, p in params], **kwargs)


def _first_failing(
    attempt: Callable[[type[torch.optim.Optimizer], Kwargs, list[tuple[str, Any]], set[str]], None],
    cls: type[torch.optim.Optimizer],
    kwargs: Kwargs,
    params: list[tuple[str, Any]],
    sparse: set[str],
) -> tuple[str | None, str] | None:
    """None when `attempt` succeeds on all parameters; else (the first parameter that fails
    alone, or None when none does, torch's message)."""
    try:
        attempt(cls, kwargs, params, sparse)
        return None
    except Exception as exc:  # torch raises many types; each is an answer here
        whole = f"{exc}"
    for name, p in params:
        try:
            attempt(cls, kwargs, [(name, p)], sparse)
        except Exception as exc:
            return name, f"{exc}"
    return None, whole


def _node_types(spec: dict[str, Any]) -> dict[str, str]:
    graph = spec.get("graph")
    nodes = graph if isinstance(graph, list) else []
    return {
        str(n["name"]): str(n.get("type")) for n in nodes if isinstance(n, dict) and "name" in n
    }


def suggested_optimizer(message: str) -> str:
    """torch's own advice ("please consider Adam instead") when it names an optimizer."""
    m = _CONSIDER.search(message)
    if m:
        try:
            return (
                f"torch.optim.{torchnames.resolve_optimizer(f'torch.optim.{m.group(1)}').__name__}"
            )
        except torchnames.NameRejected:
            pass
    return DEFAULT_FIX


def probe_fit(
    cls: type[torch.optim.Optimizer], kwargs: Kwargs, spec: dict[str, Any]
) -> dict[str, Any] | None:
    """None when the optimizer can train the model, or the model does not build (its own
    diagnostics say why); else the failure: the node, its parameter, torch's message, a fix."""
    from arcgraph.builder import build  # torch only

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = build.build_model(spec, device="meta")
    except Exception:  # the model's own checks report it
        return None
    params = list(model.named_parameters())
    sparse = sparse_gradient_params(model)
    for stage, attempt in (("constructor", _construct), ("step", _step)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = _first_failing(attempt, cls, kwargs, params, sparse)
        if found is None:
            continue
        name, message = found
        result: dict[str, Any] = {
            "ok": False,
            "message": message,
            "param": None,
            "node": name.split(".", 1)[0] if name else None,
            "stage": stage,
            "fix": suggested_optimizer(message),
        }
        if name:
            p = dict(params)[name]
            result["node_type"] = _node_types(spec).get(result["node"])
            result["parameter"] = name
            result["shape"] = list(p.shape)
            result["gradient"] = "sparse" if name in sparse else "dense"
        return result
    return None
