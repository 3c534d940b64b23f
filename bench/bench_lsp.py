"""Our language server vs yaml-language-server, side by side, driven by one real LSP client.

Both servers run in the same process tree and are measured phase by phase (ours, then
yaml-language-server, for each phase), with pygls's LanguageClient over stdio:

- edit -> diagnostics latency (p50, p95) over 30 edits that flip a value between valid and
  invalid, on a ~30-line trainer spec and on a 5,000-line model spec (bench/make_specs.py).
  From sending didChange to the arrival of the publishDiagnostics for that version (servers
  that publish without a version: the first publish after the edit with the expected content).
- burst: 10 edits 30 ms apart; from the last edit to the diagnostics of its version.
- completion and hover p95 at a key and a value position, on both files (each series starts
  once every server is idle: yaml-language-server goes on working after its last replies,
  which showed as ~30 ms on the completion p95 of the server measured right after it).
- spawn -> first correct diagnostics of a broken trainer opened right after initialize (warm
  torch catalog for ours), median of 3 fresh processes.
- peak RSS (VmHWM) of each server process after all that, and of our torch worker child.

Where the time goes now (5,000-line model, one edit -> diagnostics ~40 ms on a 2-CPU box;
CPU per check): parse ~20 ms (libyaml compose ~9 ms, building located nodes ~8 ms, the
young-generation collections of those ~100k objects: avoided, the server freezes a parse's
objects, see lsp/idle_gc.py), schema validation
~10 ms, model checks ~9 ms, pygls applying the change and publishing ~2 ms. A burst: edits
arrive promptly while a check runs (1 ms GIL switch interval), the running check gives up
at its next phase boundary (parse | schema | model checks), then one check of the newest text
runs; the shape probe (~250 ms CPU in the worker, at lower priority) starts only once the
document has been idle for 0.3 s, so neither single edits nor bursts wait behind it. Full
garbage collections (25-50 ms with the catalog and a big outline alive) run when the server
has been idle for 1 s, not inside a completion or a check.

yaml-language-server gets our JSON Schemas (schemas/*.schema.json) through `yaml.schemas`
(pulled with workspace/configuration and pushed with workspace/didChangeConfiguration).

Setup once: `cd bench && npm ci` (installs yaml-language-server into bench/node_modules).
Run: `python bench/bench_lsp.py` (from the repo root, venv active). Environment:
  BENCH_LSP_CACHE=DIR    reuse a torch-catalog cache dir (default: a fresh temp dir, built here)
  BENCH_LSP_PROFILE=OUT  run our server under cProfile (main thread), stats written to OUT
                         (timings are then inflated; for finding hot spots only)
  BENCH_LSP_EDITS=N      edits per latency series (default 30)
  BENCH_LSP_OURS_OPTIONS=JSON  settings for our server (initializationOptions and its
                         workspace/configuration section `arcgraph`), e.g. '{"probes": false}'
  BENCH_LSP_NO_PROBES=1  add a third column: our server with {"probes": false} (no torch-worker
                         probes after each check), to see in the same run what the probes cost
  BENCH_LSP_ONLY=inlay    only the inlay-hint series (whole document and VS Code's visible
                         range) on our server and the baseline, BENCH_LSP_ROUNDS (3) rounds
  BENCH_LSP_INLAY_EDITS=N  edits of the inlay-hint series "right after an edit" (default 10)
  BENCH_LSP_BASELINE=DIR add a column `arcgraph-base`: our server from another copy of server/
                         (e.g. `git archive <rev> server schemas | tar -x -C /tmp/base`, then
                         DIR=/tmp/base/server), to compare two versions in the same run
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

TRAINER = "adamw-accumulation.trainer.yaml"  # the longest example trainer
YAML_LS_BIN = HERE / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
N_EDITS = int(os.environ.get("BENCH_LSP_EDITS", "30"))
N_REQUESTS = 30
N_BURSTS = 5
N_SPAWNS = 3
WAIT = 15.0  # seconds: the timeout of every wait for a reply or diagnostics
N_INLAY_EDITS = int(os.environ.get("BENCH_LSP_INLAY_EDITS", "10"))  # each waits for a probe
VIEWPORT_LINES = 50  # an editor window's height, for the inlay-hint range VS Code asks for


def _serve_profiled(out: str) -> None:
    """`bench_lsp.py --serve-profiled OUT`: our server under cProfile (the bench's env hook).

    Every thread gets its own profile (the server checks on lanes); all are merged into OUT."""
    import contextlib
    import cProfile
    import pstats
    import threading

    from arcgraph.cli import main

    profiles: list[cProfile.Profile] = []
    original_run = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        prof = cProfile.Profile()
        profiles.append(prof)
        prof.enable()
        try:
            original_run(self)
        finally:
            prof.disable()

    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    main_prof = cProfile.Profile()
    main_prof.enable()
    try:
        main(["lsp"])
    finally:
        main_prof.disable()
        stats = pstats.Stats(main_prof)
        for prof in list(profiles):
            with contextlib.suppress(Exception):  # a thread still running: skipped
                stats.add(prof)
        stats.dump_stats(out)


if len(sys.argv) == 3 and sys.argv[1] == "--serve-profiled":
    _serve_profiled(sys.argv[2])
    sys.exit(0)

from lsp_client import BenchClient, Publish, path_uri  # noqa: E402
from lsprotocol import types  # noqa: E402
from make_specs import big_model_spec  # noqa: E402
from pygls.exceptions import JsonRpcMethodNotFound  # noqa: E402


# -- statistics ----------------------------------------------------------------------------
def p50(xs: list[float]) -> float:
    return statistics.median(xs) if xs else math.nan


def p95(xs: list[float]) -> float:
    if not xs:
        return math.nan
    s = sorted(xs)
    return s[max(0, math.ceil(0.95 * len(s)) - 1)]


def ms(x: float) -> str:
    return "   n/a" if x is None or math.isnan(x) else f"{x * 1000:6.1f}"


# -- processes -----------------------------------------------------------------------------
def proc_status(pid: int) -> dict[str, int]:
    """VmHWM / VmRSS in kB."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return -1


def tree_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds used so far by the process (all threads) and by its live children."""
    hz = os.sysconf("SC_CLK_TCK")
    own = max(cpu_ticks(pid), 0) / hz
    kids = sum(max(cpu_ticks(c), 0) for c in children(pid)) / hz
    return own, kids


def worker_pids(pid: int) -> list[int]:
    return [c for c in children(pid) if "arcgraph.worker" in cmdline(c)]


async def settle_process_tree(pid: int, limit: float = 60.0) -> None:
    """Until the server and its children used no CPU for 0.3 s (e.g. the worker's torch import)."""
    end = time.perf_counter() + limit
    last = None
    while time.perf_counter() < end:
        ticks = [cpu_ticks(p) for p in [pid, *children(pid)]]
        if ticks == last:
            return
        last = ticks
        await asyncio.sleep(0.3)


# -- servers -------------------------------------------------------------------------------
@dataclass
class ServerKind:
    name: str
    cmd: list[str]
    env: dict[str, str]
    configuration: dict[str, Any] = field(default_factory=dict)
    push_configuration: bool = False
    init_options: Any = None
    debounce_s: float = 0.0  # a fixed delay the server waits before validating
    versioned: bool = True  # False: match publishes by content (no version in them)


def our_server(cache: Path, name: str = "arcgraph", options: Any = None) -> ServerKind:
    env = dict(os.environ, ARCGRAPH_CACHE_DIR=str(cache))
    profile = os.environ.get("BENCH_LSP_PROFILE")
    if profile:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-profiled", profile]
    else:
        cmd = [sys.executable, "-m", "arcgraph", "lsp"]
    import json

    if options is None:
        options = json.loads(os.environ.get("BENCH_LSP_OURS_OPTIONS") or "null")
    config = {"arcgraph": options} if isinstance(options, dict) else {}
    return ServerKind(name, cmd, env, configuration=config, init_options=options)


def baseline_server(cache: Path, src: str) -> ServerKind:
    """Our server as it is in another source tree (`BENCH_LSP_BASELINE`), its catalog built."""
    import subprocess

    kind = our_server(cache, "arcgraph-base")
    path = os.pathsep.join(p for p in (src, kind.env.get("PYTHONPATH", "")) if p)
    kind.env = dict(kind.env, PYTHONPATH=path)
    build = "from arcgraph.worker.client import TorchWorker as W; W().catalog()"
    subprocess.run([sys.executable, "-c", build], env=kind.env, check=True, timeout=300)
    return kind


def yaml_server() -> ServerKind:
    schemas = {
        path_uri(str(REPO / "schemas" / "trainer.schema.json")): "*.trainer.yaml",
        path_uri(str(REPO / "schemas" / "model.schema.json")): "*.model.yaml",
    }
    config = {
        "yaml": {
            "schemas": schemas,
            "validate": True,
            "hover": True,
            "completion": True,
            "format": {"enable": False},
            "schemaStore": {"enable": False},  # no network
            "maxItemsComputed": 10000,
        },
        "http": {"proxy": "", "proxyStrictSSL": False},
        "[yaml]": {},
        "editor": {"tabSize": 2},
        "files": {"exclude": {}},
    }
    node = shutil.which("node") or "node"
    return ServerKind(
        "yaml-ls",
        [node, str(YAML_LS_BIN), "--stdio"],
        dict(os.environ),
        configuration=config,
        push_configuration=True,
        versioned=False,
        debounce_s=_yaml_ls_delay(),
    )


def _yaml_ls_delay() -> float:
    """yaml-language-server validates `validationDelayMs` (200) after the last change."""
    import re

    src = YAML_LS_BIN.parent.parent / "out" / "server" / "src" / "yamlSettings.js"
    try:
        m = re.search(r"validationDelayMs\s*=\s*(\d+)", src.read_text())
    except OSError:
        m = None
    return int(m.group(1)) / 1000 if m else 0.2


async def start(kind: ServerKind, ws: Path, logdir: Path, tag: str) -> tuple[BenchClient, float]:
    """(client, spawn time) with initialize/initialized done and the configuration pushed."""
    client = BenchClient(kind.name, configuration=kind.configuration)
    t0 = time.perf_counter()
    await client.start(kind.cmd, kind.env, str(ws), str(logdir / f"{kind.name}-{tag}.stderr"))
    await client.initialize(str(ws), kind.init_options, timeout=WAIT)
    if kind.push_configuration:
        client.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=kind.configuration)
        )
    return client, t0


