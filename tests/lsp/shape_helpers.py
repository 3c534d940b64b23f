"""What the shape-hint tests share: VS Code's inlay-hint capabilities, hints as rows, and a
server whose refreshes are counted, its shape probes optionally held by test_probe_idle's
gate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types

from arcgraph.worker.client import TorchWorker

from .conftest import RecordingClient, capabilities_of, start_client
from .test_probe_idle import gated_interpreter


def vscode_with_inlay_hints() -> types.ClientCapabilities:
    """VS Code as it runs the extension: inlay hints with refresh (1.65.2 predates them)."""
    caps = capabilities_of("vscode-languageclient-9")
    assert caps.text_document is not None and caps.workspace is not None
    caps.text_document.inlay_hint = types.InlayHintClientCapabilities()
    caps.workspace.inlay_hint = types.InlayHintWorkspaceClientCapabilities(refresh_support=True)
    return caps


def hint_rows(hints: Sequence[types.InlayHint] | None) -> list[tuple[int, int, str]]:
    return [(h.position.line, h.position.character, str(h.label)) for h in hints or []]


@dataclass
class HintClient:
    """A started client; `refreshes` grows by one per `workspace/inlayHint/refresh`."""

    client: RecordingClient
    refreshes: list[None]


@dataclass
class GatedHintClient(HintClient):
    """Its worker's requests are logged to `log`; its probes wait while `hold` exists."""

    log: Path
    hold: Path


async def start_hint_client(
    cache_dir: Path, workspace: Path, options: dict[str, object] | None = None
) -> HintClient:
    """A server with probes on (and `options`), for VS Code with inlay hints."""
    options = {"probes": True, **(options or {})}
    c = await start_client(cache_dir, workspace, vscode_with_inlay_hints(), options=options)
    refreshes: list[None] = []
    c.feature(types.WORKSPACE_INLAY_HINT_REFRESH)(lambda params: refreshes.append(None))
    return HintClient(c, refreshes)


async def start_gated_hint_client(
    cache_dir: Path, workspace: Path, folder: Path
) -> GatedHintClient:
    """`start_hint_client` whose worker runs through the gate made in `folder` (the catalog
    cached for that interpreter first: no build later)."""
    log, hold = folder / "requests.jsonl", folder / "hold"
    python = gated_interpreter(folder, log, hold)
    with TorchWorker(interpreter=str(python), cache_dir=cache_dir) as worker:
        assert worker.catalog() is not None
    started = await start_hint_client(cache_dir, workspace, {"interpreter": str(python)})
    return GatedHintClient(started.client, started.refreshes, log, hold)
