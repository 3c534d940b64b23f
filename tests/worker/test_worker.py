"""The worker process and its client: probes, cache, crash and hang containment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arcgraph.engine.catalog import Catalog
from arcgraph.worker.client import PACKAGE_PARENT, Reply, TorchWorker

MLP = {
    "inputs": {
        "x": {"dtype": "float32", "shape": [None, 8], "columns": [f"c{i}" for i in range(8)]}
    },
    "graph": [
        {
            "name": "fc1",
            "type": "torch.nn.Linear",
            "params": {"in_features": 8, "out_features": 64},
            "inputs": {"input": "x"},
        },
        {"name": "act", "type": "torch.nn.functional.relu", "inputs": {"input": "fc1.output"}},
        {
            "name": "fc2",
            "type": "torch.nn.Linear",
            "params": {"in_features": 128, "out_features": 10},
            "inputs": {"input": "act.output"},
        },
    ],
    "outputs": {"logits": "fc2.output"},
    "loss": {
        "type": "torch.nn.functional.cross_entropy",
        "inputs": {"input": "logits", "target": "y"},
    },
}


def test_probe_sgd_nesterov(worker: TorchWorker) -> None:
    r = worker.probe_optimizer("torch.optim.SGD", 0.01, {"nesterov": True})
    assert r.ok is False
    assert r.param == "nesterov"
    assert "Nesterov momentum requires a momentum" in r.message


def test_probe_adam_betas(worker: TorchWorker) -> None:
    r = worker.probe_optimizer("torch.optim.Adam", 0.001, {"betas": [1.5, 0.999]})
    assert r.ok is False and r.param == "betas"
    assert "Invalid beta parameter at index 0" in r.message


def test_probe_unexpected_kwarg(worker: TorchWorker) -> None:
    r = worker.probe_optimizer("torch.optim.Adam", 0.001, {"momentum": 0.9})
    assert r.ok is False and r.param == "momentum"
    assert "unexpected keyword argument 'momentum'" in r.message


def test_probe_learning_rate_and_ok(worker: TorchWorker) -> None:
    r = worker.probe_optimizer("torch.optim.AdamW", -1.0, {})
    assert r.ok is False and r.param == "lr"
    good = worker.probe_optimizer("torch.optim.SGD", 0.01, {"momentum": 0.9, "nesterov": True})
    assert good.ok is True and good.message == ""
    muon = worker.probe_optimizer("torch.optim.Muon", 0.01, {})
    assert muon.ok is True, muon.message
    bad = worker.probe_optimizer("torch.optim.Nope", 0.01, {})
    assert bad.ok is False and bad.param == "type"


def test_probe_shapes(worker: TorchWorker) -> None:
    r = worker.probe_shapes(MLP)
    assert r.ok is False
    assert r.node == "fc2"
    assert r.message == "Linear in_features 128 but input has 64 features"
    spec = json.loads(json.dumps(MLP))
    spec["graph"][2]["params"]["in_features"] = 64
    good = worker.probe_shapes(spec)
    assert good.ok is True, good.message
    assert good.data["outputs"] == {"logits": [2, 10]}


def test_cache_hit_without_spawning(worker: TorchWorker, catalog: Catalog, cache_dir: Path) -> None:
    assert worker.catalog_path() is not None and worker.catalog_path().exists()
    fresh = TorchWorker(cache_dir=cache_dir)
    assert fresh.catalog_if_cached() is not None
    again = TorchWorker(cache_dir=cache_dir)
    cat = again.catalog()
    assert cat is not None and cat.torch_version == catalog.torch_version
    assert again.process is None and fresh.process is None


def test_catalog_if_cached_never_spawns(tmp_path: Path) -> None:
    w = TorchWorker(cache_dir=tmp_path)
    assert w.catalog_if_cached() is None
    assert w.process is None


SLOW_WORKER = Path(__file__).with_name("slow_worker.py")


@pytest.fixture(scope="module")
def spare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TorchWorker]:
    """A worker these tests may kill and hang (the session's `worker` stays healthy): the test
    worker, which adds a `sleep` op to the shipped one."""
    w = TorchWorker(cache_dir=tmp_path_factory.mktemp("spare"), worker_args=(str(SLOW_WORKER),))
    yield w
    w.close()


def test_shipped_worker_has_no_test_ops(worker: TorchWorker) -> None:
    r = worker.request("sleep", seconds=0)
    assert r == Reply(ok=False, error="ValueError: unknown op 'sleep'")


def test_killed_worker_restarts(spare: TorchWorker) -> None:
    assert spare.request("ping").ok
    first = spare.process
    assert first is not None
    restarts = spare.restarts
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    r = spare.probe_optimizer("torch.optim.SGD", 0.1, {"nesterov": True})
    assert r.ok is False and r.param == "nesterov"
    assert spare.process is not None and spare.process.pid != first.pid
    assert spare.restarts == restarts + 1


def test_crash_during_request_is_contained(spare: TorchWorker) -> None:
    assert spare.request("ping").ok
    proc = spare.process
    assert proc is not None
    threading.Timer(0.3, lambda: os.kill(proc.pid, signal.SIGKILL)).start()
    r = spare.request("sleep", seconds=10)
    assert r.ok is None and "exited" in (r.error or "")
    assert spare.process is None
    assert spare.request("ping").ok  # restarted


def test_hung_request_times_out(spare: TorchWorker) -> None:
    assert spare.request("ping").ok
    restarts = spare.restarts
    t0 = time.monotonic()
    hung = spare.request("sleep", seconds=30, timeout=1.0)
    assert hung.ok is None and "timed out after 1 s" in (hung.error or "")
    assert time.monotonic() - t0 < 5
    assert spare.process is None  # killed
    assert spare.request("ping").ok  # and restarted on the next request
    assert spare.restarts == restarts + 1


def test_probe_times_out_as_unknown(tmp_path: Path) -> None:
    w = TorchWorker(cache_dir=tmp_path, timeout=0.001)
    try:
        r = w.probe_optimizer("torch.optim.SGD", 0.1, {})
        assert r.ok is None and "timed out" in r.message
    finally:
        w.close()


def test_interpreter_without_torch(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    w = TorchWorker(str(python), cache_dir=tmp_path)
    reason = w.unavailable_reason
    assert reason and "torch is not installed" in reason and str(python) in reason
    assert w.catalog() is None
    r = w.probe_optimizer("torch.optim.SGD", 0.1, {})
    assert r.ok is None and "torch is not installed" in r.message
    assert w.process is None
    # the answer is remembered: a second client needs no subprocess to know it
    assert TorchWorker(str(python), cache_dir=tmp_path).catalog_if_cached() is None
    assert TorchWorker("/nonexistent/python", cache_dir=tmp_path).unavailable_reason


def test_stdout_carries_only_json(tmp_path: Path) -> None:
    requests = [
        {"id": 1, "op": "ping"},
        {"id": 2, "op": "probe_optimizer", "type": "torch.optim.SGD", "lr": 0.1, "params": {}},
        {"id": 3, "op": "bogus"},
        {"id": 4, "op": "shutdown"},
    ]
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT)
    out = subprocess.run(
        [sys.executable, "-m", "arcgraph.worker"],
        input="\n".join(json.dumps(r) for r in requests) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    lines = [json.loads(line) for line in out.stdout.splitlines()]  # every line is JSON
    assert [m["id"] for m in lines] == [0, 1, 2, 3, 4]
    assert lines[3]["ok"] is False and "unknown op" in lines[3]["error"]


def test_concurrent_requests(worker: TorchWorker) -> None:
    cases = [
        ("torch.optim.SGD", {"nesterov": True}, "nesterov"),
        ("torch.optim.Adam", {"betas": [1.5, 0.999]}, "betas"),
        ("torch.optim.Adam", {"eps": -1.0}, "eps"),
        ("torch.optim.SGD", {"weight_decay": -1.0}, "weight_decay"),
    ] * 3
    results: dict[int, object] = {}

    def run(i: int) -> None:
        opt, params, _ = cases[i]
        results[i] = worker.probe_optimizer(opt, 0.01, params)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert [getattr(results[i], "param", None) for i in range(len(cases))] == [c[2] for c in cases]


def test_unwritable_cache_keeps_catalog_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    w = TorchWorker(cache_dir=blocker / "cache")
    try:
        cat = w.catalog()
        assert cat is not None and cat.optimizer("torch.optim.SGD") is not None
    finally:
        w.close()


def test_engine_side_never_imports_torch() -> None:
    code = (
        "import sys, arcgraph.engine.catalog, arcgraph.worker.client, arcgraph.worker.accepts, "
        "arcgraph.worker.rst, arcgraph.worker.signatures; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT)
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=30)