# -- documents and edits -------------------------------------------------------------------
@dataclass
class Doc:
    uri: str
    text: str
    version: int = 1

    def line_of(self, needle: str, start: int = 0) -> int:
        for i, line in enumerate(self.text.splitlines()):
            if i >= start and needle in line:
                return i
        raise ValueError(needle)

    def line(self, n: int) -> str:
        return self.text.splitlines()[n]


def open_doc(client: BenchClient, doc: Doc) -> None:
    client.client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(
                uri=doc.uri, language_id="yaml", version=doc.version, text=doc.text
            )
        )
    )


def set_value(client: BenchClient, doc: Doc, line: int, key: str, value: str) -> int:
    """Replace the value of `key:` on `line` (incremental when the server takes it); the version."""
    lines = doc.text.split("\n")
    old = lines[line]
    col = old.index(key + ":") + len(key) + 2
    rest = old[col:]
    end = col + (len(rest.split()[0]) if rest.split() else 0)
    lines[line] = old[:col] + value + old[end:]
    doc.text = "\n".join(lines)
    doc.version += 1
    if client.incremental:
        change: Any = types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(line, col), types.Position(line, end)),
            text=value,
        )
    else:
        change = types.TextDocumentContentChangeWholeDocument(text=doc.text)
    client.client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
            content_changes=[change],
        )
    )
    return doc.version


