"""The trainer spec's `scheduler:` (v1.1) in the editor: where a path is a scheduler's type or
params (at the top, or nested in SequentialLR's `schedulers`), and what hover adds to torch's
docstrings: what the trainer supplies and why callable-taking schedulers are refused."""

from __future__ import annotations

from arcgraph.engine.catalog import CallableInfo, Catalog
from arcgraph.lsp.outline import Outline

TOTAL_STEPS_NOTE = (
    "**Supplied by the trainer** when none of `total_steps`, `epochs`, `steps_per_epoch` is "
    "given: `total_steps` = epochs x optimizer steps per epoch (after "
    "`accumulate_grad_batches`) with `interval: step`, or epochs with `interval: epoch`."
)


def _entry(path: tuple[str, ...], last: str) -> bool:
    """`scheduler.<last>` or `scheduler.params.<nested>.<i>.<last>` at any depth."""
    if not path or path[0] != "scheduler" or path[-1] != last:
        return False
    return len(path) == 2 or (len(path) >= 5 and path[-2].isdigit() and path[-4] == "params")


def is_type_path(path: tuple[str, ...]) -> bool:
    return _entry(path, "type")


def is_params_path(path: tuple[str, ...]) -> bool:
    return _entry(path, "params")


def scheduler_for(
    outline: Outline, path: tuple[str, ...], catalog: Catalog
) -> tuple[CallableInfo | None, str] | None:
    """The scheduler whose constructor arguments the `params` mapping at `path` holds."""
    name = outline.value_of((*path[:-1], "type"))
    return (catalog.scheduler(name), name) if name else None


def offered(catalog: Catalog) -> list[tuple[str, CallableInfo]]:
    """The scheduler classes a spec can use (those needing Python callables are left out)."""
    out = []
    for name in catalog.scheduler_names():
        info, traits = catalog.scheduler(name), catalog.scheduler_traits(name)
        if info is not None and traits is not None and not traits.needs_callable:
            out.append((name, info))
    return out


def type_markdown(catalog: Catalog, name: str) -> str | None:
    """torch's docstring summary and signature, with what the trainer does for this class."""
    info, traits = catalog.scheduler(name), catalog.scheduler_traits(name)
    if info is None or traits is None:
        return None
    parts = [info.markdown()]
    if traits.needs_callable:
        args = ", ".join(f"`{a}`" for a in traits.needs_callable)
        parts.append(f"**Not usable from a spec**: it needs a Python function ({args}).")
    if traits.total_steps:
        parts.append(TOTAL_STEPS_NOTE)
    if traits.by_metric:
        parts.append(
            "Stepped once per epoch with the value of `scheduler.monitor` (default: "
            "`config.early_stopping_monitor`)."
        )
    if traits.nested:
        parts.append(
            "Takes other schedulers as a list of `{type, params}` mappings: "
            + ", ".join(f"`{a}`" for a in traits.nested)
        )
    return "\n\n".join(parts)


def param_note(catalog: Catalog, name: str, key: str) -> str | None:
    """Extra words for a scheduler argument's hover: what the trainer supplies."""
    traits = catalog.scheduler_traits(name)
    if traits is not None and traits.total_steps and key == "total_steps":
        return TOTAL_STEPS_NOTE
    return None
