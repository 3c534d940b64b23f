"""Which trainer spec version a key belongs to, and the portability check (`--spec 1.0`).

Trainer spec v1.1 adds keys Arc's v1.0 loader does not know. A user who must stay portable to
Arc sets `arcgraph.spec` (or `arcgraph check --spec 1.0`), and each v1.1 key present is an
error at the key: the spec would not load on Arc, and CI must be able to fail on it. The list
is here, once; the schema marks the same keys with `"x-since": "1.1"` (a test holds them equal).
"""

from __future__ import annotations

from arcgraph.engine import codes
from arcgraph.engine.diagnostics import Diagnostic
from arcgraph.engine.source import YMap, YNode

SPEC_VERSIONS = ("1.0", "1.1")
LATEST = "1.1"

# Key paths (from the trainer spec's top level) that spec v1.1 added.
V11_KEYS: tuple[tuple[str, ...], ...] = (
    ("scheduler",),
    ("callbacks",),
    ("config", "mixed_precision"),
    ("config", "amp_backend"),
    ("config", "distributed"),
    ("config", "world_size"),
    ("config", "backend"),
)


def not_in_version(root: YNode, version: str) -> list[Diagnostic]:
    """AG265 at each key newer than `version` (nothing for the latest)."""
    if version != "1.0" or not isinstance(root, YMap):
        return []
    out: list[Diagnostic] = []
    for path in V11_KEYS:
        node: YNode | None = root
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, YMap) else None
        key = node.key_node(path[-1]) if isinstance(node, YMap) else None
        if key is None:
            continue
        name = ".".join(path)
        out.append(
            Diagnostic(
                codes.NOT_IN_V10,
                f"'{name}' is not in trainer spec v1.0 (it is a v1.1 key); remove it to stay "
                "portable to Arc, or check against spec 1.1",
                key.span,
            )
        )
    return out