def expect(kind: ServerKind, doc: Doc, version: int, line: int, invalid: bool, t_sent: float):
    """The publish for this edit: by version, or else the first after it with the right content."""

    def pred(p: Publish) -> bool:
        if p.uri != doc.uri or p.t < t_sent:
            return False
        if p.version is not None and kind.versioned:
            return p.version == version
        if p.version is not None and p.version != version:
            return False
        return (line in p.lines) == invalid

    return pred


@dataclass
class EditSpec:
    label: str
    doc_name: str
    key: str
    valid: list[str]  # cycled
    invalid: str
    needle: str  # finds the line
    needle_from: int = 0


async def edit_series(kind: ServerKind, client: BenchClient, doc: Doc, spec: EditSpec, n: int):
    line = doc.line_of(spec.needle, spec.needle_from)
    lat: list[float] = []
    misses = 0
    for i in range(n + 3):  # 3 warm-up edits
        invalid = i % 2 == 0
        value = spec.invalid if invalid else spec.valid[(i // 2) % len(spec.valid)]
        since = len(client.publishes)
        t = time.perf_counter()
        version = set_value(client, doc, line, spec.key, value)
        try:
            p = await client.wait_publish(expect(kind, doc, version, line, invalid, t), WAIT, since)
        except asyncio.TimeoutError:
            misses += 1
            continue
        if kind.versioned and (line in p.lines) != invalid:
            misses += 1  # published for the version, but the wrong content
        if i >= 3:
            lat.append(p.t - t)
        await client.quiet(0.05, 2.0)
    if n % 2 == 0:  # the last of the n + 3 edits (even n) was invalid: end valid, for the burst
        set_value(client, doc, line, spec.key, spec.valid[0])
        await client.quiet(0.1, 3.0)
    return lat, misses


async def burst(kind: ServerKind, client: BenchClient, doc: Doc, spec: EditSpec, rounds: int):
    """10 edits 30 ms apart (nine valid, the last invalid): last edit -> its diagnostics."""
    line = doc.line_of(spec.needle, spec.needle_from)
    finals: list[float] = []
    published: list[int] = []
    misses = 0
    for _ in range(rounds):
        since = len(client.publishes)
        for j in range(10):
            last = j == 9
            value = spec.invalid if last else spec.valid[j % len(spec.valid)]
            t = time.perf_counter()
            version = set_value(client, doc, line, spec.key, value)
            if not last:
                await asyncio.sleep(0.03)
        try:
            p = await client.wait_publish(expect(kind, doc, version, line, True, t), WAIT, since)
            finals.append(p.t - t)
        except asyncio.TimeoutError:
            misses += 1
        await client.quiet(0.15, 5.0)
        published.append(sum(1 for q in client.publishes[since:] if q.uri == doc.uri))
        set_value(client, doc, line, spec.key, spec.valid[0])  # back to valid
        await client.quiet(0.15, 5.0)
    return finals, published, misses


@dataclass
class Position:
    label: str
    doc_name: str
    needle: str
    needle_from: int
    at: Callable[[str], int]  # line text -> character
    completion_at: Callable[[str], int]


async def requests(client: BenchClient, doc: Doc, pos: Position, n: int) -> dict[str, Any]:
    line = doc.line_of(pos.needle, pos.needle_from)
    text = doc.line(line)
    ident = types.TextDocumentIdentifier(uri=doc.uri)
    hover_p = types.HoverParams(ident, types.Position(line, pos.at(text)))
    comp_p = types.CompletionParams(ident, types.Position(line, pos.completion_at(text)))
    out: dict[str, Any] = {"hover": [], "completion": [], "items": 0, "hover_ok": False}
    for i in range(n + 2):
        dt, res = await client.timed(lambda: client.client.text_document_hover_async(hover_p), WAIT)
        if i >= 2:
            out["hover"].append(dt)
        out["hover_ok"] = res is not None
        dt, res = await client.timed(
            lambda: client.client.text_document_completion_async(comp_p), WAIT
        )
        if i >= 2:
            out["completion"].append(dt)
        items = res.items if isinstance(res, types.CompletionList) else (res or [])
        out["items"] = len(items)
    return out


def vscode_inlay_range(text: str, viewport: int = VIEWPORT_LINES) -> types.Range:
    """The range VS Code asks inlay hints for with a viewport of `viewport` lines scrolled to the
    middle of the document: the visible lines plus one viewport above and below, plus 30 more
    lines each side (InlayHintsController._getHintsRanges and
    getVisibleRangesPlusViewportAboveBelow), clipped to the document."""
    n_lines = text.count("\n") + 1
    top = n_lines // 2
    first = max(0, top - viewport - 30)
    last = min(n_lines - 1, top + 2 * viewport + 30)
    return types.Range(types.Position(first, 0), types.Position(last, 0))


async def inlay_hints(client: BenchClient, doc: Doc, text: str, n: int) -> dict[str, Any]:
    """Inlay hints once the document's shape probe has answered (the document set back to
    `text`, a valid model, first; the hints come from the probe's cached answer): `n` requests
    over the whole document (what Neovim asks on every change), then `n` over the range VS Code
    asks for (`vscode_inlay_range`), alternating."""
    doc.text, doc.version = text, doc.version + 1
    client.client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    ident = types.TextDocumentIdentifier(uri=doc.uri)
    whole = types.Range(types.Position(0, 0), types.Position(text.count("\n") + 1, 0))
    series = {
        "inlay": types.InlayHintParams(ident, whole),
        "inlay visible": types.InlayHintParams(ident, vscode_inlay_range(text)),
    }
    out: dict[str, Any] = {name: [] for name in series}
    out.update({f"{name} hints": 0 for name in series})
    deadline = time.perf_counter() + 120.0
    while not out["inlay hints"]:  # until the probe of this text answered
        if time.perf_counter() > deadline:
            return out
        _, res = await client.timed(
            lambda: client.client.text_document_inlay_hint_async(series["inlay"]), WAIT
        )
        out["inlay hints"] = len(res or [])
        await asyncio.sleep(0.1)
    await settle_process_tree(client.pid or 0, 10.0)
    for i in range(n + 2):
        for name, params in series.items():
            dt, res = await client.timed(
                lambda p=params: client.client.text_document_inlay_hint_async(p), WAIT
            )
            if i >= 2:
                out[name].append(dt)
            out[f"{name} hints"] = len(res or [])
    out["inlay edit"], out["inlay edit hints"] = await inlay_after_edits(
        client, doc, series["inlay visible"], N_INLAY_EDITS
    )
    return out


async def inlay_after_edits(
    client: BenchClient, doc: Doc, params: types.InlayHintParams, n: int
) -> tuple[list[float], int]:
    """VS Code's range right after an edit (a comment changed on a mid-file line: the same
    shapes, a new text), as an editor asks while the check of that text runs; each edit
    starts with the server idle (its diagnostics published, the probe done)."""
    line = doc.line_of("in_features:", doc.text.count("\n") // 2)
    base = doc.line(line).split("#")[0].rstrip()
    times: list[float] = []
    hints = 0
    for i in range(n + 2):
        lines = doc.text.split("\n")
        old = lines[line]
        lines[line] = f"{base}  # edit {i}"
        doc.text, doc.version = "\n".join(lines), doc.version + 1
        change = types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(line, len(base)), types.Position(line, len(old))),
            text=f"  # edit {i}",
        )
        since = len(client.publishes)
        client.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=doc.uri, version=doc.version
                ),
                content_changes=[change],
            )
        )
        dt, res = await client.timed(
            lambda: client.client.text_document_inlay_hint_async(params), WAIT
        )
        if i >= 2:
            times.append(dt)
        hints = len(res or [])
        with contextlib.suppress(asyncio.TimeoutError):
            version = doc.version
            await client.wait_publish(lambda q, v=version: q.version == v, WAIT, since)
        await settle_process_tree(client.pid or 0, 5.0)
    return times, hints


