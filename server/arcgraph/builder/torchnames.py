"""Resolve spec names to torch objects, safely: the only door from a spec string to code.

A spec names code to run, so a name is only ever looked up with `getattr` inside the torch
namespaces a spec may use (`torch.optim`, `torch.nn`, `torch.nn.functional`, `torch`), after its
shape is checked; nothing here calls `import`, `eval` or unpickles. Functions must be pure tensor
maths: a `torch.*` or `torch.nn.functional.*` name must be one of torch's overridable tensor
functions (`torch.overrides.get_testing_overrides()`), which excludes I/O and code loading
(`torch.load`, `torch.save`, `torch.hub`, `torch.compile`, ...). This module imports torch and
so only runs in the torch worker and the trainer.
"""

from __future__ import annotations

import inspect
import re
from functools import lru_cache
from typing import Any

import torch

from arcgraph.engine.namespaces import REJECTED as REJECTED  # re-exported
from arcgraph.engine.namespaces import rejection_reason

OPTIM_PREFIX = "torch.optim."
SCHEDULER_PREFIX = "torch.optim.lr_scheduler."
NN_PREFIX = "torch.nn."
FUNCTIONAL_PREFIX = "torch.nn.functional."
TORCH_PREFIX = "torch."

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")  # no dunders: `__class__`, `__builtins__`


class NameRejected(ValueError):
    """A spec name that does not resolve, or resolves to something a spec may not use."""


def _split(name: str, prefix: str) -> str:
    if not name.startswith(prefix):
        raise NameRejected(f"{name!r} is not in {prefix.rstrip('.')}")
    rest = name[len(prefix) :]
    if not _IDENT.match(rest):
        raise NameRejected(f"{name!r} is not a name in {prefix.rstrip('.')}")
    return rest


@lru_cache(maxsize=1)
def _overridable() -> frozenset[Any]:
    return frozenset(torch.overrides.get_testing_overrides())


# Defined in torch.nn.functional but not tensor maths.
_FUNCTIONAL_NOT_OPS = frozenset({"assert_int_or_pair"})


def _functional_helper(name: str, obj: Any) -> bool:
    """Pure-Python functionals (F.sigmoid, F.tanh, F.hardswish) are not in torch's override
    table; they are still tensor maths, defined in torch.nn.functional itself."""
    attr = name.removeprefix(FUNCTIONAL_PREFIX)
    return (
        name.startswith(FUNCTIONAL_PREFIX)
        and getattr(obj, "__module__", None) == "torch.nn.functional"
        and attr not in _FUNCTIONAL_NOT_OPS
    )


def resolve_optimizer(name: str) -> type[torch.optim.Optimizer]:
    """`torch.optim.X` -> a concrete Optimizer subclass shipped by the installed torch."""
    attr = _split(name, OPTIM_PREFIX)
    obj = getattr(torch.optim, attr, None)
    if not (
        inspect.isclass(obj)
        and issubclass(obj, torch.optim.Optimizer)
        and obj is not torch.optim.Optimizer
        and not inspect.isabstract(obj)
    ):
        raise NameRejected(f"{name} is not an optimizer class in torch.optim")
    return obj


def resolve_scheduler(name: str) -> type[Any]:
    """`torch.optim.lr_scheduler.X` -> a concrete learning-rate scheduler class of the installed
    torch (an LRScheduler subclass, or ReduceLROnPlateau, which older torch keeps apart)."""
    attr = _split(name, SCHEDULER_PREFIX)
    mod = torch.optim.lr_scheduler
    obj = getattr(mod, attr, None)
    bases = tuple(
        b for b in (getattr(mod, "LRScheduler", None), getattr(mod, "ReduceLROnPlateau", None)) if b
    )
    if not (
        inspect.isclass(obj)
        and issubclass(obj, bases)
        and obj.__name__ == attr
        and obj.__name__ != "LRScheduler"
        and not inspect.isabstract(obj)
    ):
        raise NameRejected(f"{name} is not a scheduler class in torch.optim.lr_scheduler")
    return obj


def resolve_module_class(name: str) -> type[torch.nn.Module]:
    """`torch.nn.X` -> an nn.Module subclass (a layer or a loss module)."""
    if name.startswith(FUNCTIONAL_PREFIX):
        raise NameRejected(f"{name} is a function, not a torch.nn module class")
    attr = _split(name, NN_PREFIX)
    obj = getattr(torch.nn, attr, None)
    if not (inspect.isclass(obj) and issubclass(obj, torch.nn.Module)):
        raise NameRejected(f"{name} is not a module class in torch.nn")
    return obj


def resolve_function(name: str) -> Any:
    """`torch.X` / `torch.nn.functional.X` -> an overridable tensor function."""
    reason = rejection_reason(name)
    if reason:
        raise NameRejected(reason)
    if name.startswith(FUNCTIONAL_PREFIX):
        obj = getattr(torch.nn.functional, _split(name, FUNCTIONAL_PREFIX), None)
    else:
        obj = getattr(torch, _split(name, TORCH_PREFIX), None)
    if obj is None or not callable(obj) or inspect.isclass(obj) or inspect.ismodule(obj):
        raise NameRejected(f"{name} is not a function in torch")
    if obj not in _overridable() and not _functional_helper(name, obj):
        raise NameRejected(f"{name} is not a tensor function a spec may call")
    return obj


def resolve_node_type(name: str) -> tuple[str, Any]:
    """A graph node's torch `type` -> ("module", class) or ("function", callable)."""
    reason = rejection_reason(name)
    if reason:
        raise NameRejected(reason)
    if name.startswith(NN_PREFIX) and not name.startswith(FUNCTIONAL_PREFIX):
        return "module", resolve_module_class(name)
    return "function", resolve_function(name)


def resolve_target(name: str) -> type[torch.nn.Module]:
    """A `_target_` inside params: only torch.nn classes may be constructed."""
    return resolve_module_class(name)


def resolve_dtype(name: str) -> torch.dtype:
    """`float32` / `torch.float32` -> torch.float32."""
    attr = name.removeprefix("torch.")
    obj = getattr(torch, attr, None) if _IDENT.match(attr) else None
    if not isinstance(obj, torch.dtype):
        raise NameRejected(f"{name!r} is not a torch dtype")
    return obj
