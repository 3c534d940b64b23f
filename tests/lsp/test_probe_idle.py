"""The torch stage waits for a pause in the editing: a burst of edits costs one probe.

The worker's requests are observed from outside: the server is given an "interpreter" that is
a shell script passing the worker's stdin (its requests, one JSON line each) through a gate
that logs each request and holds `probe_shapes` requests while a file exists. The opened
file's probe is held there, so the torch lane is busy through the whole burst, as a slow
probe keeps it; nothing is timed: the test waits for states (`arcgraph/status`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from lsprotocol import types

from arcgraph.worker.client import TorchWorker

from .conftest import start_client, stop_client, uri_of

LINE = 23  # `    params: { in_features: 16, out_features: 3 }` of the classifier
NAME = types.Range(types.Position(21, 10), types.Position(21, 20))  # `classifier`


@pytest.fixture
def torch_needed(has_catalog: bool) -> None:
    if not has_catalog:
        pytest.skip("torch is not installed")


GATE = """\
import json, os, sys, time

log, hold = sys.argv[1], sys.argv[2]
while True:
    line = sys.stdin.buffer.readline()
    if not line:
        break
    with open(log, "ab") as f:
        f.write(line)
    try:
        op = json.loads(line).get("op")
    except (ValueError, AttributeError):
        op = None
    while op == "probe_shapes" and os.path.exists(hold):
        time.sleep(0.01)
    sys.stdout.buffer.write(line)
    sys.stdout.buffer.flush()
"""


def gated_interpreter(folder: Path, log: Path, hold: Path) -> Path:
    """A script that runs this Python; the stdin of `-m arcgraph.worker` passes the gate."""
    gate = folder / "gate.py"
    gate.write_text(GATE)
    script = folder / "python-gated"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-m" ]; then\n'
        f'  "{sys.executable}" "{gate}" "{log}" "{hold}" | "{sys.executable}" "$@"\n'
        "else\n"
        f'  exec "{sys.executable}" "$@"\n'
        "fi\n"
    )
    script.chmod(0o755)
    return script


def requests(log: Path, op: str) -> list[dict]:
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        try:
            req = json.loads(line)
        except ValueError:
            continue
        if isinstance(req, dict) and req.get("op") == op:
            out.append(req)
    return out


def classifier_in_features(req: dict) -> int:
    (node,) = [n for n in req["spec"]["graph"] if n.get("name") == "classifier"]
    return node["params"]["in_features"]


def shape_rows(diags: list[types.Diagnostic]) -> list[tuple]:
    return [(d.code, d.message, d.range) for d in diags if d.code == "AG314"]


def document_status(status: dict, uri: str) -> dict | None:
    """What `arcgraph/status` says is pending for `uri` (None: nothing)."""
    return next((d for d in status["pending"]["documents"] if d["uri"] == uri), None)


@pytest.mark.asyncio(loop_scope="function")
@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script as interpreter")
async def test_burst_of_edits_costs_one_probe_for_the_last_version(
    cache_dir: Path, workspace: Path, tmp_path: Path, torch_needed: None
):
    log, hold = tmp_path / "requests.jsonl", tmp_path / "hold"
    python = gated_interpreter(tmp_path, log, hold)
    with TorchWorker(interpreter=str(python), cache_dir=cache_dir) as worker:
        assert worker.catalog() is not None  # cached for this interpreter: no build below
    log.unlink(missing_ok=True)
    text = (workspace / "models" / "iris-classifier-v1.model.yaml").read_text()
    assert "in_features: 16" in text.splitlines()[LINE]
    c = await start_client(
        cache_dir, workspace, options={"probes": True, "interpreter": str(python)}
    )
    try:
        await c.wait_idle()  # the scan is in: no recheck comes during the burst
        hold.touch()
        uri = uri_of(workspace / "models" / "probe-idle-v1.model.yaml")
        c.open(uri, text)
        await c.wait_for_diagnostics(uri, 1, lambda d: d == [])
        # the opened file's probe reached the worker and is held: it holds the torch lane
        await c.wait_for(lambda: requests(log, "probe_shapes"), 60, "the probe of the opened file")
        seen = c.count(uri)

        col = text.splitlines()[LINE].index("16")
        for i in range(10):  # each version a different shape error, sent back to back
            c.edit(uri, i + 2, LINE, col, col + (2 if i == 0 else 3), f"{100 + i}")
        last = 11
        await c.wait_for_diagnostics(uri, last, lambda d: d == [], after=seen)  # its structure
        # every check is done; one torch job waits, behind the held probe
        status = await c.status()
        assert status["pending"]["lanes"]["torch"] == {"waiting": 1, "running": 1}
        doc = document_status(status, uri)
        assert doc is not None and (doc["checking"], doc["torchQueued"]) == (False, True)
        assert len(requests(log, "probe_shapes")) == 1

        hold.unlink()  # the slow probe ends
        expected = [
            (
                "AG314",
                "shape check failed at node 'classifier': "
                "Linear in_features 109 but input has 16 features",
                NAME,
            )
        ]
        diags = await c.wait_for_diagnostics(uri, last, lambda d: bool(shape_rows(d)), 60)
        assert shape_rows(diags) == expected
        assert [d.code for d in diags] == ["AG314"]
        await c.wait_idle()

        # the opened version's probe, then one for the last version of the burst
        probes = requests(log, "probe_shapes")
        assert [classifier_in_features(r) for r in probes] == [16, 109]
        after = c.published_for(uri)[seen:]
        assert [p.version for p in after if shape_rows(list(p.diagnostics))] == [last]
        assert all(p.version == last for p in after[-2:])
    finally:
        hold.unlink(missing_ok=True)
        await stop_client(c)


def test_worker_runs_at_a_lower_priority(cache_dir: Path, torch_needed: None) -> None:
    with TorchWorker(cache_dir=cache_dir) as worker:
        reply = worker.request("ping")
        assert reply.ok, reply.error
        pid = reply.result["pid"]
        assert os.getpriority(os.PRIO_PROCESS, pid) >= os.getpriority(os.PRIO_PROCESS, 0) + 1