# -- the run -------------------------------------------------------------------------------
async def spawn_to_diagnostics(kind: ServerKind, ws: Path, logdir: Path, text: str, tag: str):
    """Fresh process; didOpen of a broken trainer right after initialize; first correct publish."""
    doc = Doc(path_uri(str(ws / "trainers" / "broken.trainer.yaml")), text)
    line = doc.line_of("epochs:")
    client, t0 = await start(kind, ws, logdir, tag)
    try:
        open_doc(client, doc)
        p = await client.wait_publish(lambda q: q.uri == doc.uri and line in q.lines, WAIT)
        return p.t - t0
    except asyncio.TimeoutError:
        return math.nan
    finally:
        await client.stop()


def rss_report(client: BenchClient) -> dict[str, Any]:
    pid = client.pid
    assert pid is not None
    out: dict[str, Any] = {"server": proc_status(pid), "worker": None, "other": []}
    for c in children(pid):
        if "arcgraph.worker" in cmdline(c):
            out["worker"] = proc_status(c)
        else:
            out["other"].append((c, cmdline(c)[:60], proc_status(c)))
    return out


async def main_async() -> int:
    if not YAML_LS_BIN.exists():
        print(f"yaml-language-server is missing: run `npm ci` in {HERE}", file=sys.stderr)
        return 2
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-lsp-") as tmp_s:
        tmp = Path(tmp_s)
        ws = tmp / "ws"
        shutil.copytree(REPO / "examples", ws)
        logdir = tmp / "logs"
        logdir.mkdir()
        big_text = big_model_spec(5000)
        (ws / "models" / "big-v1.model.yaml").write_text(big_text)
        trainer_text = (ws / "trainers" / TRAINER).read_text()
        broken = trainer_text.replace("epochs: 50", "epochs: 10.5")
        assert broken != trainer_text
        (ws / "trainers" / "broken.trainer.yaml").write_text(broken)

        cache = (
            Path(os.environ["BENCH_LSP_CACHE"])
            if os.environ.get("BENCH_LSP_CACHE")
            else tmp / "cache"
        )
        cache.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        from arcgraph.worker.client import TorchWorker

        with TorchWorker(cache_dir=cache) as worker:
            catalog = worker.catalog()
        if catalog is None:
            print("the torch catalog could not be built (torch missing?)", file=sys.stderr)
            return 2
        t_catalog = time.perf_counter() - t

        kinds = [our_server(cache), yaml_server()]
        if os.environ.get("BENCH_LSP_NO_PROBES"):
            kinds.insert(1, our_server(cache, "arcgraph-noprobes", {"probes": False}))
        if os.environ.get("BENCH_LSP_BASELINE"):
            kinds.insert(1, baseline_server(cache, os.environ["BENCH_LSP_BASELINE"]))
        if os.environ.get("BENCH_LSP_ONLY") == "inlay":
            ours = [k for k in kinds if k.name.startswith("arcgraph")]
            return await inlay_only(ours, ws, logdir, big_text)
        results: dict[str, dict[str, Any]] = {k.name: {} for k in kinds}

        # spawn -> first diagnostics: fresh processes, nothing else running
        for k in kinds:
            times = []
            for i in range(N_SPAWNS):
                times.append(await spawn_to_diagnostics(k, ws, logdir, broken, f"spawn{i}"))
            results[k.name]["spawn"] = times

        # one long session per server, the phases interleaved
        sessions: dict[str, tuple[BenchClient, dict[str, Doc]]] = {}
        try:
            for k in kinds:
                client, _ = await start(k, ws, logdir, "main")
                docs = {
                    "trainer": Doc(path_uri(str(ws / "trainers" / TRAINER)), trainer_text),
                    "model": Doc(path_uri(str(ws / "models" / "big-v1.model.yaml")), big_text),
                }
                for d in docs.values():
                    open_doc(client, d)
                    await client.wait_publish(lambda q, d=d: q.uri == d.uri, WAIT)
                sessions[k.name] = (client, docs)
            for k in kinds:  # our worker imports torch on the first probe: let it finish
                client = sessions[k.name][0]
                await client.quiet(0.3, 10.0)
                await settle_process_tree(client.pid or 0)

            big_mid = big_text.count("\n") // 2
            edits = [
                EditSpec("trainer 30-line", "trainer", "epochs", ["10"], "10.5", "epochs:"),
                EditSpec("model 5,000-line", "model", "dtype", ["float32"], "float99", "dtype:"),
            ]
            for spec in edits:
                for k in kinds:
                    client, docs = sessions[k.name]
                    await settle_process_tree(client.pid or 0, 10.0)
                    before = tree_cpu(client.pid or 0)
                    lat, misses = await edit_series(k, client, docs[spec.doc_name], spec, N_EDITS)
                    await settle_process_tree(client.pid or 0, 10.0)
                    after = tree_cpu(client.pid or 0)
                    n_sent = N_EDITS + 3 + (N_EDITS % 2)
                    results[k.name][f"edit {spec.label}"] = (lat, misses)
                    results[k.name][f"cpu {spec.label}"] = tuple(
                        (a - b) / n_sent for a, b in zip(after, before, strict=True)
                    )
            burst_specs = [
                EditSpec(
                    "trainer 30-line",
                    "trainer",
                    "epochs",
                    [str(11 + j) for j in range(9)],
                    "10.5",
                    "epochs:",
                ),
                EditSpec(
                    "model 5,000-line",
                    "model",
                    "dtype",
                    ["float32", "float64", "float16"],
                    "float99",
                    "dtype:",
                ),
            ]
            for spec in burst_specs:
                for k in kinds:
                    client, docs = sessions[k.name]
                    results[k.name][f"burst {spec.label}"] = await burst(
                        k, client, docs[spec.doc_name], spec, N_BURSTS
                    )
            positions = [
                Position(
                    "trainer key (config.epochs)",
                    "trainer",
                    "epochs:",
                    0,
                    lambda s: s.index("epochs") + 2,
                    lambda s: s.index("epochs") + 6,
                ),
                Position(
                    "trainer value (optimizer.type)",
                    "trainer",
                    "type: torch.optim",
                    0,
                    lambda s: s.index("torch.optim") + 8,
                    lambda s: len(s.rstrip()),
                ),
                Position(
                    "model key (params.in_features, mid-file)",
                    "model",
                    "in_features:",
                    big_mid,
                    lambda s: s.index("in_features") + 3,
                    lambda s: s.index("in_features") + 11,
                ),
                Position(
                    "model value (node type, mid-file)",
                    "model",
                    "type: torch.nn.Linear",
                    big_mid,
                    lambda s: s.index("torch.nn") + 6,
                    lambda s: len(s.rstrip()),
                ),
            ]
            for pos in positions:
                for k in kinds:
                    for other, _ in sessions.values():  # the previous one's work done
                        await settle_process_tree(other.pid or 0, 5.0)
                    client, docs = sessions[k.name]
                    results[k.name][f"req {pos.label}"] = await requests(
                        client, docs[pos.doc_name], pos, N_REQUESTS
                    )
            for k in kinds:  # ours only: yaml-language-server has no shapes to hint
                if k.name.startswith("arcgraph"):
                    client, docs = sessions[k.name]
                    # a baseline from before inlay hints is measured without them
                    with contextlib.suppress(JsonRpcMethodNotFound):
                        results[k.name]["inlay"] = await inlay_hints(
                            client, docs["model"], big_text, N_REQUESTS
                        )
            for k in kinds:
                results[k.name]["rss"] = rss_report(sessions[k.name][0])
        finally:
            for client, _ in sessions.values():
                await client.stop()

        report(kinds, results, t_catalog, edits, burst_specs, positions)
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"\nwhole run: {time.perf_counter() - t_all:.1f} s (load average now {load}); "
            f"server stderr logs were in {logdir}"
        )
        for f in sorted(logdir.iterdir()):
            lines = f.read_text(errors="replace").strip().splitlines()
            if any("Traceback" in x for x in lines):  # where in our code, and the error
                ours = [x.strip() for x in lines if "/arcgraph/" in x and "File " in x]
                print(f"  {f.name}: {' <- '.join(reversed(ours[-3:]))} | {lines[-1][:200]}")
    return 0


