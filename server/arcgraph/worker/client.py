"""Engine side of the torch worker: torch-free, thread-safe, crash- and hang-proof.

The checker and the language server never import torch; they ask a `TorchWorker`, which runs
`<interpreter> -m arcgraph.worker` lazily and talks JSON lines to it. The torch API catalog is
cached on disk per (interpreter, torch version, Python version, catalog format), so once it is
built a later start loads it with no subprocess at all. Every request has a timeout; a worker
that hangs or dies is killed and replaced on the next request, and the caller gets an
`ok=None` ("could not tell") result instead of an exception.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import platform
import queue
import re
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arcgraph.engine.catalog import FORMAT, Catalog, CatalogError
from arcgraph.engine.torch_service import ProbeResult, probe_result
from arcgraph.memory import child_allocator_env

PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])  # the folder that holds `arcgraph/`

_ENV_SCRIPT = r"""
import json, platform
try:
    import importlib.metadata as m
    d = m.distribution("torch")
    v, p = d.version, str(getattr(d, "_path", "") or "")
except Exception:
    v, p = None, None
print(json.dumps({"python": platform.python_version(), "torch": v, "dist": p}))
"""


@dataclass(frozen=True, slots=True)
class Reply:
    """A raw worker reply. ok None: no reply (crash/timeout), see error."""

    ok: bool | None
    result: Any = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class EnvInfo:
    interpreter: str  # as given, absolute
    realpath: str
    python_version: str
    torch_version: str | None
    torch_dist: str | None  # the torch .dist-info folder: gone when torch is up/downgraded


class _NoReply(Exception):
    pass


@functools.lru_cache(maxsize=1)
def builder_fingerprint() -> str:
    """A hash of the code that decides what the catalog holds (the introspection and the
    name rules), so a cached catalog is rebuilt when that code changes, not only torch."""
    h = hashlib.sha256()
    for f in fingerprint_sources():
        with contextlib.suppress(OSError):
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def fingerprint_sources() -> list[Path]:
    """The files `builder_fingerprint` hashes: the worker, the name resolver, the name rules."""
    here = Path(__file__).resolve().parent
    return [
        *sorted(here.glob("*.py")),
        here.parent / "builder" / "torchnames.py",
        here.parent / "engine" / "namespaces.py",
    ]


def child_env() -> dict[str, str]:
    """The environment for a child `python -m arcgraph...` in another interpreter: this
    package importable (its parent dir first on PYTHONPATH), unbuffered UTF-8 pipes."""
    env = child_allocator_env(dict(os.environ))
    parts = [PACKAGE_PARENT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("PYTHONIOENCODING", "utf-8")
    return env


def default_cache_dir() -> Path:
    env = os.environ.get("ARCGRAPH_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "arcgraph"


def _own_torch_dist() -> tuple[str | None, str | None]:
    """torch's version and .dist-info folder on our sys.path, by directory name: the same
    answer as importlib.metadata without importing it (20 ms, 10 MB: email, zipfile, ...)."""
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith("torch-") and name.endswith((".dist-info", ".egg-info")):
                version = name[len("torch-") :].rsplit(".", 1)[0]
                return version, os.path.join(os.path.abspath(entry or "."), name)
        if "torch" in names:  # a package without metadata shadows anything later
            return None, None
    return None, None


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _kill(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(Exception):
        proc.wait(timeout=5)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        with contextlib.suppress(Exception):
            if stream:
                stream.close()


class TorchWorker:
    """One torch worker subprocess per interpreter, started on the first request that needs it."""

    def __init__(
        self,
        interpreter: str | None = None,
        timeout: float = 20.0,
        cache_dir: Path | None = None,
        *,
        start_timeout: float = 60.0,
        catalog_timeout: float = 180.0,
        worker_args: tuple[str, ...] = ("-m", "arcgraph.worker"),
    ) -> None:
        self.interpreter = os.path.abspath(interpreter or sys.executable)
        # what follows the interpreter on the worker's command line (tests: a test worker)
        self.worker_args = worker_args
        self.timeout = timeout
        self.start_timeout = max(start_timeout, timeout)
        self.catalog_timeout = max(catalog_timeout, timeout)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.process: subprocess.Popen[str] | None = None
        self.restarts = 0  # workers started after the first (crash/timeout recovery)
        self.last_error: str | None = None
        self._lock = threading.RLock()
        self._replies: queue.Queue[str | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=30)
        self._next_id = 1
        self._started = 0
        self._env: EnvInfo | None = None
        self._env_error: str | None = None
        self._start_error: str | None = None
        self._catalog: Catalog | None = None
        self._finalizer = weakref.finalize(self, TorchWorker._finalize, [None])

    # ---- environment (no torch import) -------------------------------------------------

    @property
    def is_own_interpreter(self) -> bool:
        return self.interpreter == os.path.abspath(sys.executable)

    def _index_path(self) -> Path:
        return self.cache_dir / "interpreters.json"

    def _env_from_index(self) -> EnvInfo | None:
        try:
            entry = json.loads(self._index_path().read_text())[self.interpreter]
            if entry["mtime"] != os.stat(self.interpreter).st_mtime_ns:
                return None
            if entry["dist"] and not os.path.exists(entry["dist"]):
                return None
            return EnvInfo(
                self.interpreter,
                os.path.realpath(self.interpreter),
                entry["python"],
                entry["torch"],
                entry["dist"],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _env_to_index(self, env: EnvInfo) -> None:
        path = self._index_path()
        try:
            index = json.loads(path.read_text())
            if not isinstance(index, dict):
                index = {}
        except (OSError, ValueError):
            index = {}
        index[self.interpreter] = {
            "mtime": os.stat(self.interpreter).st_mtime_ns,
            "python": env.python_version,
            "torch": env.torch_version,
            "dist": env.torch_dist,
        }
        with contextlib.suppress(OSError):
            _write_atomic(path, json.dumps(index, indent=1))

    def env(self, *, spawn: bool = True) -> EnvInfo | None:
        """Python and torch versions of the interpreter, without importing torch.

        Our own interpreter is asked in-process (importlib.metadata); another one through a
        tiny `-c` subprocess whose answer is remembered in the cache dir's interpreters.json,
        so `spawn=False` can still answer for it."""
        if self._env is not None:
            return self._env
        if not os.path.exists(self.interpreter):
            self._env_error = f"Python interpreter {self.interpreter} not found"
            return None
        if self.is_own_interpreter:
            version, where = _own_torch_dist()
            if version is None and importlib.util.find_spec("torch") is not None:
                version = "unknown"  # a source checkout without metadata
            self._env = EnvInfo(
                self.interpreter,
                os.path.realpath(self.interpreter),
                platform.python_version(),
                version,
                where,
            )
            return self._env
        env = self._env_from_index()
        if env is None and spawn:
            try:
                out = subprocess.run(
                    [self.interpreter, "-I", "-c", _ENV_SCRIPT],
                    capture_output=True,
                    text=True,
                    timeout=self.start_timeout,
                    check=True,
                )
                facts = json.loads(out.stdout.strip().splitlines()[-1])
                env = EnvInfo(
                    self.interpreter,
                    os.path.realpath(self.interpreter),
                    facts["python"],
                    facts["torch"],
                    facts["dist"] or None,
                )
                self._env_to_index(env)
            except (OSError, subprocess.SubprocessError, ValueError, KeyError, IndexError) as exc:
                self._env_error = f"cannot run {self.interpreter}: {exc}"
                return None
        self._env = env
        return env

    @property
    def unavailable_reason(self) -> str | None:
        """Why torch checks cannot run with this interpreter, or None when they can."""
        env = self.env()
        if env is None:
            return self._env_error or f"cannot inspect {self.interpreter}"
        if env.torch_version is None:
            return f"torch is not installed in {self.interpreter} (pip install torch)"
        return self._start_error

    # ---- catalog -----------------------------------------------------------------------

    def catalog_path(self, *, spawn: bool = False) -> Path | None:
        env = self.env(spawn=spawn)
        if env is None or env.torch_version is None:
            return None
        key = "\0".join(
            (
                env.realpath,
                env.torch_version,
                env.python_version,
                str(FORMAT),
                builder_fingerprint(),
            )
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        safe = re.sub(r"[^A-Za-z0-9.]+", "_", env.torch_version)
        return (
            self.cache_dir / f"catalog-torch{safe}-py{env.python_version}-f{FORMAT}-{digest}.json"
        )

    def catalog_if_cached(self) -> Catalog | None:
        """The catalog if it is already on disk; never starts a process."""
        if self._catalog is not None:
            return self._catalog
        path = self.catalog_path(spawn=False)
        if path is None or not path.exists():
            return None
        try:
            self._catalog = Catalog.load(path)
        except CatalogError:
            return None
        return self._catalog

    def catalog(self) -> Catalog | None:
        """The catalog: from memory, from the disk cache, or built by the worker and cached.
        None when torch is unavailable (see `unavailable_reason`) or the build failed
        (see `last_error`)."""
        with self._lock:
            cached = self.catalog_if_cached()
            if cached is not None:
                return cached
            path = self.catalog_path(spawn=True)
            if path is None:
                return None
            reply = self.request("catalog", path=str(path), timeout=self.catalog_timeout)
            try:
                if reply.ok:
                    self._catalog = Catalog.load(path)
                elif reply.ok is False and "Error" in (reply.error or ""):
                    # could not write the cache (read-only dir?): keep it in memory only
                    reply = self.request("catalog", timeout=self.catalog_timeout)
                    if reply.ok:
                        self._catalog = Catalog(reply.result)
                if self._catalog is None:
                    self.last_error = reply.error
            except CatalogError as exc:
                self.last_error = str(exc)
            return self._catalog

    # ---- probes ------------------------------------------------------------------------

    def probe_optimizer(
        self,
        type: str,
        lr: Any,
        params: dict[str, Any] | None,
        model: dict[str, Any] | None = None,
        scheduler: dict[str, Any] | None = None,
    ) -> ProbeResult:
        """Construct the optimizer in torch: its own argument checks produce the message; with
        the trainer's model spec, whether it can train that model (node, fix in `data`); with
        the spec's scheduler, whether it builds on it (`data["scheduler_problem"]`)."""
        extra: dict[str, Any] = {"model": model} if model is not None else {}
        if scheduler is not None:
            extra["scheduler"] = scheduler
        reply = self.request("probe_optimizer", type=type, lr=lr, params=params or {}, **extra)
        return self._probe(reply)

    def probe_shapes(
        self, spec: dict[str, Any], batch: int = 2, *, summary: bool = True
    ) -> ProbeResult:
        """Build the model on torch's meta device and run a forward pass; names the node
        (with `summary`: each node's shapes and parameter counts too)."""
        reply = self.request("probe_shapes", spec=spec, batch=batch, summary=summary)
        return self._probe(reply)

    @staticmethod
    def _probe(reply: Reply) -> ProbeResult:
        if reply.ok is not True or not isinstance(reply.result, dict):
            return ProbeResult(ok=None, message=reply.error or "no answer from the torch worker")
        return probe_result(reply.result)

    # ---- transport ---------------------------------------------------------------------

    def request(self, op: str, *, timeout: float | None = None, **fields: Any) -> Reply:
        """Send one request and wait for its reply; never raises for worker trouble."""
        limit = self.timeout if timeout is None else timeout
        with self._lock:
            if self.process is None:
                reason = self.unavailable_reason
                if reason:
                    return Reply(ok=None, error=reason)
            try:
                proc = self._ensure_started()
                rid = self._next_id
                self._next_id += 1
                # default=str: a YAML date or other odd scalar is sent as text, not refused
                line = json.dumps(
                    {"id": rid, "op": op, **fields}, separators=(",", ":"), default=str
                )
                try:
                    assert proc.stdin is not None
                    proc.stdin.write(line + "\n")
                    proc.stdin.flush()
                except (OSError, ValueError) as exc:
                    raise _NoReply(self._death_message(proc, op)) from exc
                deadline = time.monotonic() + limit
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self._stop()
                        raise _NoReply(
                            f"torch worker timed out after {limit:g} s on {op}; "
                            "it was stopped and will restart on the next request"
                        )
                    try:
                        text = self._replies.get(timeout=left)
                    except queue.Empty:
                        continue
                    if text is None:
                        raise _NoReply(self._death_message(proc, op))
                    try:
                        msg = json.loads(text)
                    except ValueError:
                        self._stop()
                        raise _NoReply(
                            f"torch worker sent a line that is not JSON: {text[:200]!r}"
                        ) from None
                    if isinstance(msg, dict) and msg.get("id") == rid:
                        break
            except _NoReply as exc:
                self.last_error = str(exc)
                return Reply(ok=None, error=str(exc))
            if msg.get("ok"):
                return Reply(ok=True, result=msg.get("result"))
            return Reply(ok=False, error=msg.get("error") or "worker error")

    def _death_message(self, proc: subprocess.Popen[str], op: str) -> str:
        with contextlib.suppress(Exception):
            proc.wait(timeout=2)
        code = proc.returncode
        tail = " | ".join(list(self._stderr)[-3:])
        self._stop()
        return (
            f"torch worker exited (code {code}) during {op}; it will restart on the next "
            f"request" + (f": {tail}" if tail else "")
        )

    def _env_vars(self) -> dict[str, str]:
        return child_env()

    def _ensure_started(self) -> subprocess.Popen[str]:
        proc = self.process
        if proc is not None and proc.poll() is None:
            return proc
        if proc is not None:  # died between requests: restart quietly
            self._stop()
        self._stderr = collections.deque(maxlen=30)
        self._replies = queue.Queue()
        try:
            proc = subprocess.Popen(
                [self.interpreter, *self.worker_args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                bufsize=1,
                env=self._env_vars(),
            )
        except OSError as exc:
            self._start_error = f"cannot start the torch worker with {self.interpreter}: {exc}"
            raise _NoReply(self._start_error) from exc
        self.process = proc
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, TorchWorker._finalize, [proc])
        if self._started:
            self.restarts += 1
        self._started += 1
        replies, errs = self._replies, self._stderr
        threading.Thread(target=_pump, args=(proc.stdout, replies), daemon=True).start()
        threading.Thread(target=_drain, args=(proc.stderr, errs), daemon=True).start()
        try:
            text = replies.get(timeout=self.start_timeout)
        except queue.Empty:
            self._stop()
            raise _NoReply(f"torch worker did not start within {self.start_timeout:g} s") from None
        if text is None:  # died before saying hello: it cannot even import arcgraph
            self._start_error = self._death_message(proc, "start")
            raise _NoReply(self._start_error)
        try:
            hello = json.loads(text)
        except ValueError:
            hello = {"ok": False, "error": f"torch worker said {text[:200]!r} instead of hello"}
        if not hello.get("ok"):  # torch fails to import: no point restarting
            self._start_error = hello.get("error") or "torch worker failed to start"
            self._stop()
            raise _NoReply(self._start_error)
        return proc

    def _stop(self) -> None:
        proc, self.process = self.process, None
        if proc is not None:
            _kill(proc)

    @staticmethod
    def _finalize(procs: list[subprocess.Popen[str] | None]) -> None:
        for proc in procs:
            if proc is not None and proc.poll() is None:
                _kill(proc)

    def close(self) -> None:
        """Ask the worker to exit, then make sure it has."""
        with self._lock:
            proc = self.process
            if proc is None:
                return
            if proc.poll() is None:
                with contextlib.suppress(Exception):
                    assert proc.stdin is not None
                    proc.stdin.write(json.dumps({"id": 0, "op": "shutdown"}) + "\n")
                    proc.stdin.flush()
                    proc.wait(timeout=2)
            self._stop()

    def __enter__(self) -> TorchWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pump(stream: Any, replies: queue.Queue[str | None]) -> None:
    with contextlib.suppress(Exception):
        for line in stream:
            if line.strip():
                replies.put(line)
    replies.put(None)


def _drain(stream: Any, lines: collections.deque[str]) -> None:
    with contextlib.suppress(Exception):
        for line in stream:
            if line.strip():
                lines.append(line.rstrip())
