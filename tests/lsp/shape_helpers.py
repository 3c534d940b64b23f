"""What the shape-hint tests share: VS Code's inlay-hint capabilities, hints as rows, and a
server whose refreshes are counted, its shape probes optionally held by test_probe_idle's
gate."""

from __future__ import annotations

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


def hint_rows(hints: list[types.InlayHint] | None) -> list[tuple[int, int, str]]:
    return [(h.position.line, h.position.character, str(h.label)) for h in hints or []]


@dataclass
class HintClient:
    """A started client; `refreshes` grows by one per `workspace/inlayHint/refresh`. With a
    gate: the worker's requests are logged to `log` and its probes wait while `hold` exists."""

    client: RecordingClient
    refreshes: list[None]
    log: Path | None = None
    hold: Path | None = None


async def start_hint_client(
    cache_dir: Path, workspace: Path, gate_folder: Path | None = None
) -> HintClient:
    """A server with probes on, for VS Code with inlay hints; with `gate_folder`, its worker
    runs through the gate (the catalog cached for that interpreter first: no build later)."""
    options: dict[str, object] = {"probes": True}
    log = hold = None
    if gate_folder is not None:
        log, hold = gate_folder / "requests.jsonl", gate_folder / "hold"
        python = gated_interpreter(gate_folder, log, hold)
        with TorchWorker(interpreter=str(python), cache_dir=cache_dir) as worker:
            assert worker.catalog() is not None
        options["interpreter"] = str(python)
    c = await start_client(cache_dir, workspace, vscode_with_inlay_hints(), options=options)
    refreshes: list[None] = []
    c.feature(types.WORKSPACE_INLAY_HINT_REFRESH)(lambda params: refreshes.append(None))
    return HintClient(c, refreshes, log, hold)