async def inlay_only(kinds: list[ServerKind], ws: Path, logdir: Path, big_text: str) -> int:
    """`BENCH_LSP_ONLY=inlay`: the inlay-hint series alone, on our server(s), in
    `BENCH_LSP_ROUNDS` rounds (default 3) that alternate the servers' order; p95 over all
    rounds' samples and per round, and each server's ratio to the first one's (the same run)."""
    rounds = int(os.environ.get("BENCH_LSP_ROUNDS", "3"))
    sessions: dict[str, tuple[BenchClient, Doc]] = {}
    keys = ("inlay", "inlay visible", "inlay edit")
    samples: dict[str, dict[str, Any]] = {k.name: {key: [] for key in keys} for k in kinds}
    per_round: dict[str, list[str]] = {k.name: [] for k in kinds}
    try:
        for k in kinds:
            client, _ = await start(k, ws, logdir, "inlay")
            doc = Doc(path_uri(str(ws / "models" / "big-v1.model.yaml")), big_text)
            open_doc(client, doc)
            await client.wait_publish(lambda q, d=doc: q.uri == d.uri, WAIT)
            sessions[k.name] = (client, doc)
        for k in kinds:
            await settle_process_tree(sessions[k.name][0].pid or 0)
        for r in range(rounds):
            for k in kinds if r % 2 == 0 else kinds[::-1]:
                client, doc = sessions[k.name]
                got = await inlay_hints(client, doc, big_text, N_REQUESTS)
                for key in keys:
                    samples[k.name][key] += got[key]
                    samples[k.name][f"{key} hints"] = got[f"{key} hints"]
                per_round[k.name].append("/".join(ms(p95(got[key])).strip() for key in keys))
    finally:
        for client, _ in sessions.values():
            await client.stop()
    names = [k.name for k in kinds]
    w = 44
    print(f"measured: {_git_state()}; {rounds} rounds of {N_REQUESTS} requests per series")
    print("times in ms; arrival = after JSON decode in the client, before pygls converts it\n")
    print(f"{'measure':<{w}}" + "".join(f"{n:>20}" for n in names) + "   target (ours)")

    def row(label: str, vals: list[str], target: str = "") -> None:
        print(f"{label:<{w}}" + "".join(f"{v:>20}" for v in vals) + f"   {target}")

    results = {n: {"inlay": samples[n]} for n in names}
    inlay_rows(names, results, row)
    row("  p95 per round, whole/range/after edit", [" ".join(per_round[n]) for n in names])
    for key in keys:
        base = p95(samples[names[0]][key])
        row(f"  {key} p95 / {names[0]}'s", [f"{p95(samples[n][key]) / base:.2f}x" for n in names])
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nload average now {load}; server stderr logs in {logdir}")
    return 0


