"""The diagnostics scheduler's state, read inside a real server run in this process.

The server is the one `arcgraph lsp` runs (`build_server`), fed JSON-RPC messages through its
own protocol and writing its answers to a list here, on this test's event loop, so that the
per-document state and the torch lane's queue can be read between messages. The torch lane
is held by a job that waits on an event, as a slow shape probe holds it; nothing is timed.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from arcgraph.engine.codes import TORCH_UNAVAILABLE
from arcgraph.lsp.scheduler import Newest, Scheduler
from arcgraph.lsp.server import ArcGraphServer, build_server
from arcgraph.lsp.status import status_of

URI = "file:///nowhere/burst-v1.model.yaml"

MODEL = """inputs:
  x:
    dtype: float32
    shape: [null, 4]
    columns: [a, b, c, d]
graph:
  - name: fc
    type: torch.nn.Linear
    params: {{ in_features: 4, out_features: {n} }}
    inputs: {{ input: x }}
outputs:
  y: fc.output
loss:
  type: torch.nn.functional.cross_entropy
  inputs: {{ input: y, target: label }}
"""


class Wire:
    """The server's writer: every message it sends, parsed."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.sent.append(json.loads(data))

    def close(self) -> None:
        pass

    def published(self, version: int) -> list[list[str]]:
        """The diagnostic codes of each publish of URI at `version`, in order."""
        return [
            [d["code"] for d in m["params"]["diagnostics"]]
            for m in self.sent
            if m.get("method") == "textDocument/publishDiagnostics"
            and m["params"]["uri"] == URI
            and m["params"].get("version") == version
        ]


def send(server: ArcGraphServer, method: str, params: Any, msg_id: int | None = None) -> None:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
    if msg_id is not None:
        message["id"] = msg_id
    server.protocol.handle_message(server.protocol.structure_message(message))


