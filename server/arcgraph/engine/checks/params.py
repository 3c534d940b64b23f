"""Check a `params` mapping against a torch signature from the catalog.

One routine for optimizer params, node params, loss params and nested `_target_` objects:
unknown names get a did-you-mean, values are checked against the annotation-derived `accepts`,
required arguments without a value are reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from arcgraph.engine import codes
from arcgraph.engine.catalog import accepts_value, describe_accepts
from arcgraph.engine.checks.context import CheckContext
from arcgraph.engine.schema import did_you_mean, show
from arcgraph.engine.source import YMap, YNode, YSeq, to_python

# Arguments a spec never gives through params: the optimizer's parameter list, `self`.
NEVER_IN_PARAMS = {"self", "params"}

_KEYWORDABLE = {"positional_or_keyword", "keyword_only"}


def _kind(p: Any) -> str:
    return str(getattr(p, "kind", "positional_or_keyword"))


class _Facts(NamedTuple):
    params: Any  # kept: its id is the cache key
    named: dict[str, Any]  # keyword-capable parameters by name
    var_keyword: bool
    required: tuple[str, ...]  # keyword-capable, without a default


_FACTS: dict[int, _Facts] = {}  # id(params list) -> facts: a large graph repeats a few types


def signature_facts(params: Any) -> _Facts:
    """What the checks ask of a parameter list, computed once per list (catalog entries are
    long-lived and never change; the cache keeps each list alive, so ids are not reused)."""
    facts = _FACTS.get(id(params))
    if facts is None or facts.params is not params:
        named = {p.name: p for p in params if _kind(p) in _KEYWORDABLE}
        facts = _Facts(
            params,
            named,
            any(_kind(p) == "var_keyword" for p in params),
            tuple(p.name for p in named.values() if not p.has_default),
        )
        if len(_FACTS) >= 4096:
            _FACTS.clear()
        _FACTS[id(params)] = facts
    return facts


def named_params(info: Any, skip: Iterable[str] = ()) -> dict[str, Any]:
    """Parameters that may be given by keyword, minus `skip`."""
    named = signature_facts(getattr(info, "params", ())).named
    skip = set(skip)
    return {n: p for n, p in named.items() if n not in skip} if skip else dict(named)


def check_params(
    ctx: CheckContext,
    params: YMap,
    info: Any,
    owner: str,
    *,
    skip: Iterable[str] = (),
    ignore: Iterable[str] = (),
    unknown_code: str = codes.UNKNOWN_PARAM,
    type_code: str = codes.PARAM_TYPE,
    nested: Callable[[YMap, str], None] | None = None,
) -> None:
    """Report unknown names and ill-typed values in `params` for the callable `info`.

    `skip`: names given elsewhere, so unknown here; `ignore`: names another check reports."""
    facts = signature_facts(getattr(info, "params", ()))
    skipped = set(skip) | NEVER_IN_PARAMS
    passed = {"_target_", *ignore}
    for name, knode, vnode in params.items():
        if name in passed:
            continue
        p = None if name in skipped else facts.named.get(name)
        if p is None:
            if facts.var_keyword:
                continue
            allowed = named_params(info, skip=skipped)
            guess = did_you_mean(name, list(allowed))
            if guess:
                msg = f"unknown parameter '{name}' for {owner}; did you mean '{guess}'?"
                data = {"fix": "rename_key", "with": guess}
            else:
                names = ", ".join(allowed) or "none"
                msg = f"unknown parameter '{name}' for {owner}; it accepts: {names}"
                data = {"fix": "remove_key", "key": name}
            ctx.report(unknown_code, msg, knode.span, data=data)
            continue
        if isinstance(vnode, YMap) and vnode.get("_target_") is not None and nested is not None:
            nested(vnode, f"{owner}({name}=...)")
            continue
        accepts = getattr(p, "accepts", None)
        if not accepts_value(accepts, to_python(vnode)):
            ann = (getattr(p, "annotation", "") or "").replace("torch.", "")
            expect = describe_accepts(accepts)
            extra = f" (annotation: {ann})" if ann else ""
            got, where = _misfit(accepts, vnode)
            ctx.report(
                type_code,
                f"parameter '{name}' of {owner} must be {expect}; got {got}{extra}",
                where.span,
            )


def _misfit(accepts: Any, node: YNode) -> tuple[str, YNode]:
    """What is wrong with a refused value, and where: in a list that a list form would take,
    its first wrong item (index and value); else the value as a whole."""
    if isinstance(node, YSeq):
        for alt in accepts or ():
            item_accepts = _item_accepts(alt, len(node.items))
            if item_accepts is None:
                continue
            for i, (want, item) in enumerate(zip(item_accepts, node.items, strict=True)):
                if not accepts_value(want, to_python(item)):
                    return f"a list whose item at index {i} is {show(item)}", item
        if any(_is_tuple(a) for a in accepts or ()):  # a list of the wrong length
            n = len(node.items)
            return f"a list of {n} item{'s' if n != 1 else ''}", node
    return show(node), node


def _is_tuple(alt: Any) -> bool:
    return isinstance(alt, dict) and isinstance(alt.get("tuple"), list)


def _item_accepts(alt: Any, n: int) -> list[Any] | None:
    """What each of `n` items must be under one alternative, if it is a list form that fits."""
    if isinstance(alt, dict) and "seq" in alt:
        return [alt["seq"]] * n
    if _is_tuple(alt) and len(alt["tuple"]) == n:
        return list(alt["tuple"])
    if alt == "tensor":
        return [["tensor"]] * n
    return None


def missing_required(info: Any, given: Iterable[str], skip: Iterable[str] = ()) -> list[str]:
    """Required keyword-capable arguments of `info` not in `given`."""
    required = signature_facts(getattr(info, "params", ())).required
    if not required:
        return []
    given = set(given) | set(skip) | NEVER_IN_PARAMS
    return [name for name in required if name not in given]