def report(kinds, results, t_catalog, edits, burst_specs, positions) -> None:
    names = [k.name for k in kinds]
    w = 44
    print(f"measured: {_git_state()}")
    print(f"torch catalog pre-built for our server in {t_catalog:.1f} s (not in any figure)")
    print(
        f"client: pygls {_version('pygls')} LanguageClient over stdio; yaml-language-server "
        f"{_yaml_ls_version()}; node {_node_version()}; {os.cpu_count()} CPUs"
    )
    print("times in ms; arrival = after JSON decode in the client, before pygls converts it")
    for k in kinds:
        if k.debounce_s:
            print(
                f"{k.name} waits a fixed {k.debounce_s * 1000:.0f} ms after a change before validating"
            )
    print()
    header = f"{'measure':<{w}}" + "".join(f"{n:>20}" for n in names) + "   target (ours)"
    print(header)
    print("-" * len(header))

    def row(label: str, vals: list[str], target: str = "") -> None:
        print(f"{label:<{w}}" + "".join(f"{v:>20}" for v in vals) + f"   {target}")

    targets = {"trainer 30-line": "p50 <= 10", "model 5,000-line": "p50 <= 60"}
    singles: dict[tuple[str, str], float] = {}
    for spec in edits:
        vals = []
        for n in names:
            lat, misses = results[n][f"edit {spec.label}"]
            singles[(n, spec.label)] = p50(lat)
            vals.append(f"{ms(p50(lat))} /{ms(p95(lat))}" + (f" ({misses}!)" if misses else ""))
        row(f"edit->diags {spec.label} p50/p95", vals, targets[spec.label])
        if any(k.debounce_s for k in kinds):
            net = []
            for k in kinds:
                lat = [x - k.debounce_s for x in results[k.name][f"edit {spec.label}"][0]]
                net.append(f"{ms(p50(lat))} /{ms(p95(lat))}")
            row("  minus the server's fixed debounce", net)
        row(
            "  CPU ms per edit: server process / children",
            [
                "{:.0f} / {:.0f}".format(*(x * 1000 for x in results[n][f"cpu {spec.label}"]))
                for n in names
            ],
        )
    for spec in burst_specs:
        vals, ratios = [], []
        for n in names:
            finals, _published, misses = results[n][f"burst {spec.label}"]
            r = p50(finals) / singles[(n, spec.label)] if finals else math.nan
            ratios.append(f"{r:.2f}x single")
            vals.append(
                f"{ms(p50(finals))} /{ms(max(finals) if finals else math.nan)}"
                + (f" ({misses}!)" if misses else "")
            )
        row(f"burst {spec.label} final p50/max", vals, "final <= 2x single")
        row("  ratio to single-edit p50", ratios)
        row(
            "  publishes per 10-edit burst (median)",
            [str(statistics.median(results[n][f"burst {spec.label}"][1])) for n in names],
        )
    for pos in positions:
        for what in ("completion", "hover"):
            vals = []
            for n in names:
                r = results[n][f"req {pos.label}"]
                extra = (
                    f" [{r['items']}]"
                    if what == "completion"
                    else ("" if r["hover_ok"] else " [none]")
                )
                vals.append(f"{ms(p95(r[what]))}{extra}")
            row(f"{what} p95 {pos.label}"[:w], vals, "p95 <= 16")
    inlay_rows(names, results, row)
    row(
        "spawn -> first correct diags (median of 3)",
        [ms(p50([x for x in results[n]["spawn"] if not math.isnan(x)])) for n in names],
        "<= 400",
    )
    row("  each spawn", [" ".join(ms(x).strip() for x in results[n]["spawn"]) for n in names])
    for n in names:
        r = results[n]["rss"]
        s = r["server"]
        line = f"peak RSS {n}: server VmHWM {s.get('VmHWM', 0) / 1024:.1f} MB (now {s.get('VmRSS', 0) / 1024:.1f})"
        if r["worker"] is not None:
            wk = r["worker"]
            line += f"; torch worker child VmHWM {wk.get('VmHWM', 0) / 1024:.1f} MB (now {wk.get('VmRSS', 0) / 1024:.1f})"
        elif n.startswith("arcgraph"):
            line += "; no torch worker child running"
        for pid, cmd, st in r["other"]:
            line += f"; child {pid} ({cmd.strip()}) VmHWM {st.get('VmHWM', 0) / 1024:.1f} MB"
        print(line + ("   target (ours): server <= 80 MB" if n.startswith("arcgraph") else ""))
    print(
        "(N!) = N edits whose diagnostics never came (timeout) or came wrong; [N] = completion items"
    )


