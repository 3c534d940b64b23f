"""The engine's torch questions answered in this process, for a caller that has torch loaded
anyway (the trainer's pre-flight): the same probes as the worker's, without a subprocess."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from arcgraph.engine.catalog import Catalog
from arcgraph.engine.torch_service import ProbeResult, probe_result


class InProcessTorch:
    """The engine's `TorchService` over `arcgraph.worker.probes`, with a given catalog."""

    unavailable_reason: str | None = None

    def __init__(self, catalog: Catalog | None) -> None:
        self._catalog = catalog

    def catalog(self) -> Catalog | None:
        return self._catalog

    def probe_optimizer(
        self,
        type: str,
        lr: Any,
        params: dict[str, Any] | None,
        model: dict[str, Any] | None = None,
        scheduler: dict[str, Any] | None = None,
    ) -> ProbeResult:
        from arcgraph.worker.probes import probe_optimizer

        return _answered(lambda: probe_optimizer(type, lr, params or {}, model, scheduler))

    def probe_shapes(
        self, spec: dict[str, Any], batch: int = 2, *, summary: bool = True
    ) -> ProbeResult:
        from arcgraph.worker.probes import probe_shapes

        return _answered(lambda: probe_shapes(spec, batch, summary=summary))


def _answered(probe: Callable[[], dict[str, Any]]) -> ProbeResult:
    """A probe's answer; its exception as a worker crash would be (the check is skipped)."""
    try:
        return probe_result(probe())
    except Exception as exc:
        return ProbeResult(ok=None, message=f"{type_name(exc)}: {exc}")


def type_name(exc: BaseException) -> str:
    return type(exc).__name__
