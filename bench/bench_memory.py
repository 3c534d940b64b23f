"""Memory of the language server and its torch worker on a big model edited many times.

A ~4.5 MB model spec (bench/make_specs.py, ~210,000 lines) is opened in `arcgraph lsp` over
stdio and edited N times (default 50), each edit waiting for its own diagnostics, the shape
probe's included: the edit sets the first Linear's `in_features` to 17 or 18 in turn, which
only torch's shape check reports (AG314 "... in_features 17 ..."), so every version's probe
result is a state to wait for. Then the client sends nothing until the memory of both
processes stops changing (the server collects garbage and hands freed memory back after
~1 s of quiet).

Printed, for the server and the worker: RSS after the open (once idle), the peak (VmHWM, and
the highest RSS sampled during the edits), RSS after idle, and after-idle / post-open; for
the server also its RSS before the open (initialized, catalog loaded); RSS every 10 edits.

Run: `python bench/bench_memory.py` (repo root, venv active). Environment:
  BENCH_MEMORY_LINES=N     lines of the model (default 210000, ~4.5 MB)
  BENCH_MEMORY_EDITS=N     edits (default 50)
  BENCH_MEMORY_CACHE=DIR   reuse a torch-catalog cache dir (default: a temp dir, built here)
  BENCH_MEMORY_BASELINE=DIR  also run the server from another copy of server/ first (e.g.
                         `git worktree add /tmp/base HEAD~1`, then DIR=/tmp/base/server)
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from lsp_client import BenchClient, path_uri  # noqa: E402
from lsprotocol import types  # noqa: E402
from make_specs import big_model_spec  # noqa: E402

LINES = int(os.environ.get("BENCH_MEMORY_LINES", "210000"))
EDITS = int(os.environ.get("BENCH_MEMORY_EDITS", "50"))
# a shape probe of 4.5 MB takes the worker ~13 s of CPU: more than the default 20 s on a busy box
OPTIONS = {"torchTimeout": 300}
WAIT = 600.0  # seconds: the timeout of every wait for diagnostics (a probe of 4.5 MB is slow)


def proc_kb(pid: int, key: str) -> int:
    """VmRSS / VmHWM of a process, in kB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name == key:
                return int(value.split()[0])
    except OSError:
        pass
    return 0