def inlay_rows(names: list[str], results: dict[str, dict[str, Any]], row: Callable) -> None:
    """p95 and [hint count] of both inlay-hint series."""
    for key, label in (
        ("inlay", "inlay hints p95 model 5,000-line, whole"),
        ("inlay visible", f"  VS Code's range ({VIEWPORT_LINES}-line window)"),
        ("inlay edit", "  VS Code's range, right after an edit"),
    ):
        vals = []
        for n in names:
            r = results[n].get("inlay")
            ok = r and r.get(key)
            vals.append(f"{ms(p95(r[key]))} [{r[f'{key} hints']}]" if ok else "n/a")
        row(label, vals, "p95 <= 16")


def _git_state() -> str:
    import subprocess

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except Exception:
            return "?"

    dirty = git("status", "--porcelain", "--", "server")
    return f"server at {git('rev-parse', '--short', 'HEAD')}" + (
        " + uncommitted changes under server/" if dirty else " (clean)"
    )


def _version(dist: str) -> str:
    from importlib.metadata import version

    try:
        return version(dist)
    except Exception:
        return "?"


def _yaml_ls_version() -> str:
    import json

    try:
        return json.loads((YAML_LS_BIN.parent.parent / "package.json").read_text())["version"]
    except Exception:
        return "?"


def _node_version() -> str:
    import subprocess

    try:
        return subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except Exception:
        return "?"


def main() -> int:
    try:
        return asyncio.run(asyncio.wait_for(main_async(), 600))
    except asyncio.TimeoutError:
        print("bench_lsp: gave up after 600 s", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
