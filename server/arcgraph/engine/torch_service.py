"""The engine's one seam to torch: what it asks (`TorchService`) and what it gets back.

The engine never imports torch; it asks a `TorchService` for the catalog (`Catalog`, torch's
API as data) and for probes (torch constructing an optimizer, a shape check on `meta`), and
reads each probe's answer as a `ProbeResult`. Two services implement it: the worker client
(`arcgraph.worker.client.TorchWorker`, a subprocess) and `arcgraph.worker.inprocess` (the
trainer's pre-flight, torch already loaded).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from arcgraph.engine.catalog import Catalog


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """ok: True (torch accepts), False (torch refuses: see message/param/node), None (could
    not tell: worker unavailable, crashed or timed out; message says why)."""

    ok: bool | None
    message: str = ""
    param: str | None = None
    node: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # extra facts, e.g. output shapes


def probe_result(result: dict[str, Any]) -> ProbeResult:
    """A probe's answer (arcgraph.worker.probes) as the engine reads it."""
    r = dict(result)
    ok, message = r.pop("ok", None), r.pop("message", "") or ""
    param, node = r.pop("param", None), r.pop("node", None)
    return ProbeResult(ok=ok, message=message, param=param, node=node, data=r)


class TorchService(Protocol):
    """What the engine asks of torch."""

    @property
    def unavailable_reason(self) -> str | None:
        """Why torch cannot answer (not installed, fails to import), or None."""
        ...

    def catalog(self) -> Catalog | None:
        """Torch's API as data; None when torch is unavailable or the build failed."""
        ...

    def probe_optimizer(
        self,
        type: str,
        lr: float,
        params: dict[str, Any],
        model: dict[str, Any] | None = None,
        scheduler: dict[str, Any] | None = None,
    ) -> ProbeResult:
        """Construct the optimizer (with the trainer's model spec: whether it can train it;
        with a scheduler `{type, params}`: whether it builds on that optimizer)."""
        ...

    def probe_shapes(self, spec: dict[str, Any], *, summary: bool = True) -> ProbeResult:
        """Build the model spec on the `meta` device and run a forward pass (with `summary`:
        and record each node's shapes and parameter counts)."""
        ...
