"""Catalog costs: cold build (worker spawn + torch import + introspection), warm load, size, RSS.

Run: `python bench/bench_catalog.py` (uses a fresh temporary cache dir; touches nothing else).
The warm load runs in a fresh subprocess that never imports torch, so its RSS delta is what
the language server pays.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from arcgraph.worker.client import TorchWorker  # noqa: E402

WARM = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
before = rss_kb()
t0 = time.perf_counter()
from arcgraph.worker.client import TorchWorker
t1 = time.perf_counter()
mid = rss_kb()
w = TorchWorker(cache_dir=sys.argv[1])
cat = w.catalog()
t2 = time.perf_counter()
names = cat.module_names() + cat.function_names() + cat.optimizer_names()
t3 = time.perf_counter()
for n in names:
    (cat.module(n) or cat.function(n) or cat.optimizer(n)).params
t4 = time.perf_counter()
print(json.dumps({
    "import_client_s": t1 - t0, "load_s": t2 - t1, "all_entries_s": t4 - t3,
    "rss_delta_mb": (rss_kb() - before) / 1024, "rss_load_mb": (rss_kb() - mid) / 1024, "spawned": w.process is not None,
    "torch_imported": "torch" in sys.modules, "entries": len(names),
}))
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        w = TorchWorker(cache_dir=Path(tmp))
        cat = w.catalog()
        cold = time.perf_counter() - t0
        w.close()
        assert cat is not None, w.unavailable_reason or w.last_error
        path = w.catalog_path()
        assert path is not None
        size = path.stat().st_size
        runs = [
            json.loads(
                subprocess.run(
                    [sys.executable, "-c", WARM, tmp, str(ROOT / "server")],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            for _ in range(5)
        ]
    best = min(runs, key=lambda r: r["load_s"])
    print(f"torch {cat.torch_version}, python {cat.python_version}")
    print(
        f"entries: {len(cat.optimizer_names())} optimizers, {len(cat.module_names())} modules, "
        f"{len(cat.function_names())} functions, {len(cat.loss_names())} losses"
    )
    print(f"cold build (spawn + torch import + introspect + write): {cold * 1000:.0f} ms")
    print(f"catalog size on disk: {size / 1024:.0f} KiB")
    print(
        f"warm load from disk (no spawn: {not best['spawned']}, torch imported: "
        f"{best['torch_imported']}): best {best['load_s'] * 1000:.1f} ms, "
        f"median {sorted(r['load_s'] for r in runs)[2] * 1000:.1f} ms of 5"
    )
    print(f"materialise all {best['entries']} entries: {best['all_entries_s'] * 1000:.1f} ms")
    print(
        f"RSS delta: loading + materialising {best['rss_load_mb']:.1f} MiB; "
        f"with importing the client {best['rss_delta_mb']:.1f} MiB"
    )


if __name__ == "__main__":
    main()