async def until(predicate: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def started_torch_off() -> tuple[ArcGraphServer, Wire]:
    """An initialized in-process server writing to a Wire; torch off, so the torch stage
    answers at once with the info saying so."""
    server = build_server()
    wire = Wire()
    server.protocol.set_writer(wire, include_headers=False)
    send(server, "initialize", {"capabilities": {}, "initializationOptions": {"torch": False}}, 1)
    send(server, "initialized", {})
    return server, wire


def stage_one_done(server: ArcGraphServer) -> bool:
    """Every lane but the torch lane (held by the test) idle, every result but the torch
    stage's (waiting behind the held lane) handed back."""
    pending = status_of(server)["pending"]
    lanes = pending["lanes"]
    scheduler = pending["scheduler"]
    return (
        not any(lanes["check"].values())
        and not any(lanes["scan"].values())
        and scheduler["lane_results"] == 1
        and not scheduler["soon"]
        and not pending["documents"][0]["checking"]
        and not pending["documents"][0]["scheduled"]
    )


def hold(lane: Any) -> tuple[threading.Event, threading.Event]:
    """Submit a job that holds `lane` (set `held` when it runs) until `release` is set."""
    held, release = threading.Event(), threading.Event()
    lane.submit(lambda: (held.set(), release.wait(60)))
    return held, release


async def test_a_burst_of_edits_queues_one_torch_job_the_newest() -> None:
    server, wire = started_torch_off()
    lane = server.index.torch_lane
    held, release = hold(lane)  # a slow probe holds the lane
    try:
        await until(held.is_set, "the torch lane held")
        doc = {"uri": URI, "languageId": "yaml", "version": 1, "text": MODEL.format(n=1)}
        send(server, "textDocument/didOpen", {"textDocument": doc})
        await until(lambda: wire.published(1), "the structure check of version 1")
        for version in range(2, 7):
            send(
                server,
                "textDocument/didChange",
                {
                    "textDocument": {"uri": URI, "version": version},
                    "contentChanges": [{"text": MODEL.format(n=version)}],
                },
            )
            await until(lambda v=version: wire.published(v), f"the check of version {version}")

        # six checks finished, each with a torch stage to run: one job waits, the newest
        state = server.diagnostics.docs[URI]
        queued = state.torch_queue.waiting
        assert queued is not None and queued.version == 6
        assert queued.doc.text == MODEL.format(n=6)
        assert lane.waiting == 1
        assert [wire.published(v) for v in range(1, 7)] == [[[]]] * 6

        release.set()
        await until(lambda: len(wire.published(6)) == 2, "the torch stage of version 6")
        assert wire.published(6) == [[], [TORCH_UNAVAILABLE]]
        assert [wire.published(v) for v in range(1, 6)] == [[[]]] * 5  # no stale torch stage
        assert state.torch_queue.waiting is None and lane.waiting == 0
        assert state.torch is not None and state.torch[1][0].code == TORCH_UNAVAILABLE
    finally:
        release.set()
        send(server, "shutdown", None, 2)


async def test_a_burst_of_edits_during_a_check_is_checked_once_the_newest() -> None:
    """Edits that arrive while the document's check waits or runs make it run once more, on
    the newest text: ten edits behind a busy check lane cost one check, of the last version."""
    server, wire = started_torch_off()
    doc = {"uri": URI, "languageId": "yaml", "version": 1, "text": MODEL.format(n=1)}
    send(server, "textDocument/didOpen", {"textDocument": doc})
    await until(lambda: status_of(server)["idle"], "the check of version 1")
    lane = server.diagnostics.check_lane
    held, release = hold(lane)  # a long check of another document
    try:
        await until(held.is_set, "the check lane held")
        for version in range(2, 12):
            send(
                server,
                "textDocument/didChange",
                {
                    "textDocument": {"uri": URI, "version": version},
                    "contentChanges": [{"text": MODEL.format(n=version)}],
                },
            )
            # each edit's scheduled check runs on its own loop turn (as edits read from stdin)
            await until(lambda: not server.scheduler.pending()["soon"], f"edit {version} taken in")
        (pending,) = status_of(server)["pending"]["documents"]
        assert (pending["uri"], pending["scheduled"], pending["checking"]) == (URI, False, True)
        assert lane.waiting == 1  # the check of version 2, to run once more when it ends

        release.set()
        await until(lambda: status_of(server)["idle"], "the burst's checks")
        assert [wire.published(v) for v in range(2, 11)] == [[]] * 9
        assert wire.published(11) == [[], [TORCH_UNAVAILABLE]]
    finally:
        release.set()
        send(server, "shutdown", None, 2)


async def test_status_is_idle_only_after_the_publish() -> None:
    """`arcgraph/status` reads idle only once a lane job's result was handled on the loop:
    a job that ended on its thread, its callback (the publish) not run yet, still counts."""
    server, wire = started_torch_off()
    lane = server.index.torch_lane
    held, release = hold(lane)
    try:
        await until(held.is_set, "the torch lane held")
        doc = {"uri": URI, "languageId": "yaml", "version": 1, "text": MODEL.format(n=1)}
        send(server, "textDocument/didOpen", {"textDocument": doc})
        await until(lambda: wire.published(1), "the structure check")
        # opening a spec outside every root scans its folder, and the scan's end rechecks (a
        # second publish of version 1, before or after the first): counted once it is back
        await until(lambda: stage_one_done(server), "the scan and the structure check handed back")
        structure = wire.published(1)
        assert structure and all(p == [] for p in structure)
        send(server, "arcgraph/status", None, 3)
        (held_answer,) = [m["result"] for m in wire.sent if m.get("id") == 3]
        assert not held_answer["idle"]
        assert held_answer["pending"]["lanes"]["torch"] == {"waiting": 1, "running": 1}

        # the torch stage runs and ends on its thread while this loop is kept busy here, so
        # its result waits to be handed back: not idle, and nothing published yet
        release.set()
        deadline = time.monotonic() + 30
        while lane.waiting or lane.running:
            assert time.monotonic() < deadline, "the torch stage did not end"
            time.sleep(0.001)
        send(server, "arcgraph/status", None, 4)
        (ended_answer,) = [m["result"] for m in wire.sent if m.get("id") == 4]
        assert not ended_answer["idle"]
        assert ended_answer["pending"]["scheduler"]["lane_results"] == 1
        assert wire.published(1) == structure

        await until(lambda: status_of(server)["idle"], "the torch stage handed back")
        send(server, "arcgraph/status", None, 5)
        assert [m["result"]["idle"] for m in wire.sent if m.get("id") == 5] == [True]
        assert wire.published(1) == [*structure, [TORCH_UNAVAILABLE]]
    finally:
        release.set()
        send(server, "shutdown", None, 99)


async def test_each_server_has_its_own_outline_cache() -> None:
    """Two servers in one process (the tests' in-process servers, a host embedding two)
    share no outline: each reads and bounds its own documents' states."""
    servers = [build_server(), build_server()]
    for i, server in enumerate(servers):
        server.protocol.set_writer(Wire(), include_headers=False)
        send(
            server, "initialize", {"capabilities": {}, "initializationOptions": {"torch": False}}, 1
        )
        doc = {"uri": URI, "languageId": "yaml", "version": 1, "text": MODEL.format(n=i + 1)}
        send(server, "textDocument/didOpen", {"textDocument": doc})
        hover = {"textDocument": {"uri": URI}, "position": {"line": 8, "character": 16}}
        send(server, "textDocument/hover", hover, 2)
    first, second = (s.outlines.peek(URI, MODEL.format(n=1)) for s in servers)
    assert first is not None and first.text == MODEL.format(n=1)
    assert second is None  # the second server never saw the first one's text
    assert servers[1].outlines.peek(URI, MODEL.format(n=2)) is not None
    for server in servers:
        send(server, "shutdown", None, 3)


async def test_a_spawned_task_is_kept_until_it_ends() -> None:
    """The loop holds tasks weakly: one nobody keeps can be collected mid-flight (RUF006)."""
    scheduler = Scheduler()
    scheduler.bind(asyncio.get_running_loop())
    gate = asyncio.Event()

    async def work() -> int:
        await gate.wait()
        return 7

    task = scheduler.spawn(work())
    assert task is not None and scheduler.tasks == {task}
    gate.set()
    assert await task == 7
    await asyncio.sleep(0)  # one loop turn: the done callbacks run
    assert scheduler.tasks == set()


def test_newest_keeps_one_item_and_asks_for_one_taker() -> None:
    slot: Newest[int] = Newest()
    assert slot.put(1) is True  # nothing waited: start a taker
    assert slot.put(2) is False and slot.put(3) is False  # that taker takes the newest
    assert slot.waiting == 3
    assert slot.take() == 3 and slot.waiting is None
    assert slot.take() is None
    assert slot.put(4) is True  # taken: the next item needs a new taker
    slot.clear()
    assert slot.put(5) is False and slot.take() == 5  # the started taker takes it


def test_a_failing_callback_is_logged_and_the_rest_run(caplog: pytest.LogCaptureFixture) -> None:
    ran: list[int] = []

    def fail() -> None:
        raise ValueError("boom")

    Scheduler.guarded(fail, ())
    Scheduler.guarded(ran.append, (1,))
    assert ran == [1]
    assert [r.getMessage() for r in caplog.records] == ["a background callback failed"]
