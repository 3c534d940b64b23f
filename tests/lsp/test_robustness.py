"""Robustness over LSP: a file deleted while open, a torch worker that dies or hangs
mid-probe, and random incremental edits (hypothesis)."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types

from arcgraph.worker.client import TorchWorker

from .conftest import RecordingClient, rng, start_client, stop_client, uri_of

TRAINER = """\
model_ref: iris-classifier-v1
optimizer:
  type: torch.optim.SGD
  lr: 0.5
  params:
    momentum: 0.9
config:
  epochs: 10
  batch_size: 16
  validation_split: 0.2
  shuffle: true
"""
# torch's own words for this one (after the worker restarted)
NESTEROV = TRAINER.replace("lr: 0.5", "lr: 0.01").replace("momentum: 0.9", "nesterov: true")
AG213 = (
    "AG213",
    "torch.optim.SGD rejects these values: "
    "Nesterov momentum requires a momentum and zero dampening",
)


def close(client: RecordingClient, uri: str) -> None:
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
    )


# -- a file deleted while open --------------------------------------------------------------
@pytest.mark.asyncio(loop_scope="module")
async def test_open_document_survives_its_file_deleted(client: RecordingClient, workspace: Path):
    model = workspace / "models" / "gone-v1.model.yaml"
    text = (workspace / "models" / "iris-classifier-v1.model.yaml").read_text()
    model.write_text(text)
    model_uri, trainer_uri = uri_of(model), uri_of(workspace / "trainers" / "gone.trainer.yaml")
    trainer = "model_ref: gone-v1\n" + NESTEROV.split("\n", 1)[1]
    client.open(model_uri, text)
    client.open(trainer_uri, trainer)
    assert await client.wait_for_diagnostics(model_uri, 1) == []
    assert await client.wait_for_diagnostics(trainer_uri, 1) == []
    # deleted on disk (the watcher says so): the editor's text still counts
    model.unlink()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            [types.FileEvent(uri=model_uri, type=types.FileChangeType.Deleted)]
        )
    )
    client.edit(model_uri, 2, 0, 1, 1, " edited:")
    assert await client.wait_for_diagnostics(model_uri, 2) == []
    ident = types.TextDocumentIdentifier(model_uri)
    hover = await client.text_document_hover_async(
        types.HoverParams(ident, types.Position(11, 14))  # type: torch.nn.BatchNorm1d
    )
    assert hover is not None
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(ident))
    assert [s.name for s in symbols or []][:2] == ["inputs", "graph"]
    client.edit(trainer_uri, 2, 0, 0, 0, "# still there\n")
    assert await client.wait_for_diagnostics(trainer_uri, 2) == []
    # closed: the disk is the truth again, and there is no such model any more
    close(client, model_uri)
    diags = await client.wait_for_diagnostics(trainer_uri, 2, lambda d: len(d) == 1)
    assert [(d.code, d.range) for d in diags] == [("AG201", rng(1, 11, 1, 18))]
    close(client, trainer_uri)


# -- a torch worker that dies or hangs mid-probe --------------------------------------------
SLOW_WORKER = """\
import os, time
import arcgraph.worker.main as m
probe = m.TORCH_OPS["probe_optimizer"]
def slow(req):
    if req.get("lr") == 0.5:  # this probe hangs (until killed or timed out)
        open({mark!r}, "w").close()
        time.sleep(600)
    return probe(req)
