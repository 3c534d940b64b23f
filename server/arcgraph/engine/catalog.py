"""Torch's spec-usable API as data: what the checker and the language server know of torch.

Built once per (interpreter, torch, Python) by the torch worker (`arcgraph.worker.introspect`)
and cached on disk as JSON, so this module never imports torch. JSON format (format 1)::

    {"format": 1, "torch_version": "2.13.0+cpu", "python_version": "3.11.7",
     "optimizers": {"torch.optim.SGD": Callable, ...},      # concrete Optimizer subclasses
     "schedulers": {"torch.optim.lr_scheduler.StepLR": Callable, ...},  # LR schedulers
     "modules":    {"torch.nn.Linear": Callable, ...},       # nn.Module subclasses
     "functions":  {"torch.add": Callable, "torch.nn.functional.relu": Callable, ...},
     "losses":     {"torch.nn.functional.cross_entropy": {"task": "classification"},
                    "torch.nn.CrossEntropyLoss": {"task": "classification"}, ...},
     "dtypes":     ["bfloat16", "float32", ...],
     "rejected":   {"torch.load": "torch.load reads and unpickles a file; ...", ...}}

    Callable = {"name", "kind": "class"|"function", "signature": "(in_features: int, ...)",
                "summary": Markdown, "doc_url", "params": [Param],
                "forward": [Param] | null   # modules only (null: no forward of its own)
                "is_loss": bool, "task": str  # modules only; task only for loss modules
                "overloads": [str]}           # builtins with several documented overloads
                "scheduler": {"needs_callable": [str], "nested": [str],  # schedulers only
                              "by_metric": bool, "total_steps": bool}
    Param = {"name", "kind": "positional_only"|"positional_or_keyword"|"var_positional"|
             "keyword_only"|"var_keyword", "has_default": bool,
             "default": JSON value or null (null also when the default has no JSON form:
                        see default_repr, e.g. "torch.preserve_format"),
             "default_repr": str ("" when no default), "annotation": str,
             "accepts": Accepts, "doc": Markdown}
    Accepts = null (unknown: accept anything) | [alternative, ...]; an alternative is one of
              "int", "number" (int or float, never bool), "bool", "str", "null",
              "tensor" (a number or nested list of numbers), "dtype", "device",
              "module" (a `_target_` mapping), "callable", "any",
              {"tuple": [Accepts, ...]} (fixed length), {"seq": Accepts} (any length),
              {"literal": [values]}.

Optimizer `params` lists torch's own first argument `params` (the model's parameters, which
a spec never gives) and `lr`. Losses are `torch.nn.functional` functions (called with `params`)
and `torch.nn` loss classes (`_Loss` subclasses, built with `params`), each also listed under
`functions` or `modules`. Scheduler `params` leave out `optimizer` (the trainer's); their
`scheduler` traits say which required parameters only a Python callable fills (LambdaLR), which
take nested schedulers (SequentialLR), whether `step` takes the monitored metric
(ReduceLROnPlateau) and whether the trainer may supply `total_steps` (OneCycleLR). Loss tasks are "classification", "regression" or "other".
Entries are turned into `CallableInfo` objects lazily, on first lookup, so loading is one
`json.loads`.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = 1

Accepts = list[Any] | None


@dataclass(frozen=True, slots=True)
class ParamInfo:
    name: str
    kind: str
    has_default: bool
    default: Any
    default_repr: str
    annotation: str
    accepts: Accepts
    doc: str

    @property
    def keyword(self) -> bool:
        """Can be given by name (a spec's params are always keyword arguments)."""
        return self.kind in {"positional_or_keyword", "keyword_only"}

    @property
    def required(self) -> bool:
        return not self.has_default and self.kind not in {"var_positional", "var_keyword"}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ParamInfo:
        return cls(
            d["name"],
            d["kind"],
            d["has_default"],
            d.get("default"),
            d.get("default_repr", ""),
            d.get("annotation", ""),
            d.get("accepts"),
            d.get("doc", ""),
        )


@dataclass(frozen=True, slots=True)
class CallableInfo:
    name: str
    kind: str  # "class" | "function"
    signature: str
    summary: str
    doc_url: str
    params: tuple[ParamInfo, ...]
    forward: tuple[ParamInfo, ...] | None = None
    is_loss: bool = False
    task: str | None = None
    overloads: tuple[str, ...] = ()

    def param(self, name: str) -> ParamInfo | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    @property
    def var_keyword(self) -> bool:
        """Takes **kwargs, so unknown keyword names cannot be ruled out."""
        return any(p.kind == "var_keyword" for p in self.params)

    def spec_signature(self) -> str:
        """The signature as a spec writes it: without the arguments a spec never gives
        (an optimizer's `params`), with short annotations (`Iterable[Tensor]`, not
        `collections.abc.Iterable[torch.Tensor]`)."""
        if not self.params:
            return _short_types(self.signature)
        parts: list[str] = []
        keyword_only_marked = False
        for p in self.params:
            if p.name in ("self", "params") and self.name.startswith("torch.optim."):
                continue
            if p.kind == "keyword_only" and not keyword_only_marked:
                parts.append("*")
                keyword_only_marked = True
            prefix = {"var_positional": "*", "var_keyword": "**"}.get(p.kind, "")
            if p.kind == "var_positional":
                keyword_only_marked = True
            text = prefix + p.name
            if p.annotation:
                text += f": {_short_types(p.annotation)}"
            if p.has_default:
                text += f" = {p.default_repr}"
            parts.append(text)
        return "(" + ", ".join(parts) + ")"

    def markdown(self) -> str:
        """A hover: signature, summary, link."""
        parts = [f"```python\n{self.name}{self.spec_signature()}\n```"]
        if self.summary:
            parts.append(self.summary)
        if self.doc_url:
            parts.append(f"[PyTorch docs]({self.doc_url})")
        return "\n\n".join(parts)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CallableInfo:
        fwd = d.get("forward")
        return cls(
            d["name"],
            d["kind"],
            d.get("signature", "(...)"),
            d.get("summary", ""),
            d.get("doc_url", ""),
            tuple(ParamInfo.from_json(p) for p in d.get("params", ())),
            None if fwd is None else tuple(ParamInfo.from_json(p) for p in fwd),
            bool(d.get("is_loss", False)),
            d.get("task"),
            tuple(d.get("overloads", ())),
        )


def _short_types(text: str) -> str:
    for prefix in ("collections.abc.", "typing.", "torch."):
        text = text.replace(prefix, "")
    return text


@dataclass(frozen=True, slots=True)
class LossInfo:
    name: str
    task: str  # "classification" | "regression" | "other"
    # What `loss.params` are checked against: the function's signature, or the loss class's
    # constructor (its kind is then "class").
    function: CallableInfo | None


class CatalogError(ValueError):
    """The file is not a catalog this code can read (corrupt or another format)."""


@dataclass(frozen=True, slots=True)
class SchedulerTraits:
    """What a scheduler's signature says about using it from a spec."""

    needs_callable: tuple[str, ...]  # required parameters only a Python callable fills
    nested: tuple[str, ...]  # parameters taking `{type, params}` lists of schedulers
    by_metric: bool  # step(metrics): ReduceLROnPlateau
    total_steps: bool  # the trainer supplies `total_steps` when absent: OneCycleLR


class Catalog:
    """Read-only view over the catalog JSON; lookups build small objects on demand."""

    def __init__(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CatalogError(f"not a format-{FORMAT} arcgraph catalog")
        self._data = data
        self._cache: dict[tuple[str, str], CallableInfo | None] = {}
        self._dtypes = frozenset(data.get("dtypes", ()))

    @classmethod
    def load(cls, path: str | Path) -> Catalog:
        try:
            data = json.loads(Path(path).read_bytes())
        except (OSError, ValueError) as exc:
            raise CatalogError(f"cannot read catalog {path}: {exc}") from exc
        return cls(data)

    @property
    def data(self) -> dict[str, Any]:
        return self._data

    @property
    def torch_version(self) -> str:
        return self._data.get("torch_version", "")

    @property
    def python_version(self) -> str:
        return self._data.get("python_version", "")

    @property
    def cuda_devices(self) -> int | None:
        """CUDA devices torch saw where the catalog was made (None: a catalog without it)."""
        count = self._data.get("cuda_devices")
        return count if isinstance(count, int) and not isinstance(count, bool) else None

    def _get(self, section: str, name: str) -> CallableInfo | None:
        key = (section, name)
        if key not in self._cache:
            raw = self._data.get(section, {}).get(name)
            self._cache[key] = None if raw is None else CallableInfo.from_json(raw)
        return self._cache[key]

    def optimizer(self, qualname: str) -> CallableInfo | None:
        return self._get("optimizers", qualname)

    def scheduler(self, qualname: str) -> CallableInfo | None:
        return self._get("schedulers", qualname)

    def scheduler_traits(self, qualname: str) -> SchedulerTraits | None:
        raw = self._data.get("schedulers", {}).get(qualname)
        if raw is None:
            return None
        t = raw.get("scheduler") or {}
        return SchedulerTraits(
            tuple(t.get("needs_callable", ())),
            tuple(t.get("nested", ())),
            bool(t.get("by_metric")),
            bool(t.get("total_steps")),
        )

    def scheduler_names(self) -> list[str]:
        return sorted(self._data.get("schedulers", {}))

    def module(self, qualname: str) -> CallableInfo | None:
        return self._get("modules", qualname)

    def function(self, qualname: str) -> CallableInfo | None:
        return self._get("functions", qualname)

    def loss(self, qualname: str) -> LossInfo | None:
        raw = self._data.get("losses", {}).get(qualname)
        if raw is None:
            return None
        fn = self.function(qualname) or self.module(qualname)
        return LossInfo(qualname, raw.get("task", "other"), fn)

    def optimizer_names(self) -> list[str]:
        return sorted(self._data.get("optimizers", {}))

    def module_names(self) -> list[str]:
        return sorted(self._data.get("modules", {}))

    def function_names(self) -> list[str]:
        return sorted(self._data.get("functions", {}))

    def loss_names(self) -> list[str]:
        return sorted(self._data.get("losses", {}))

    def dtype_names(self) -> list[str]:
        return sorted(self._dtypes)

    def rejected_reason(self, name: str) -> str | None:
        """Why a name a user may write is refused (`torch.load`, `torch.hub.load`, ...)."""
        rejected = self._data.get("rejected", {})
        if name in rejected:
            return rejected[name]
        parts = name.split(".")
        for i in range(len(parts) - 1, 1, -1):
            prefix = ".".join(parts[:i])
            if prefix in rejected:
                return rejected[prefix].replace(prefix, name, 1)
        return None

    def accepts(self, accepts: Accepts, value: Any) -> bool:
        """`accepts_value` with this catalog's dtype names."""
        return accepts_value(accepts, value, dtypes=self._dtypes)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_tensor_like(v: Any) -> bool:
    if _is_number(v) or isinstance(v, bool):
        return True
    return isinstance(v, list | tuple) and len(v) > 0 and all(_is_tensor_like(x) for x in v)


def _alt_ok(alt: Any, v: Any, dtypes: Collection[str] | None) -> bool:
    if isinstance(alt, str):
        if alt == "any":
            return True
        if alt == "int":
            return isinstance(v, int) and not isinstance(v, bool)
        if alt == "number":
            return _is_number(v)
        if alt == "bool":
            return isinstance(v, bool)
        if alt == "str":
            return isinstance(v, str)
        if alt == "null":
            return v is None
        if alt == "tensor":
            return _is_tensor_like(v)
        if alt == "dtype":
            return isinstance(v, str) and (dtypes is None or v.removeprefix("torch.") in dtypes)
        if alt == "device":
            return isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool))
        if alt == "module":
            return isinstance(v, dict) and "_target_" in v
        if alt == "callable":
            return isinstance(v, str)
        return True  # an alternative this code does not know: never refuse
    if isinstance(alt, dict):
        if "tuple" in alt:
            items = alt["tuple"]
            return (
                isinstance(v, list | tuple)
                and len(v) == len(items)
                and all(accepts_value(a, x, dtypes=dtypes) for a, x in zip(items, v, strict=True))
            )
        if "seq" in alt:
            return isinstance(v, list | tuple) and all(
                accepts_value(alt["seq"], x, dtypes=dtypes) for x in v
            )
        if "literal" in alt:
            return any(v == lit and type(v) is type(lit) for lit in alt["literal"])
    return True


