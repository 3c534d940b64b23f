"""Edit -> diagnostics on the 5,000-line model only, our server against a baseline tree and
against itself on Python's own allocator, in alternating rounds (the machine is noisy: only
ratios within one run mean anything).

Where the language server's edit -> diagnostics goes beyond the baseline's: run our server
as it ships (`arcgraph lsp` re-executes itself on the C allocator, issue 9) and with
`ARCGRAPH_KEEP_PYMALLOC=1` (as the baseline ran) side by side. It reuses bench_lsp.py's
client, servers and edit series (30 edits flipping `dtype`, 3 warm-up edits each).

Run: `BENCH_LSP_BASELINE=DIR python bench/bench_lsp_edits.py` (DIR: another tree's server/,
e.g. from `bash bench/compare`; without it, no baseline column). Environment:
  BENCH_LSP_OTHER=DIR    one more column, `arcgraph-other`: our server from another tree's
                         server/ (e.g. this tree before a change), as it ships
  BENCH_LSP_ROUNDS=N     rounds (default 4), each server once per round, the order reversed
                         every other round
  BENCH_LSP_EDITS=N      edits per series (default 30)
  BENCH_LSP_CACHE=DIR    a torch-catalog cache dir to reuse
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_lsp as lsp
from lsp_client import path_uri
from make_specs import big_model_spec

SPEC = lsp.EditSpec("model 5,000-line", "model", "dtype", ["float32"], "float99", "dtype:")


def servers(cache: Path) -> list[lsp.ServerKind]:
    """Ours as shipped, ours on pymalloc, and the baseline (if given): the ratio row's
    denominator is the last."""
    kinds = [lsp.our_server(cache)]
    pymalloc = lsp.our_server(cache, "arcgraph-pymalloc")
    pymalloc.env = dict(pymalloc.env, ARCGRAPH_KEEP_PYMALLOC="1")
    kinds.append(pymalloc)
    other = os.environ.get("BENCH_LSP_OTHER")
    if other:  # e.g. this tree before a change: another copy of server/, on its allocator
        kind = lsp.baseline_server(cache, other)
        kind.name = "arcgraph-other"
        kinds.append(kind)
    base = os.environ.get("BENCH_LSP_BASELINE")
    if base:
        kinds.append(lsp.baseline_server(cache, base))
    return kinds


async def main_async() -> int:
    rounds = int(os.environ.get("BENCH_LSP_ROUNDS", "4"))
    n = lsp.N_EDITS
    with tempfile.TemporaryDirectory(prefix="bench-lsp-edits-") as tmp_name:
        tmp = Path(tmp_name)
        ws = tmp / "ws"
        shutil.copytree(lsp.REPO / "examples", ws)
        logdir = tmp / "logs"
        logdir.mkdir()
        big = big_model_spec(5000)
        (ws / "models" / "big-v1.model.yaml").write_text(big)
        trainer_text = (ws / "trainers" / lsp.TRAINER).read_text()
        cache_env = os.environ.get("BENCH_LSP_CACHE")
        cache = Path(cache_env) if cache_env else tmp / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        from arcgraph.worker.client import TorchWorker

        with TorchWorker(cache_dir=cache) as worker:
            if worker.catalog() is None:
                print("the torch catalog could not be built (torch missing?)", file=sys.stderr)
                return 2
        kinds = servers(cache)
        sessions: dict[str, tuple[lsp.BenchClient, lsp.Doc]] = {}
        lat: dict[str, list[float]] = {k.name: [] for k in kinds}
        cpu: dict[str, list[float]] = {k.name: [] for k in kinds}
        try:
            for k in kinds:  # the trainer open too: a model edit re-checks it, as in bench_lsp
                client, _ = await lsp.start(k, ws, logdir, "edits")
                trainer = lsp.Doc(path_uri(str(ws / "trainers" / lsp.TRAINER)), trainer_text)
                model = lsp.Doc(path_uri(str(ws / "models" / "big-v1.model.yaml")), big)
                for d in (trainer, model):
                    lsp.open_doc(client, d)
                    await client.wait_publish(lambda q, d=d: q.uri == d.uri, lsp.WAIT)
                sessions[k.name] = (client, model)
            for k in kinds:
                client = sessions[k.name][0]
                await client.quiet(0.3, 10.0)
                await lsp.settle_process_tree(client.pid or 0)
            for r in range(rounds):
                for k in kinds if r % 2 == 0 else kinds[::-1]:
                    client, model = sessions[k.name]
                    await lsp.settle_process_tree(client.pid or 0, 10.0)
                    before = lsp.tree_cpu(client.pid or 0)[0]
                    got, misses = await lsp.edit_series(k, client, model, SPEC, n)
                    await lsp.settle_process_tree(client.pid or 0, 10.0)
                    per_edit = (lsp.tree_cpu(client.pid or 0)[0] - before) / (n + 3 + (n + 1) % 2)
                    lat[k.name] += got
                    cpu[k.name].append(per_edit)
                    print(
                        f"round {r + 1} {k.name:18} p50 {lsp.ms(lsp.p50(got))} ms, server CPU "
                        f"{per_edit * 1e3:5.1f} ms/edit{f', {misses} missed' if misses else ''}",
                        flush=True,
                    )
        finally:
            for client, _ in sessions.values():
                await client.stop()
    last = kinds[-1].name
    print(f"\nedit -> diagnostics, 5,000-line model, {rounds} rounds x {n} edits:")
    for k in kinds:
        ratio = lsp.p50(lat[k.name]) / lsp.p50(lat[last])
        med_cpu = sorted(cpu[k.name])[len(cpu[k.name]) // 2]
        print(
            f"  {k.name:18} p50 {lsp.ms(lsp.p50(lat[k.name]))} ms  p95 "
            f"{lsp.ms(lsp.p95(lat[k.name]))} ms  {ratio:.3f}x {last}  "
            f"server CPU {med_cpu * 1e3:.1f} ms/edit (median of rounds)"
        )
    print(f"load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main_async()))