m.TORCH_OPS["probe_optimizer"] = slow
raise SystemExit(m.main())
"""


@pytest.fixture
def slow_python(tmp_path: Path, cache_dir: Path, has_catalog: bool) -> Iterator[tuple[Path, Path]]:
    """An "interpreter" whose torch worker hangs on probes with lr 0.5 (and leaves a mark);
    the session's catalog is copied to its cache key so nothing is built."""
    if not has_catalog:
        pytest.skip("torch is not installed")
    mark = tmp_path / "probing"
    script = tmp_path / "slow_worker.py"
    script.write_text(SLOW_WORKER.format(mark=str(mark)))
    wrapper = tmp_path / "slowpython"
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-m" ] && [ "$2" = "arcgraph.worker" ]; then\n'
        f'  exec "{sys.executable}" "{script}"\n'
        "fi\n"
        f'exec "{sys.executable}" "$@"\n'
    )
    wrapper.chmod(0o755)
    own = TorchWorker(cache_dir=cache_dir).catalog_path()
    theirs = TorchWorker(interpreter=str(wrapper), cache_dir=cache_dir).catalog_path(spawn=True)
    assert own is not None and own.exists() and theirs is not None
    shutil.copyfile(own, theirs)
    yield wrapper, mark


def worker_pids(server_pid: int) -> list[int]:
    """The server's children running the torch worker (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == server_pid and "slow_worker.py" in cmd:
            out.append(int(entry))
    return out


def ag401(diags: list[types.Diagnostic]) -> list[types.Diagnostic]:
    return [d for d in diags if d.code == "AG401"]


async def _probe_hangs_then_recovers(
    cache_dir: Path, workspace: Path, wrapper: Path, mark: Path, timeout: float, kill: bool
) -> str:
    options = {"probes": True, "interpreter": str(wrapper), "torchTimeout": timeout}
    c = await start_client(cache_dir, workspace, options=options)
    try:
        uri = uri_of(workspace / "trainers" / f"hang-{kill}.trainer.yaml")
        c.open(uri, TRAINER)
        assert await c.wait_for_diagnostics(uri, 1) == []  # stage 1
        # a recheck (the registry scan ending) may supersede the first probe: its result is
        # then dropped as stale and the next probe hangs as well; kill each one until the
        # current one reports
        for _ in range(3):
            await c.wait_for(mark.exists, 60, "the probe to start")
            mark.unlink()
            if kill:
                server = c._server
                assert server is not None
                for pid in worker_pids(server.pid):
                    os.kill(pid, signal.SIGKILL)
            try:
                diags = await c.wait_for_diagnostics(
                    uri, 1, lambda d: bool(ag401(d)), timeout=10 if kill else timeout + 10
                )
                break
            except AssertionError:
                continue
        else:
            raise AssertionError("no AG401 after three hung probes")
        assert [(d.code, d.range, d.severity) for d in diags] == [
            ("AG401", rng(0, 0, 0, 29), types.DiagnosticSeverity.Warning)
        ]
        message = diags[0].message
        # the next edit: a new worker answers (torch's own words), once
        c.replace(uri, NESTEROV, 2)
        diags = await c.wait_for_diagnostics(uri, 2, lambda d: len(d) > 0, timeout=60)
        assert [(d.code, d.message) for d in diags] == [AG213]
        await c.wait_idle()  # no probe left that could say AG401 again
        said = [p for p in c.published_for(uri) if ag401(list(p.diagnostics))]
        assert len(said) == 1 and said[0].version == 1
        return message
    finally:
        await stop_client(c)


@pytest.mark.asyncio(loop_scope="function")
async def test_worker_killed_mid_probe(
    cache_dir: Path, workspace: Path, slow_python: tuple[Path, Path]
):
    wrapper, mark = slow_python
    message = await _probe_hangs_then_recovers(cache_dir, workspace, wrapper, mark, 20, True)
    assert message.startswith(
        "torch check skipped: torch worker exited (code -9) during probe_optimizer; "
        "it will restart on the next request"
    )


@pytest.mark.asyncio(loop_scope="function")
async def test_hung_worker_bounded_by_torch_timeout(
    cache_dir: Path, workspace: Path, slow_python: tuple[Path, Path]
):
    wrapper, mark = slow_python
    message = await _probe_hangs_then_recovers(cache_dir, workspace, wrapper, mark, 2, False)
    assert message == (
        "torch check skipped: torch worker timed out after 2 s on probe_optimizer; "
        "it was stopped and will restart on the next request"
    )