def accepts_value(accepts: Accepts, value: Any, *, dtypes: Collection[str] | None = None) -> bool:
    """Whether a spec value (YAML scalar/list/mapping) fits `accepts`; None accepts anything."""
    if accepts is None:
        return True
    return any(_alt_ok(alt, value, dtypes) for alt in accepts)


_WORDS = {
    "int": "an integer",
    "number": "a number",
    "bool": "true or false",
    "str": "a string",
    "null": "null",
    "tensor": "a number or a list of numbers",
    "dtype": "a dtype name",
    "device": "a device name",
    "module": "a torch.nn object ({_target_: torch.nn.X, ...})",
    "callable": "a function name",
    "any": "any value",
}


def describe_accepts(accepts: Accepts) -> str:
    """`[{"tuple": [["number"], ["number"]]}]` -> 'a list of two numbers'."""
    if accepts is None:
        return "any value"
    words: list[str] = []
    for alt in accepts:
        if isinstance(alt, dict) and "tuple" in alt:
            parts = [describe_accepts(p) for p in alt["tuple"]]
            n = len(parts)
            if len(set(parts)) == 1:
                count = {1: "one", 2: "two", 3: "three", 4: "four"}.get(n, str(n))
                noun = parts[0].removeprefix("a ").removeprefix("an ")
                noun = noun.replace("number or a list of numbers", "number")
                words.append(f"a list of {count} {noun}{'s' if n != 1 else ''}")
            else:
                words.append("a list of [" + ", ".join(parts) + "]")
        elif isinstance(alt, dict) and "seq" in alt:
            inner = describe_accepts(alt["seq"]).removeprefix("a ").removeprefix("an ")
            words.append(f"a list of {inner}s")
        elif isinstance(alt, dict) and "literal" in alt:
            words.append("one of " + ", ".join(repr(v) for v in alt["literal"]))
        else:
            words.append(_WORDS.get(str(alt), str(alt)))
    # "a number or a list of numbers" already covers "a number".
    if "a number or a list of numbers" in words and "a number" in words:
        words.remove("a number")
    return " or ".join(dict.fromkeys(words))
