"""The torch stage waits for a pause in the editing: a burst of edits costs one probe.

The worker's requests are observed from outside: the server is given an "interpreter" that is
a shell script teeing the worker's stdin (its requests, one JSON line each) into a log before
running the real Python. No timing is asserted; the edits of a burst are sent back to back,
well within the server's idle delay.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from lsprotocol import types

from arcgraph.worker.client import TorchWorker

from .conftest import RecordingClient, start_client, stop_client, uri_of

LINE = 23  # `    params: { in_features: 16, out_features: 3 }` of the classifier
NAME = types.Range(types.Position(21, 10), types.Position(21, 20))  # `classifier`


@pytest.fixture
def torch_needed(has_catalog: bool) -> None:
    if not has_catalog:
        pytest.skip("torch is not installed")


def teeing_interpreter(folder: Path, log: Path) -> Path:
    """A script that runs this Python, logging the stdin of `-m arcgraph.worker`."""
    script = folder / "python-tee"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-m" ]; then\n'
        f'  tee -a "{log}" | "{sys.executable}" "$@"\n'
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


async def settle(client: RecordingClient, uri: str, quiet: float = 1.0) -> None:
    count = -1
    while count != client.count(uri):
        count = client.count(uri)
        await asyncio.sleep(quiet)


@pytest.mark.asyncio(loop_scope="function")
@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script as interpreter")
async def test_burst_of_edits_costs_one_probe_for_the_last_version(
    cache_dir: Path, workspace: Path, tmp_path: Path, torch_needed: None
):
    log = tmp_path / "requests.jsonl"
    python = teeing_interpreter(tmp_path, log)
    with TorchWorker(interpreter=str(python), cache_dir=cache_dir) as worker:
        assert worker.catalog() is not None  # cached for this interpreter: no build below
    log.unlink(missing_ok=True)
    text = (workspace / "models" / "iris-classifier-v1.model.yaml").read_text()
    assert "in_features: 16" in text.splitlines()[LINE]
    c = await start_client(
        cache_dir, workspace, options={"probes": True, "interpreter": str(python)}
    )
    try:
        uri = uri_of(workspace / "models" / "probe-idle-v1.model.yaml")
        c.open(uri, text)
        await c.wait_for_diagnostics(uri, 1, lambda d: d == [])
        await c.wait_for(lambda: requests(log, "probe_shapes"), 60, "the probe of the opened file")
        await settle(c, uri)
        assert len(requests(log, "probe_shapes")) == 1
        seen = c.count(uri)

        col = text.splitlines()[LINE].index("16")
        for i in range(10):  # each version a different shape error
            c.edit(uri, i + 2, LINE, col, col + (2 if i == 0 else 3), f"{100 + i}")
            await asyncio.sleep(0.02)
        last = 11
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
        await settle(c, uri)

        probes = requests(log, "probe_shapes")[1:]
        assert [classifier_in_features(r) for r in probes] == [109]
        after = c.published_for(uri)[seen:]
        assert [p.version for p in after if shape_rows(list(p.diagnostics))] == [last]
        assert all(p.version == last for p in after[-2:])
    finally:
        await stop_client(c)


def test_worker_runs_at_a_lower_priority(cache_dir: Path, torch_needed: None) -> None:
    with TorchWorker(cache_dir=cache_dir) as worker:
        reply = worker.request("ping")
        assert reply.ok, reply.error
        pid = reply.result["pid"]
        assert os.getpriority(os.PRIO_PROCESS, pid) >= os.getpriority(os.PRIO_PROCESS, 0) + 1
