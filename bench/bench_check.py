"""Time `check` on a 5,000-line model spec, with a cold and a warm torch catalog.

Prints, for one generated spec: parse, structure checks (schema, graph, catalog), the torch
probe (meta-device shape check), and `arcgraph check` end to end as a subprocess with a cold
catalog (fresh cache dir: worker start, torch import, introspection) and a warm one (catalog
from disk, no torch import in the checker). Run: python bench/bench_check.py
To compare with another version, run it again with PYTHONPATH=<a copy of that server/>.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_specs import big_model_spec

from arcgraph.engine.checks.context import CheckOptions
from arcgraph.engine.core import Engine
from arcgraph.engine.registry import Registry
from arcgraph.engine.source import parse_yaml
from arcgraph.worker.client import TorchWorker


def best_of(n: int, fn) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def main() -> None:
    text = big_model_spec(5000)
    lines = text.count("\n")
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        ws.mkdir()
        path = ws / "big-v1.model.yaml"
        path.write_text(text)
        cache = Path(tmp) / "cache"
        env = dict(os.environ, ARCGRAPH_CACHE_DIR=str(cache))
        cmd = [sys.executable, "-m", "arcgraph", "check", str(path)]

        t = time.perf_counter()
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        cold = time.perf_counter() - t
        assert out.returncode == 0, out.stdout + out.stderr
        warm_runs = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            warm_runs.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run([*cmd, "--no-shape-check"], env=env, capture_output=True, check=True)
        warm_noshape = time.perf_counter() - t

        worker = TorchWorker(cache_dir=cache)
        catalog = worker.catalog_if_cached()
        assert catalog is not None
        engine = Engine(Registry.scan([ws]), worker, CheckOptions(), catalog=catalog)
        p_best, p_med = best_of(5, lambda: parse_yaml(text))
        s_best, s_med = best_of(5, lambda: engine.check_structure(engine.analyze(path, text)))
        a = engine.analyze(path, text)
        engine.check_structure(a)
        engine.check_probes(a)  # the worker's first probe imports torch; time the next ones
        pr_best, pr_med = best_of(3, lambda: engine.check_probes(a))
        worker.close()

    print(f"model spec: {lines} lines ({len(text) / 1024:.0f} KiB)")
    print(
        f"parse (libyaml compose + located tree):    best {p_best * 1e3:7.1f} ms  median {p_med * 1e3:7.1f} ms"
    )
    print(
        f"parse + structure checks (schema, graph): best {s_best * 1e3:7.1f} ms  median {s_med * 1e3:7.1f} ms"
    )
    print(
        f"shape probe in a running worker:           best {pr_best * 1e3:7.1f} ms  median {pr_med * 1e3:7.1f} ms"
    )
    print(f"`arcgraph check` cold catalog (end to end): {cold:6.2f} s")
    print(f"`arcgraph check` warm catalog (end to end): {min(warm_runs):6.2f} s best of 3")
    print(
        f"`arcgraph check` warm, --no-shape-check:    {warm_noshape:6.2f} s (no torch import at all)"
    )
    print(f"cold / warm ratio: {cold / min(warm_runs):.2f}x")


if __name__ == "__main__":
    main()