def worker_of(pid: int) -> int | None:
    """The server's torch worker child (`python -m arcgraph.worker`)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and b"arcgraph.worker" in cmd:
            return int(entry.name)
    return None


async def settled_rss(pids: list[int], limit: float = 60.0) -> list[int]:
    """RSS of each pid once none changed by more than 1% over 1.5 s (at most `limit` s)."""
    end = time.perf_counter() + limit
    history: list[list[int]] = []
    while True:
        history.append([proc_kb(p, "VmRSS") for p in pids])
        if len(history) >= 4:
            window = history[-4:]
            if all(
                max(s[i] for s in window) - min(s[i] for s in window) <= 0.01 * window[-1][i]
                for i in range(len(pids))
            ):
                return history[-1]
        if time.perf_counter() > end:
            return history[-1]
        await asyncio.sleep(0.5)


@dataclass
class Figures:
    name: str
    open_s: float = 0.0
    edits_s: float = 0.0
    kb: dict[str, dict[str, int]] = field(default_factory=dict)  # process -> figure -> kB


def edit_for(lines: list[str], line_no: int, value: int) -> types.TextDocumentContentChangePartial:
    old = lines[line_no]
    col = old.index(":") + 2
    return types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(line_no, col), types.Position(line_no, len(old))),
        text=str(value),
    )


async def run_one(name: str, env: dict[str, str], ws: Path, text: str) -> Figures:
    figures = Figures(name)
    client = BenchClient(name, configuration={"arcgraph": OPTIONS})
    await client.start(
        [sys.executable, "-m", "arcgraph", "lsp"], env, str(ws), str(ws / f"{name}.stderr")
    )
    try:
        await client.initialize(str(ws), OPTIONS)
        pid = client.pid
        assert pid is not None
        path = ws / "models" / "big-v1.model.yaml"
        uri = path_uri(str(path))
        lines = text.splitlines()
        target = next(i for i, s in enumerate(lines) if "in_features:" in s)

        def probed(version: int, value: int) -> Any:
            want = f"in_features {value} "
            return lambda p: p.version == version and any(want in m for m in p.messages)

        before_open = await settled_rss([pid], limit=10.0)
        t = time.perf_counter()
        client.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id="yaml", version=0, text=text)
            )
        )
        await client.wait_publish(probed(0, 17), WAIT)
        figures.open_s = time.perf_counter() - t
        worker = worker_of(pid)
        assert worker is not None, "no torch worker"
        pids = {"server": pid, "worker": worker}
        post_open = await settled_rss(list(pids.values()))

        peak = dict.fromkeys(pids, 0)
        sampling = True

        async def sample() -> None:
            while sampling:
                for k, p in pids.items():
                    peak[k] = max(peak[k], proc_kb(p, "VmRSS"))
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample())
        t = time.perf_counter()
        for version in range(1, EDITS + 1):
            value = 18 if version % 2 else 17
            since = len(client.publishes)
            client.client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    [edit_for(lines, target, value)],
                )
            )
            lines[target] = lines[target][: lines[target].index(":") + 2] + str(value)
            await client.wait_publish(probed(version, value), WAIT, since)
            if version % 10 == 0:
                now = [proc_kb(p, "VmRSS") / 1024 for p in pids.values()]
                print(f"  edit {version}: server {now[0]:.1f} MB, worker {now[1]:.1f} MB")
        figures.edits_s = time.perf_counter() - t
        sampling = False
        await sampler
        after = await settled_rss(list(pids.values()))
        for (k, p), before, now in zip(pids.items(), post_open, after, strict=True):
            figures.kb[k] = {
                "pre_open": before_open[0] if k == "server" else 0,
                "post_open": before,
                "peak_sampled": peak[k],
                "VmHWM": proc_kb(p, "VmHWM"),
                "after_idle": now,
            }
    finally:
        await client.stop()
    return figures


def report(f: Figures) -> None:
    print(f"{f.name}: open+probe {f.open_s:.1f} s, {EDITS} edits {f.edits_s:.1f} s")
    total = {"post_open": 0, "after_idle": 0}
    for proc, kb in f.kb.items():
        ratio = kb["after_idle"] / kb["post_open"] if kb["post_open"] else float("nan")
        total["post_open"] += kb["post_open"]
        total["after_idle"] += kb["after_idle"]
        pre = f"pre-open {kb['pre_open'] / 1024:6.1f} MB  " if kb["pre_open"] else " " * 23
        print(
            f"  {proc:6s} {pre}post-open {kb['post_open'] / 1024:7.1f} MB"
            f"  peak {max(kb['peak_sampled'], kb['VmHWM']) / 1024:7.1f} MB"
            f"  after idle {kb['after_idle'] / 1024:7.1f} MB  ({ratio:.2f}x)"
        )
    print(
        f"  both   {' ' * 23}post-open {total['post_open'] / 1024:7.1f} MB"
        f"  after idle {total['after_idle'] / 1024:7.1f} MB"
        f"  ({total['after_idle'] / max(total['post_open'], 1):.2f}x)"
    )


async def main_async() -> int:
    text = big_model_spec(LINES).replace("in_features: 16", "in_features: 17", 1)
    print(f"model: {len(text.splitlines())} lines, {len(text) / 1e6:.1f} MB; {EDITS} edits")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp_s:
        tmp = Path(tmp_s)
        ws = tmp / "ws"
        (ws / "models").mkdir(parents=True)
        (ws / "models" / "big-v1.model.yaml").write_text(text)
        cache = Path(os.environ.get("BENCH_MEMORY_CACHE") or tmp / "cache")
        cache.mkdir(parents=True, exist_ok=True)
        base_env = dict(os.environ, ARCGRAPH_CACHE_DIR=str(cache))
        runs: list[tuple[str, dict[str, str]]] = []
        baseline = os.environ.get("BENCH_MEMORY_BASELINE")
        if baseline:
            pp = os.pathsep.join(p for p in (baseline, base_env.get("PYTHONPATH", "")) if p)
            runs.append(("baseline", dict(base_env, PYTHONPATH=pp)))
        runs.append(("arcgraph", base_env))
        for _name, env in runs:  # the catalog, built once per source tree
            build = "from arcgraph.worker.client import TorchWorker as W; W().catalog()"
            subprocess.run([sys.executable, "-c", build], env=env, check=True, timeout=600)
        for name, env in runs:
            report(await run_one(name, env, ws, text))
    return 0


def main() -> int:
    return asyncio.run(main_async())


if __name__ == "__main__":
    raise SystemExit(main())
