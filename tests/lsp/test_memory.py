"""A big model edited many times leaves no memory behind in the server or its torch worker.

The server (`arcgraph lsp` over stdio, probes on) opens a generated model of 25,000 lines
(~0.5 MB) and gets EDITS edits, each waited for until its own shape-check result arrives (the
edit sets the first Linear's `in_features` to 17 or 18 in turn; only torch reports that,
AG314 naming the number). Then the test waits for the processes' memory to settle (the
server collects garbage and hands freed memory back after 1 s of quiet).

Bounds, RSS read from /proc (Linux):
- the server, once idle after the open, holds at most `SERVER_PER_BYTE` bytes per byte of the
  text beyond its RSS before the open (a small model checked and closed: the checks'
  imports, the schema and the worker's start are paid then): it keeps the text, its lines
  and a few indexes; a parse's tree (~60 bytes per byte of text) is freed once checked and
  its memory handed back at idle (before: a module-wide memo of the parser pinned most of
  it, and nothing was handed back after a probe: ~57 bytes per byte kept);
- after the edits, both processes come back to within 20% of their RSS after the open.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from lsprotocol import types

from arcgraph.lsp.idle_gc import IDLE_S

from .conftest import RecordingClient, start_client, stop_client, uri_of

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from bench_memory import worker_of as worker_pid
from make_specs import big_model_spec

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads RSS from /proc")

LINES = 25_000
EDITS = 6
SERVER_PER_BYTE = 30  # measured: ~15 now, ~57 before (parser memo, no trim at idle)
GROWTH = 1.2  # after the edits, at most 20% above the RSS after the open
WAIT = 120.0  # seconds for one check and probe of this model on a busy machine


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


async def settled(pids: list[int]) -> list[int]:
    """RSS (kB) of each process once it changed by at most 1% over 3 idle periods of the
    server, which includes an idle collection (bounded: the figures after 60 s otherwise)."""
    samples: list[list[int]] = []
    window = 7  # samples half an idle period apart
    for _ in range(int(60 / (IDLE_S / 2))):
        samples.append([rss_kb(p) for p in pids])
        last = samples[-window:]
        if len(last) == window and all(
            max(s[i] for s in last) - min(s[i] for s in last) <= last[-1][i] // 100
            for i in range(len(pids))
        ):
            break
        await asyncio.sleep(IDLE_S / 2)
    return samples[-1]


def shape_error(value: int) -> Callable[[list], bool]:
    want = f"Linear in_features {value} but input has 16 features"
    return lambda diags: any(d.code == "AG314" and want in d.message for d in diags)


@pytest.mark.asyncio(loop_scope="function")
async def test_a_big_model_edited_many_times_leaves_no_memory_behind(
    cache_dir: Path, tmp_path: Path, has_catalog: bool
) -> None:
    if not has_catalog:
        pytest.skip("torch is not installed")
    text = big_model_spec(LINES).replace("in_features: 16", "in_features: 17", 1)
    lines = text.splitlines()
    target = next(i for i, s in enumerate(lines) if "in_features: 17" in s)
    col = lines[target].index("17")
    (tmp_path / "models").mkdir()
    path = tmp_path / "models" / "big-v1.model.yaml"
    path.write_text(text)
    uri = uri_of(path)

    c: RecordingClient = await start_client(
        cache_dir, tmp_path, options={"probes": True, "torchTimeout": WAIT}
    )
    try:
        server = c._server.pid  # type: ignore[attr-defined]
        # the first check of any model imports the checks and reads the schema: once
        small = uri_of(tmp_path / "models" / "small-v1.model.yaml")
        c.open(small, big_model_spec(60).replace("in_features: 16", "in_features: 17", 1))
        await c.wait_for_diagnostics(small, 1, shape_error(17), WAIT)
        c.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(small))
        )
        (before_open,) = await settled([server])
        c.open(uri, text, version=0)
        await c.wait_for_diagnostics(uri, 0, shape_error(17), WAIT)
        worker = worker_pid(server)
        assert worker is not None, "the shape check ran without a worker"
        post_open = await settled([server, worker])
        kept = (post_open[0] - before_open) * 1024
        assert kept <= SERVER_PER_BYTE * len(text), (
            f"the server keeps {kept / 2**20:.1f} MB for a {len(text) / 2**20:.1f} MB model "
            f"(RSS {before_open / 1024:.1f} MB before the open, {post_open[0] / 1024:.1f} after)"
        )

        for version in range(1, EDITS + 1):
            value = 18 if version % 2 else 17
            c.edit(uri, version, target, col, col + 2, str(value))
            await c.wait_for_diagnostics(uri, version, shape_error(value), WAIT)
        after = await settled([server, worker])
        for name, was, now in zip(("server", "worker"), post_open, after, strict=True):
            assert now <= GROWTH * was, (
                f"{name}: RSS {was / 1024:.1f} MB after the open, {now / 1024:.1f} MB "
                f"after {EDITS} edits and idle"
            )
    finally:
        await stop_client(c)


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(e.decode(errors="replace").partition("=")[::2] for e in raw if b"=" in e)


@pytest.mark.asyncio(loop_scope="function")
async def test_the_server_runs_on_the_c_allocator_and_its_worker_does_not(
    cache_dir: Path, tmp_path: Path, has_catalog: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`arcgraph lsp` re-executes itself with PYTHONMALLOC=malloc (its freed memory can then
    be handed back at idle: see arcgraph.memory); the torch worker it starts gets the
    environment it was started with."""
    if not has_catalog:
        pytest.skip("torch is not installed")
    monkeypatch.delenv("PYTHONMALLOC", raising=False)
    monkeypatch.delenv("ARCGRAPH_KEEP_PYMALLOC", raising=False)
    (tmp_path / "models").mkdir()
    c: RecordingClient = await start_client(cache_dir, tmp_path, options={"probes": True})
    try:
        server = c._server.pid  # type: ignore[attr-defined]
        small = uri_of(tmp_path / "models" / "small-v1.model.yaml")
        c.open(small, big_model_spec(60).replace("in_features: 16", "in_features: 17", 1))
        await c.wait_for_diagnostics(small, 1, shape_error(17), WAIT)
        worker = worker_pid(server)
        assert worker is not None, "the shape check ran without a worker"
        assert environ_of(server).get("PYTHONMALLOC") == "malloc"
        assert "PYTHONMALLOC" not in environ_of(worker)
    finally:
        await stop_client(c)
