"""`arcgraph/status`: whether the server has work left, a debugging aid (and what tests wait
for instead of a quiet time).

The server is idle when nothing it started is left to run: no callback queued or timed on the
loop (a scheduled check, a probe's idle wait), no lane job waiting, running or not yet handed
back (structure checks, the torch lane's probes and catalog build, the workspace scan), no
document with a check scheduled or running or a torch job queued or waiting for the document
to be left alone, no task, and no request waiting for the workspace scan. All of it is counted
on the event loop, and a count drops only after its callback ran there; the answer is written
by the same writer after whatever those callbacks published, so a client that reads "idle"
has already received every publish of the work that ended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arcgraph.lsp.feature import on

if TYPE_CHECKING:
    from arcgraph.lsp.diagnostics import DocState
    from arcgraph.lsp.lanes import Lane
    from arcgraph.lsp.server import ArcGraphServer

STATUS = "arcgraph/status"


def _lane(lane: Lane) -> dict[str, int]:
    return {"waiting": lane.waiting, "running": lane.running}


def _document(uri: str, state: DocState) -> dict[str, Any]:
    return {
        "uri": uri,
        "scheduled": state.scheduled,
        "checking": state.running is not None,
        "torchQueued": state.torch_queue.waiting is not None,
        "idleWait": state.idle_wait is not None,
    }


def status_of(server: ArcGraphServer) -> dict[str, Any]:
    """`{"idle": bool, "pending": {...}}`: the counts behind it (see the module doc)."""
    index = server.index
    lanes = {
        "check": _lane(server.diagnostics.check_lane),
        "torch": _lane(index.torch_lane),
        "scan": _lane(index.scan_lane),
    }
    documents = []  # those with work pending (a list: URIs make poor JSON-RPC object keys)
    for uri, state in list(server.diagnostics.docs.items()):
        doc = _document(uri, state)
        if any(v for k, v in doc.items() if k != "uri"):
            documents.append(doc)
    scheduler = server.scheduler.pending()
    pending: dict[str, Any] = {
        "scheduler": scheduler,
        "lanes": lanes,
        "documents": documents,
        "scanWaiters": server.scan_wait.waiters,
    }
    idle = (
        not any(scheduler.values())
        and not any(n for lane in lanes.values() for n in lane.values())
        and not documents
        and not server.scan_wait.waiters
    )
    return {"idle": idle, "pending": pending}


class StatusFeature:
    def __init__(self, server: ArcGraphServer) -> None:
        self.server = server

    def register(self, server: ArcGraphServer) -> None:
        on(server, STATUS, self.status)

    def status(self, params: object = None) -> dict[str, Any]:
        return status_of(self.server)
