"""Completion and hover for the trainer's `callbacks:` list, from the engine's torch-free
arc.callbacks catalog (no torch catalog needed: callbacks are the project's own classes)."""

from __future__ import annotations

from arcgraph.engine.callbacks_catalog import CALLBACKS, CallbackInfo
from arcgraph.lsp.outline import Outline


def entry_of(path: tuple[str, ...], tail: str) -> tuple[str, ...] | None:
    """`callbacks.<i>` when `path` is `callbacks.<i>.<tail>`."""
    if len(path) == 3 and path[0] == "callbacks" and path[1].isdigit() and path[2] == tail:
        return path[:2]
    return None


def is_type_path(path: tuple[str, ...]) -> bool:
    return entry_of(path, "type") is not None


def callback_for_params(outline: Outline, path: tuple[str, ...]) -> CallbackInfo | None:
    """The callback whose params the mapping at `path` (callbacks.<i>.params) holds."""
    entry = entry_of(path, "params")
    if entry is None:
        return None
    name = outline.value_of((*entry, "type"))
    return CALLBACKS.get(name) if name else None


def type_markdown(word: str) -> str | None:
    info = CALLBACKS.get(word)
    return info.markdown() if info else None


def param_markdown(outline: Outline, path: tuple[str, ...], key: str) -> str | None:
    info = callback_for_params(outline, path)
    p = info.param(key) if info else None
    return p.markdown(info.name) if info and p else None
